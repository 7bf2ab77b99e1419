"""The durable inbox: webhook messages and delivery statuses, stored once, in the caller's
transaction, before WhatsApp gets its 200.

Inbound messages are unique on their wamid (a replay is a duplicate and changes nothing) and
land as `received` Messages in the sender's open conversation for the worker to pick up; a
sender no account matches is kept as an UnmatchedInbound. Status events are unique on
(wamid, status), and an outbound Message only ever moves forward (sent < delivered < read).

This module reads the webhook through the small protocols below, so the agent layer does not
import the api layer that parses the HTTP body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, insert, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from agent.store.models import (
    Account,
    Conversation,
    Debtor,
    Direction,
    Message,
    MessageStatusEvent,
    UnmatchedInbound,
)
from agent.store.repository import OPEN_STAGES_EXCLUDED, audit, open_conversation

INBOUND_RECEIVED = "received"
NOT_ANSWERED = "processed"  # inbound kinds the worker never answers (WhatsApp system notices)
SILENT_KINDS = frozenset({"system"})
# Outbound progress; a status only applies when it ranks above the message's current one.
# `failed` is terminal (as in the dispatcher): a late "sent" or "delivered" never revives it.
STATUS_RANK = {
    "queued": 0,
    "sending": 0,
    "sent": 1,
    "delivered": 2,
    "read": 3,
    "played": 3,  # voice notes: "read" for our purposes
    "failed": 4,
    "undeliverable": 4,
    "dead_letter": 4,
}
STATUS_APPLIED_AS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",
    "failed": "failed",
}


class InboundLike(Protocol):
    wamid: str
    phone: str | None
    user_id: str | None
    profile_name: str | None
    timestamp: datetime | None
    kind: str
    text: str | None
    button_id: str | None
    context_wamid: str | None
    raw: dict[str, Any]


class StatusLike(Protocol):
    wamid: str
    status: str
    timestamp: datetime | None
    recipient: str | None
    error_code: int | None
    error_title: str | None
    raw: dict[str, Any]


class BatchLike(Protocol):
    @property
    def messages(self) -> Sequence[InboundLike]: ...
    @property
    def statuses(self) -> Sequence[StatusLike]: ...
    @property
    def errors(self) -> Sequence[str]: ...


@dataclass
class IngestReport:
    stored: int = 0  # new inbound Messages
    duplicates: int = 0  # replayed messages and statuses: nothing changed
    unmatched: int = 0  # new messages from senders no account matches
    statuses: int = 0  # new status events
    errors: list[str] = field(default_factory=list)  # elements that could not be read
    message_ids: list[int] = field(default_factory=list)  # the new inbound Messages

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "unmatched": self.unmatched,
            "errors": list(self.errors),
        }


def ingest(session: Session, batch: BatchLike, now: datetime) -> IngestReport:
    """Store every message and status of a parsed webhook; the caller commits."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = IngestReport(errors=list(batch.errors))
    if batch.messages:
        _ingest_messages(session, batch.messages, now, report)
    for status in batch.statuses:
        _ingest_status(session, status, now, report)
    return report


# --- inbound messages --------------------------------------------------------------------------
#
# The hot path of every webhook. It runs as SQLAlchemy Core statements on the session's
# connection (no ORM objects, no identity map): per message of a known debtor that is one
# SELECT of the sender, one locking UPDATE, one SELECT for replays, one SELECT of the open
# conversation, the INSERT, and one UPDATE of the conversation. Rare steps (a first message
# that opens a conversation, the opt-in audit) go through the ORM helpers of the repository.

_DEBTOR: Table = Debtor.__table__  # type: ignore[attr-defined]
_ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
_CONVERSATION: Table = Conversation.__table__  # type: ignore[attr-defined]
_MESSAGE: Table = Message.__table__  # type: ignore[attr-defined]
_UNMATCHED: Table = UnmatchedInbound.__table__  # type: ignore[attr-defined]
_CLOSED_STAGES = [str(s) for s in OPEN_STAGES_EXCLUDED]

# The statements are built once, with bound parameters: building and cache-keying a fresh
# statement per call cost more CPU than running it.
_DEBTOR_BY_PHONE = (
    select(_DEBTOR.c.id).where(_DEBTOR.c.phone.in_(bindparam("phones", expanding=True))).limit(1)
)
_DEBTOR_BY_USER_ID = select(_DEBTOR.c.id).where(_DEBTOR.c.wa_user_id == bindparam("uid")).limit(1)
_LOCK_DEBTOR = (
    update(_DEBTOR)
    .where(_DEBTOR.c.id == bindparam("debtor"))
    .values(wa_user_id=_DEBTOR.c.wa_user_id)
    .returning(_DEBTOR.c.wa_user_id, _DEBTOR.c.whatsapp_opt_in_at)
)
_SEEN_WAMIDS = union_all(
    select(_MESSAGE.c.wamid).where(_MESSAGE.c.wamid.in_(bindparam("wamids", expanding=True))),
    select(_UNMATCHED.c.wamid).where(_UNMATCHED.c.wamid.in_(bindparam("wamids", expanding=True))),
)
_OPEN_CONVERSATION = (
    select(_CONVERSATION.c.id, _CONVERSATION.c.account_id, _CONVERSATION.c.last_inbound_at)
    .join(_ACCOUNT, _ACCOUNT.c.id == _CONVERSATION.c.account_id)
    .where(_ACCOUNT.c.debtor_id == bindparam("debtor"))
    .where(_CONVERSATION.c.stage.not_in(_CLOSED_STAGES))
    .order_by(_CONVERSATION.c.updated_at.desc(), _CONVERSATION.c.id.desc())
    .limit(1)
)
_NEWEST_ACCOUNT = (
    select(_ACCOUNT.c.id)
    .where(_ACCOUNT.c.debtor_id == bindparam("debtor"))
    .order_by(_ACCOUNT.c.created_at.desc(), _ACCOUNT.c.id.desc())
    .limit(1)
)
_TOUCH_CONVERSATION = (
    update(_CONVERSATION)
    .where(_CONVERSATION.c.id == bindparam("conversation"))
    .values(last_inbound_at=bindparam("inbound_at"), updated_at=bindparam("now"))
)
_UPDATE_CONTACT = (
    update(_DEBTOR)
    .where(_DEBTOR.c.id == bindparam("debtor"))
    .values(wa_user_id=bindparam("uid"), whatsapp_opt_in_at=bindparam("opt_in_at"))
)


@dataclass
class _Sender:
    """A matched debtor as read under its lock, and what this batch learns about them."""

    id: int
    wa_user_id: str | None
    opt_in_at: datetime | None
    changed: bool = False  # the user id or the opt-in is to be written
    opts_in: bool = False  # this batch is their first message: the opt-in is audited


@dataclass
class _OpenConversation:
    """The conversation a debtor's messages land in, and the window this batch opens."""

    id: int
    account_id: int
    last_inbound_at: datetime | None
    contacted: bool = False


def _ingest_messages(
    session: Session, events: Sequence[InboundLike], now: datetime, report: IngestReport
) -> None:
    """Senders are looked up and locked once per batch, then every message is stored."""
    session.flush()  # Core statements below do not autoflush the caller's pending objects
    conn = session.connection()
    sender_ids = {_sender_key(e): _find_debtor_id(conn, e.phone, e.user_id) for e in events}
    senders = {
        debtor_id: _lock(conn, debtor_id)  # in a fixed order: concurrent batches never deadlock
        for debtor_id in sorted({i for i in sender_ids.values() if i is not None})
    }
    seen = _already_seen(conn, [e.wamid for e in events])
    conversations: dict[int, _OpenConversation] = {}
    for event in events:
        if event.wamid in seen:
            report.duplicates += 1
            continue
        seen.add(event.wamid)
        debtor_id = sender_ids[_sender_key(event)]
        if debtor_id is None:
            _store_unmatched(conn, event, now, report)
            continue
        if debtor_id not in conversations:
            conversations[debtor_id] = _conversation_for(session, conn, debtor_id, now)
        _store_inbound(conn, senders[debtor_id], conversations[debtor_id], event, now, report)
    _write_contacts(session, conn, senders, conversations, now)


def _store_inbound(
    conn: Connection,
    sender: _Sender,
    conversation: _OpenConversation,
    event: InboundLike,
    now: datetime,
    report: IngestReport,
) -> None:
    message_id = _insert_values(conn, _MESSAGE, _message_values(event, conversation.id, now))
    if message_id is None:  # a concurrent delivery of the same wamid got there first
        report.duplicates += 1
        return
    report.stored += 1
    report.message_ids.append(message_id)
    if event.kind not in SILENT_KINDS:
        _note_contact(sender, conversation, event, now)


def _store_unmatched(
    conn: Connection, event: InboundLike, now: datetime, report: IngestReport
) -> None:
    if _insert_values(conn, _UNMATCHED, _unmatched_values(event, now)) is None:
        report.duplicates += 1
    else:
        report.unmatched += 1


def _sender_key(event: InboundLike) -> tuple[str | None, str | None]:
    return event.phone, event.user_id


def _lock(conn: Connection, debtor_id: int) -> _Sender:
    """Serialise concurrent webhooks for one debtor until the caller commits.

    A no-op UPDATE takes the row lock in PostgreSQL and the write lock in SQLite, so what it
    returns, and the reads that follow, include whatever a concurrent delivery committed: a
    replay is seen as one, and two first messages do not open two conversations.
    """
    wa_user_id, opt_in_at = conn.execute(_LOCK_DEBTOR, {"debtor": debtor_id}).one()
    return _Sender(debtor_id, wa_user_id, opt_in_at)


def _already_seen(conn: Connection, wamids: list[str]) -> set[str]:
    """Those wamids already stored, as debtor messages or as unmatched ones."""
    seen: set[str] = set()
    for start in range(0, len(wamids), 500):
        chunk = wamids[start : start + 500]
        seen.update(w for w in conn.execute(_SEEN_WAMIDS, {"wamids": chunk}).scalars() if w)
    return seen


def _find_debtor_id(conn: Connection, phone: str | None, user_id: str | None) -> int | None:
    """As `find_debtor`, the id only."""
    if phone:
        candidates = phone_candidates(phone)
        by_phone = conn.execute(_DEBTOR_BY_PHONE, {"phones": candidates}).scalar()
        if by_phone is not None:
            return int(by_phone)
    if user_id:
        by_user_id = conn.execute(_DEBTOR_BY_USER_ID, {"uid": user_id}).scalar()
        return int(by_user_id) if by_user_id is not None else None
    return None


def find_debtor(session: Session, phone: str | None, user_id: str | None) -> Debtor | None:
    """The debtor behind a WhatsApp sender: by phone first, else by business-scoped user id."""
    if phone:
        candidates = phone_candidates(phone)
        by_phone = session.exec(select(Debtor).where(col(Debtor.phone).in_(candidates))).first()
        if by_phone is not None:
            return by_phone
    if user_id:
        return session.exec(select(Debtor).where(Debtor.wa_user_id == user_id)).first()
    return None


def phone_candidates(wa_id: str) -> list[str]:
    """E.164 forms a WhatsApp id may be stored as.

    WhatsApp ids keep mobile prefixes that E.164 numbering dropped or never had: Mexico's
    "521" (E.164 "+52" since 2019) and Argentina's "549" (imported numbers often lack the 9).
    """
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    if not digits:
        return []
    forms = ["+" + digits]
    if digits.startswith("521") and len(digits) == 13:
        forms.append("+52" + digits[3:])
    elif digits.startswith("52") and len(digits) == 12:
        forms.append("+521" + digits[2:])
    if digits.startswith("549") and len(digits) == 13:
        forms.append("+54" + digits[3:])
    return forms


def _conversation_for(
    session: Session, conn: Connection, debtor_id: int, now: datetime
) -> _OpenConversation:
    """The debtor's most recently active open conversation, else one on their newest account."""
    current = conn.execute(_OPEN_CONVERSATION, {"debtor": debtor_id}).first()
    if current is not None:
        return _OpenConversation(current.id, current.account_id, current.last_inbound_at)
    newest = conn.execute(_NEWEST_ACCOUNT, {"debtor": debtor_id}).scalar()
    assert newest is not None  # debtors are only created with an account
    opened = open_conversation(session, newest, now)
    return _OpenConversation(opened.id or 0, opened.account_id, opened.last_inbound_at)


def _note_contact(
    sender: _Sender, conversation: _OpenConversation, event: InboundLike, now: datetime
) -> None:
    """Open the 24-hour window, learn the user id, and note the opt-in to replies."""
    sent_at = min(event.timestamp or now, now)
    if conversation.last_inbound_at is None or sent_at > conversation.last_inbound_at:
        conversation.last_inbound_at = sent_at
    conversation.contacted = True
    if event.user_id and event.phone and sender.wa_user_id != event.user_id:
        sender.wa_user_id = event.user_id  # a BSUID is regenerated when the number changes
        sender.changed = True
    if sender.opt_in_at is None:
        # Writing to the business on WhatsApp is taken as opting in to its replies there.
        sender.opt_in_at = sent_at
        sender.changed = sender.opts_in = True


def _write_contacts(
    session: Session,
    conn: Connection,
    senders: dict[int, _Sender],
    conversations: dict[int, _OpenConversation],
    now: datetime,
) -> None:
    """Write what the batch noted: one UPDATE per conversation and per debtor that changed."""
    for debtor_id, conversation in conversations.items():
        if not conversation.contacted:
            continue
        touched = {"conversation": conversation.id, "inbound_at": conversation.last_inbound_at}
        conn.execute(_TOUCH_CONVERSATION, touched | {"now": now})
        sender = senders[debtor_id]
        if not sender.changed:
            continue
        contact = {"uid": sender.wa_user_id, "opt_in_at": sender.opt_in_at}
        conn.execute(_UPDATE_CONTACT, contact | {"debtor": debtor_id})
        if sender.opts_in:
            opened = session.get(Conversation, conversation.id)
            audit(session, "contact.whatsapp_opt_in", now, opened, source="inbound_message")
    session.expire_all()  # ORM objects the caller holds may predate these UPDATEs


def _message_values(event: InboundLike, conversation_id: int, now: datetime) -> dict[str, Any]:
    silent = event.kind in SILENT_KINDS
    return {
        "conversation_id": conversation_id,
        "direction": Direction.inbound.value,
        "kind": event.kind,
        "body": message_body(event),
        "payload": message_payload(event),
        "wamid": event.wamid,
        "status": NOT_ANSWERED if silent else INBOUND_RECEIVED,
        "created_at": now,
    }


def _unmatched_values(event: InboundLike, now: datetime) -> dict[str, Any]:
    sender = "+" + event.phone if event.phone and event.phone.isdigit() else event.phone
    payload = message_payload(event)
    payload.update(phone=event.phone, user_id=event.user_id, profile_name=event.profile_name)
    return {
        "wamid": event.wamid,
        "sender": sender or event.user_id or "",
        "kind": event.kind,
        "body": message_body(event),
        "payload": payload,
        "received_at": now,
    }


def message_body(event: InboundLike) -> str:
    """What a person reads in the transcript: the text, the label tapped, or "[image]"."""
    if event.kind in {"text", "button", "interactive", "reaction"} and event.text:
        return event.text
    return f"[{event.kind}]"


def message_payload(event: InboundLike) -> dict[str, Any]:
    """The structured parts: the button pressed, the media or location, the quoted message."""
    payload: dict[str, Any] = {}
    if event.button_id is not None:
        payload["button_id"] = event.button_id
        payload["button_title"] = event.text
    if event.context_wamid:
        payload["context_wamid"] = event.context_wamid
    if event.timestamp is not None:
        payload["sent_at"] = event.timestamp.isoformat()
    part = event.raw.get(event.kind)
    if event.kind not in {"text", "button", "interactive"} and isinstance(part, dict | list):
        payload["media" if event.kind != "reaction" else "reaction"] = part
    if event.kind == "interactive" and isinstance(part, dict):
        payload["interactive_type"] = part.get("type")
    if isinstance(event.raw.get("errors"), list):
        payload["errors"] = event.raw["errors"]
    return payload


# --- statuses ----------------------------------------------------------------------------------


def _ingest_status(
    session: Session, status: StatusLike, now: datetime, report: IngestReport
) -> None:
    row = MessageStatusEvent(
        wamid=status.wamid,
        status=status.status,
        at=status.timestamp or now,
        error_code=status.error_code,
        error_title=status.error_title,
        raw=status.raw,
    )
    if _insert_once(session, MessageStatusEvent, row) is None:
        report.duplicates += 1
        return
    report.statuses += 1
    outbound = session.exec(
        select(Message)
        .where(Message.wamid == status.wamid)
        .where(Message.direction == Direction.outbound)
        .with_for_update()  # PostgreSQL: two statuses at once must not undo each other
    ).first()
    if outbound is not None:
        apply_status(outbound, row)
        session.add(outbound)


def apply_status(message: Message, event: MessageStatusEvent) -> bool:
    """Move an outbound message forward by one status event; False when it would go back."""
    new_status = STATUS_APPLIED_AS.get(event.status)
    if new_status is None:
        return False  # statuses WhatsApp may add later are kept as events only
    if STATUS_RANK[new_status] <= STATUS_RANK.get(message.status, 0):
        return False
    message.status = new_status
    if event.status == "failed":
        message.error_code = event.error_code
        message.error = event.error_title or "failed"
    elif message.sent_at is None:
        message.sent_at = event.at
    return True


def catch_up(session: Session, message: Message) -> None:
    """Apply statuses that arrived before the sender stored the message's wamid.

    Meta may deliver a "sent" webhook before the dispatcher's own transaction commits the
    wamid; the event is kept, and the dispatcher calls this once the wamid is stored.
    """
    if message.wamid is None:
        return
    events = session.exec(
        select(MessageStatusEvent).where(MessageStatusEvent.wamid == message.wamid)
    ).all()
    for event in sorted(events, key=lambda e: STATUS_RANK.get(e.status, -1)):
        apply_status(message, event)
    session.add(message)


# --- inserts that tolerate a concurrent twin ---------------------------------------------------


def _insert_once(session: Session, model: type[SQLModel], row: SQLModel) -> int | None:
    """INSERT the row unless a unique key already holds it: the new id, or None.

    ON CONFLICT DO NOTHING keeps the caller's transaction alive when Meta delivers the same
    event twice at once (a failed INSERT would otherwise roll the whole batch back).
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    return _insert_values(session.connection(), table, row.model_dump(exclude={"id"}))


def _insert_values(conn: Connection, table: Table, values: dict[str, Any]) -> int | None:
    """As `_insert_once`, from a dict of column values."""
    new_id = conn.execute(_insert_statement(table, conn.dialect.name), values).scalar()
    return int(new_id) if new_id is not None else None


@cache
def _insert_statement(table: Table, dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id; a plain INSERT on other databases."""
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(table).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    else:
        stmt = insert(table)
    return stmt.returning(table.c.id)
