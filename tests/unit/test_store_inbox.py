"""The durable inbox: sender matching, replays, the 24-hour window, monotonic statuses."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from agent.store.db import session_scope
from agent.store.inbox import (
    _insert_once,
    apply_status,
    catch_up,
    find_debtor,
    ingest,
    phone_candidates,
)
from agent.store.models import (
    Account,
    Conversation,
    Debtor,
    Direction,
    Message,
    MessageStatusEvent,
    UnmatchedInbound,
)
from agent.store.repository import open_conversation
from api.whatsapp.payloads import parse_webhook

FIXTURES = Path(__file__).parents[1] / "fixtures" / "whatsapp"
NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
LUCIA = "5215512345678"


def text(wa_id: str | None, body: str, wamid: str, at: datetime, **contact: str) -> Any:
    data = json.loads((FIXTURES / "text_2026.json").read_text(encoding="utf-8"))
    value = data["entry"][0]["changes"][0]["value"]
    value["contacts"] = [
        {"profile": {"name": "Lucía"}, **({"wa_id": wa_id} if wa_id else {}), **contact}
    ]
    message = value["messages"][0]
    message.update(id=wamid, timestamp=str(int(at.timestamp())), text={"body": body})
    if wa_id:
        message["from"] = wa_id
    else:
        del message["from"]
    return parse_webhook(data)


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        ("5215512345678", ["+5215512345678", "+525512345678"]),
        ("525512345678", ["+525512345678", "+5215512345678"]),
        ("5491123456789", ["+5491123456789", "+541123456789"]),
        ("573001234567", ["+573001234567"]),
        ("", []),
    ],
)
def test_phone_candidates_cover_whatsapp_mobile_prefixes(wa_id, expected):
    assert phone_candidates(wa_id) == expected


def test_a_text_opens_the_window_and_records_the_opt_in(engine, demo_accounts):
    sent = NOW - timedelta(minutes=2)
    with session_scope(engine) as session:
        batch = text(LUCIA, "hola", "wamid.A", sent, user_id="US.13491208655302741918")
        report = ingest(session, batch, NOW)
    assert (report.stored, report.duplicates, report.unmatched) == (1, 0, 0)
    with Session(engine) as session:
        message = session.get(Message, report.message_ids[0])
        conversation = session.get(Conversation, message.conversation_id)
        debtor = find_debtor(session, LUCIA, None)
        assert conversation.account_id == demo_accounts["AUR-MX-0001"]
        assert conversation.last_inbound_at == sent
        assert debtor.whatsapp_opt_in_at == sent
        assert debtor.wa_user_id == "US.13491208655302741918"


def test_the_window_never_moves_back_nor_into_the_future(engine, demo_accounts):
    later = NOW - timedelta(minutes=1)
    with session_scope(engine) as session:
        ingest(session, text(LUCIA, "dos", "wamid.2", later), NOW)
        ingest(session, text(LUCIA, "uno", "wamid.1", NOW - timedelta(hours=3)), NOW)
    with Session(engine) as session:
        (conversation,) = session.exec(select(Conversation)).all()
        assert conversation.last_inbound_at == later
    with session_scope(engine) as session:
        ingest(session, text(LUCIA, "tres", "wamid.3", NOW + timedelta(hours=5)), NOW)
    with Session(engine) as session:
        (conversation,) = session.exec(select(Conversation)).all()
        assert conversation.last_inbound_at == NOW


def test_an_earlier_opt_in_is_kept(engine, demo_accounts):
    first = datetime(2026, 1, 2, tzinfo=UTC)
    with session_scope(engine) as session:
        debtor = find_debtor(session, LUCIA, None)
        debtor.whatsapp_opt_in_at = first
        session.add(debtor)
    with session_scope(engine) as session:
        ingest(session, text(LUCIA, "hola", "wamid.A", NOW), NOW)
    with Session(engine) as session:
        assert find_debtor(session, LUCIA, None).whatsapp_opt_in_at == first


def test_a_user_id_alone_does_not_overwrite_or_find_a_stranger(engine, demo_accounts):
    batch = text(None, "hola", "wamid.U", NOW, user_id="MX.1234")
    with session_scope(engine) as session:
        report = ingest(session, batch, NOW)
    assert report.unmatched == 1
    with Session(engine) as session:
        (row,) = session.exec(select(UnmatchedInbound)).all()
        assert row.sender == "MX.1234"
        assert session.exec(select(Debtor).where(Debtor.wa_user_id == "MX.1234")).first() is None


def test_a_system_notice_is_stored_but_never_answered(engine, demo_accounts):
    batch = text(LUCIA, "x", "wamid.SYS", NOW)
    event = batch.messages[0]
    event.kind = "system"
    event.raw = {**event.raw, "type": "system", "system": {"type": "user_changed_number"}}
    with session_scope(engine) as session:
        report = ingest(session, batch, NOW)
    with Session(engine) as session:
        message = session.get(Message, report.message_ids[0])
        debtor = find_debtor(session, LUCIA, None)
    assert (message.kind, message.status, message.body) == ("system", "processed", "[system]")
    assert debtor.whatsapp_opt_in_at is None


def test_a_concurrent_twin_insert_is_skipped_without_breaking_the_transaction(
    engine, demo_accounts
):
    with session_scope(engine) as session:
        row = UnmatchedInbound(wamid="wamid.TWIN", sender="+1", kind="text", received_at=NOW)
        assert _insert_once(session, UnmatchedInbound, row) is not None
        twin = UnmatchedInbound(wamid="wamid.TWIN", sender="+1", kind="text", received_at=NOW)
        assert _insert_once(session, UnmatchedInbound, twin) is None
        other = UnmatchedInbound(wamid="wamid.OTHER", sender="+1", kind="text", received_at=NOW)
        assert _insert_once(session, UnmatchedInbound, other) is not None
    with Session(engine) as session:
        assert len(session.exec(select(UnmatchedInbound)).all()) == 2


def event(status: str, code: int | None = None) -> MessageStatusEvent:
    return MessageStatusEvent(
        wamid="wamid.OUT", status=status, at=NOW, error_code=code, error_title="boom"
    )


@pytest.mark.parametrize(
    ("current", "incoming", "after"),
    [
        ("queued", "sent", "sent"),
        ("sending", "delivered", "delivered"),
        ("sent", "read", "read"),
        ("read", "delivered", "read"),
        ("delivered", "sent", "delivered"),
        ("sent", "failed", "failed"),
        ("failed", "sent", "failed"),
        ("delivered", "failed", "failed"),
        ("failed", "delivered", "failed"),
        ("read", "failed", "failed"),
        ("sent", "played", "read"),
        ("read", "played", "read"),
        ("sent", "some_future_status", "sent"),
    ],
)
def test_statuses_only_move_forward(current, incoming, after):
    message = Message(conversation_id=1, direction=Direction.outbound, body="x", status=current)
    apply_status(message, event(incoming, 131026 if incoming == "failed" else None))
    assert message.status == after
    if after == "failed" and current != "failed":
        assert (message.error_code, message.error) == (131026, "boom")


def test_catch_up_applies_statuses_that_came_before_the_wamid(engine, demo_accounts):
    with session_scope(engine) as session:
        for status in ("read", "sent"):
            session.add(event(status))
        conversation = open_conversation(session, demo_accounts["AUR-MX-0001"], NOW)
        message = Message(
            conversation_id=conversation.id,
            direction=Direction.outbound,
            body="x",
            status="sending",
            wamid="wamid.OUT",
        )
        session.add(message)
        session.flush()
        catch_up(session, message)
        assert message.status == "read"
        assert message.sent_at == NOW


def test_most_recent_account_gets_a_new_conversation(engine, demo_accounts):
    with session_scope(engine) as session:
        debtor = find_debtor(session, LUCIA, None)
        newer = Account(
            debtor_id=debtor.id,
            reference="AUR-MX-0099",
            creditor="Aurora",
            currency="MXN",
            principal=100,
            due_date=NOW.date(),
        )  # created after the demo accounts
        session.add(newer)
        session.flush()
        newer_id = newer.id
        report = ingest(session, text(LUCIA, "hola", "wamid.N", NOW), NOW)
        conversation = session.get(
            Conversation, session.get(Message, report.message_ids[0]).conversation_id
        )
        assert conversation.account_id == newer_id


def test_two_messages_of_one_batch_learn_once_and_keep_the_latest_window(engine, demo_accounts):
    from agent.store.models import AuditEvent

    first = text(LUCIA, "uno", "wamid.B1", NOW - timedelta(minutes=5), user_id="MX.77")
    second = text(LUCIA, "dos", "wamid.B2", NOW - timedelta(minutes=1), user_id="MX.77")
    first.messages.extend(second.messages)
    with session_scope(engine) as session:
        report = ingest(session, first, NOW)
    assert report.stored == 2
    with Session(engine) as session:
        debtor = find_debtor(session, LUCIA, None)
        (conversation,) = session.exec(select(Conversation)).all()
        opt_ins = session.exec(
            select(AuditEvent).where(AuditEvent.kind == "contact.whatsapp_opt_in")
        ).all()
    assert debtor.wa_user_id == "MX.77"
    assert debtor.whatsapp_opt_in_at == NOW - timedelta(minutes=5)
    assert conversation.last_inbound_at == NOW - timedelta(minutes=1)
    assert len(opt_ins) == 1


def test_the_same_wamid_twice_in_one_batch_is_stored_once(engine, demo_accounts):
    batch = text(LUCIA, "hola", "wamid.SAME", NOW)
    batch.messages.append(batch.messages[0].model_copy())
    stranger = text("16505551234", "hi", "wamid.STRANGER", NOW)
    batch.messages.extend(stranger.messages * 2)
    with session_scope(engine) as session:
        report = ingest(session, batch, NOW)
    assert (report.stored, report.unmatched, report.duplicates) == (1, 1, 2)
