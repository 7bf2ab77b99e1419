"""The inbound worker: in order per conversation, every kind of message, crash-safe, race-safe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from agent.config import Settings
from agent.demo import SCRIPTS
from agent.portfolio import AccountRow, upsert_account
from agent.runtime import Negotiator
from agent.store import open_conversation
from agent.store.db import session_scope
from agent.store.models import Agreement, AuditEvent, Conversation, Message, Stage
from agent.worker import MAX_ATTEMPTS, Worker, pressed_text

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MX = SCRIPTS[0]  # hardship: ends agreement_active after five replies
CO = SCRIPTS[1]  # dispute: ends disputed
PE = SCRIPTS[2]  # pay in full above the limit: ends agreement_pending_approval
MX_ACTIONS = ["verify_identity", "inform", "offer", "confirm_plan", "agreement_active"]


# -- helpers ------------------------------------------------------------------------------------


def new_conversation(engine: Engine, account_id: int, now: datetime) -> int:
    with session_scope(engine) as session:
        return open_conversation(session, account_id, now).id or 0


def put(
    engine: Engine,
    conversation_id: int,
    body: str,
    now: datetime,
    kind: str = "text",
    payload: dict[str, Any] | None = None,
) -> int:
    """Store an inbound message as the webhook does (status "received")."""
    with session_scope(engine) as session:
        message = Message(
            conversation_id=conversation_id,
            direction="inbound",
            kind=kind,
            body=body,
            payload=payload or {},
            created_at=now,
        )
        session.add(message)
        session.flush()
        return message.id or 0


def messages(engine: Engine, conversation_id: int, direction: str) -> list[Message]:
    with session_scope(engine) as session:
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == direction)
            .order_by(Message.id)
        )
        return list(session.exec(query))


def replies(engine: Engine, conversation_id: int) -> list[Message]:
    return messages(engine, conversation_id, "outbound")


def stage(engine: Engine, conversation_id: int) -> str:
    with session_scope(engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return str(conversation.stage)


def replies_per_inbound(engine: Engine) -> tuple[list[int], Counter[int]]:
    with session_scope(engine) as session:
        inbound = list(session.exec(select(Message.id).where(Message.direction == "inbound")))
        outbound = session.exec(select(Message.reply_to_id).where(Message.direction == "outbound"))
        return [i or 0 for i in inbound], Counter(r for r in outbound if r is not None)


def add_debtors(engine: Engine, count: int, now: datetime) -> list[tuple[int, str]]:
    """Synthetic Mexican debtors: (account id, last four digits)."""
    out = []
    with session_scope(engine) as session:
        for i in range(count):
            last4 = f"{1000 + i:04d}"
            row = AccountRow(
                reference=f"TEST-MX-{i:04d}",
                debtor_name=f"Deudor {i}",
                phone=f"+52155{10000000 + i:08d}",
                document_last4=last4,
                principal=Decimal("5000"),
                interest=Decimal("250"),
                days_past_due=40,
            )
            account, _ = upsert_account(session, row, now.date())
            out.append((account.id or 0, last4))
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm="offline", background=False)


@pytest.fixture
def worker(negotiator: Negotiator, now: datetime) -> Worker:
    return Worker(negotiator, clock=lambda: now)


# -- order --------------------------------------------------------------------------------------


def test_messages_of_one_conversation_are_answered_in_order(engine, demo_accounts, worker, now):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    ids = [put(engine, conversation, text, now) for text in MX.turns]

    assert worker.run_once() == len(ids)

    out = replies(engine, conversation)
    assert [m.reply_to_id for m in out] == ids
    assert [m.action for m in out] == MX_ACTIONS
    assert all(m.status == "queued" for m in out)
    assert {m.status for m in messages(engine, conversation, "inbound")} == {"processed"}
    assert stage(engine, conversation) == "agreement_active"
    assert worker.run_once() == 0


def test_two_conversations_interleaved_each_keep_their_order(engine, demo_accounts, worker, now):
    scripts = (MX, PE)
    conversations = [
        new_conversation(engine, demo_accounts[s.account_reference], now) for s in scripts
    ]
    for i in range(max(len(s.turns) for s in scripts)):
        for script, conversation in zip(scripts, conversations, strict=True):
            if i < len(script.turns):
                put(engine, conversation, script.turns[i], now)

    worker.run_once()

    for script, conversation in zip(scripts, conversations, strict=True):
        assert stage(engine, conversation) == script.expected_stage
        inbound = [m.id for m in messages(engine, conversation, "inbound")]
        assert [m.reply_to_id for m in replies(engine, conversation)] == inbound


def test_a_later_message_waits_while_an_earlier_one_is_unfinished(
    engine, demo_accounts, negotiator, now
):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    first = put(engine, conversation, "hola", now)
    put(engine, conversation, "4821", now)
    with session_scope(engine) as session:  # another worker holds the first message
        message = session.get(Message, first)
        message.status, message.claimed_at, message.attempts = "processing", now, 1
        session.add(message)

    assert Worker(negotiator, clock=lambda: now).run_once() == 0
    assert replies(engine, conversation) == []


# -- kinds --------------------------------------------------------------------------------------


def test_pressed_text_reads_buttons_as_typed():
    assert pressed_text({"button_id": "option:2"}, "2. 3 mensuales") == "2"
    assert pressed_text({"button_id": "confirm:yes"}, "Sí, confirmo") == "sí"
    assert pressed_text({"button_id": "confirm:no"}, "No, otra opción") == "no"
    assert pressed_text({"payload": "confirm:yes"}, "Sí") == "sí"  # template quick-reply
    assert pressed_text({}, "Hola") == "Hola"


def test_a_button_press_after_an_offer_leads_to_confirm_plan(
    engine, demo_accounts, negotiator, worker, now
):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    put(engine, conversation, "hola", now)
    put(engine, conversation, "4821", now)
    worker.run_once()
    offered = replies(engine, conversation)[-1]
    assert offered.action == "inform"
    assert "option:2" in [b["id"] for b in offered.payload["buttons"]]

    put(engine, conversation, "2. 3 mensuales", now, "interactive", {"button_id": "option:2"})
    worker.run_once()
    confirm = replies(engine, conversation)[-1]
    assert confirm.action == "confirm_plan"
    assert negotiator.state(conversation)["pending_option"] == 2

    put(engine, conversation, "Sí, confirmo", now, "button", {"button_id": "confirm:yes"})
    worker.run_once()
    assert replies(engine, conversation)[-1].action == "agreement_active"
    assert stage(engine, conversation) == "agreement_active"


def test_media_gets_one_kind_note_per_conversation(engine, demo_accounts, worker, now):
    first = new_conversation(engine, demo_accounts[MX.account_reference], now)
    second = new_conversation(engine, demo_accounts[CO.account_reference], now)
    stickers = [put(engine, first, "", now, "sticker", {"id": f"media-{i}"}) for i in range(3)]
    put(engine, second, "", now, "image", {"id": "media-9"})
    put(engine, second, "", now, "audio", {"id": "media-10", "voice": True})

    assert worker.run_once() == 5

    note = replies(engine, first)
    assert [(m.action, m.reply_to_id, m.status) for m in note] == [
        ("media_not_supported", stickers[0], "queued")
    ]
    assert "texto" in note[0].body and not re.search(r"\d|\$|Lucía|Aurora", note[0].body)
    assert [m.action for m in replies(engine, second)] == ["media_not_supported"]
    for conversation in (first, second):
        assert {m.status for m in messages(engine, conversation, "inbound")} == {"processed"}
        with session_scope(engine) as session:
            assert session.get(Conversation, conversation).media_notice_sent is True

    # Text afterwards is answered as usual; another sticker later stays silent.
    put(engine, first, "hola", now)
    put(engine, first, "", now, "sticker", {"id": "media-11"})
    worker.run_once()
    assert [m.action for m in replies(engine, first)] == ["media_not_supported", "verify_identity"]
    with session_scope(engine) as session:
        audits = session.exec(
            select(AuditEvent).where(AuditEvent.kind == "inbound.media_not_supported")
        ).all()
    assert len(audits) == 2


def test_media_in_a_conversation_a_person_holds_gets_no_note(engine, demo_accounts, worker, now):
    conversation = new_conversation(engine, demo_accounts[CO.account_reference], now)
    for text in CO.turns:
        put(engine, conversation, text, now)
    worker.run_once()
    assert stage(engine, conversation) == "disputed"
    before = len(replies(engine, conversation))

    put(engine, conversation, "", now, "document", {"filename": "estado.pdf"})
    put(engine, conversation, "¿me van a llamar?", now)  # decide stays silent: a person holds it
    assert worker.run_once() == 2
    assert len(replies(engine, conversation)) == before
    assert {m.status for m in messages(engine, conversation, "inbound")} == {"processed"}


def test_a_reaction_is_recorded_without_a_reply(engine, demo_accounts, worker, now):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    put(engine, conversation, "👍", now, "reaction", {"emoji": "👍", "message_id": "wamid.x"})
    assert worker.run_once() == 1
    assert replies(engine, conversation) == []
    assert messages(engine, conversation, "inbound")[0].status == "processed"

    put(engine, conversation, "hola", now)
    worker.run_once()
    assert [m.action for m in replies(engine, conversation)] == ["verify_identity"]


# -- failures -----------------------------------------------------------------------------------


def test_a_failing_message_is_retried_then_given_up_without_blocking_others(
    engine, demo_accounts, negotiator, now, monkeypatch
):
    clock = [now]
    worker = Worker(negotiator, clock=lambda: clock[0])
    bad_conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    good_conversation = new_conversation(engine, demo_accounts[PE.account_reference], now)
    bad = put(engine, bad_conversation, "hola", now)
    after_bad = put(engine, bad_conversation, "4821", now)
    put(engine, good_conversation, "hola", now)
    real_process = negotiator.process

    def process(conversation_id, message_id, text, when):
        if message_id == bad:
            raise RuntimeError("boom")
        return real_process(conversation_id, message_id, text, when)

    monkeypatch.setattr(negotiator, "process", process)

    assert worker.run_once() == 2  # the bad one (failed, retry later) and the good one
    assert len(replies(engine, good_conversation)) == 1
    with session_scope(engine) as session:
        message = session.get(Message, bad)
        assert (message.status, message.attempts) == ("received", 1)
        assert message.error.startswith("RuntimeError") and message.next_attempt_at > now
    assert worker.run_once() == 0  # backing off; the later message of its conversation waits

    for _ in range(MAX_ATTEMPTS - 1):
        clock[0] += timedelta(minutes=10)
        worker.run_once()
    with session_scope(engine) as session:
        assert session.get(Message, bad).status == "failed"
        assert session.get(Message, after_bad).status == "processed"
    assert [m.reply_to_id for m in replies(engine, bad_conversation)] == [after_bad]


def test_run_forever_survives_a_bad_message_and_stops_when_asked(
    engine, demo_accounts, negotiator, now, monkeypatch
):
    worker = Worker(negotiator, clock=lambda: now)
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    other = new_conversation(engine, demo_accounts[PE.account_reference], now)
    bad = put(engine, conversation, "hola", now)
    put(engine, other, "hola", now)
    real_process = negotiator.process

    def process(conversation_id, message_id, text, when):
        if message_id == bad:
            raise ValueError("bad turn")
        return real_process(conversation_id, message_id, text, when)

    monkeypatch.setattr(negotiator, "process", process)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.01), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not replies(engine, other) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert thread.is_alive()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(replies(engine, other)) == 1
    assert replies(engine, conversation) == []


# -- crash and races ----------------------------------------------------------------------------

KILLED_CHILD = """
import os, sys
from datetime import datetime
from agent.config import Settings
from agent.runtime import Negotiator, open_negotiator
from agent.store.db import session_scope
from agent.store.models import Message
from agent.worker import Worker

data_dir, when, conversation, mode, *texts = sys.argv[1:]
now = datetime.fromisoformat(when)
settings = Settings(data_dir=data_dir, llm="offline", background=False)
original = Negotiator.process

def die_after_claim(self, *args, **kwargs):
    os._exit(1)

def die_after_reply(self, *args, **kwargs):
    original(self, *args, **kwargs)
    os._exit(1)

Negotiator.process = {"after_claim": die_after_claim, "after_reply": die_after_reply}[mode]
with open_negotiator(settings) as negotiator:
    with session_scope(negotiator.engine) as session:
        for text in texts:
            session.add(Message(
                conversation_id=int(conversation), direction="inbound", body=text, created_at=now
            ))
    Worker(negotiator, clock=lambda: now).run_once()
print("survived")
"""


def run_killed_child(settings: Settings, now: datetime, conversation: int, mode: str, *texts):
    args = [str(settings.data_dir), now.isoformat(), str(conversation), mode, *texts]
    return subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_killed_between_claim_and_reply_gives_exactly_one_reply_after_restart(
    settings, engine, demo_accounts, negotiator, now
):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    done = run_killed_child(settings, now, conversation, "after_claim", "hola", "4821")
    assert done.returncode == 1 and "survived" not in done.stdout, done.stderr

    first, second = messages(engine, conversation, "inbound")
    assert (first.status, first.attempts) == ("processing", 1)
    assert second.status == "received"
    assert replies(engine, conversation) == []

    # Within the lease nobody takes it; once the lease has passed, a fresh worker does.
    assert Worker(negotiator, clock=lambda: now + timedelta(seconds=60)).run_once() == 0
    restarted = Worker(negotiator, clock=lambda: now + timedelta(seconds=121))
    assert restarted.run_once() == 2
    assert restarted.run_once() == 0

    out = replies(engine, conversation)
    assert [(m.reply_to_id, m.action) for m in out] == [
        (first.id, "verify_identity"),
        (second.id, "inform"),
    ]
    assert {m.status for m in messages(engine, conversation, "inbound")} == {"processed"}


def test_a_worker_killed_after_the_reply_is_stored_is_not_answered_twice(
    settings, engine, demo_accounts, negotiator, now
):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    done = run_killed_child(settings, now, conversation, "after_reply", "hola")
    assert done.returncode == 1, done.stderr

    assert Worker(negotiator, lease_seconds=0, clock=lambda: now).run_once() == 0
    (inbound,) = messages(engine, conversation, "inbound")
    assert inbound.status == "processed"
    assert [m.reply_to_id for m in replies(engine, conversation)] == [inbound.id]


def test_a_turn_replayed_by_a_worker_whose_lease_was_taken_has_no_second_effect(
    engine, demo_accounts, negotiator, now
):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    worker = Worker(negotiator, clock=lambda: now)
    for text in MX.turns[:-1]:
        put(engine, conversation, text, now)
    worker.run_once()
    last = put(engine, conversation, MX.turns[-1], now)

    slow = Worker(negotiator, clock=lambda: now)
    (row,) = slow._candidates(10)
    slow_claim = slow._claim(row)  # the slow worker claims, then stalls past its lease
    assert slow_claim is not None
    fast = Worker(negotiator, lease_seconds=0, clock=lambda: now)
    assert fast.run_once() == 1  # takes it over and answers

    slow._handle(slow_claim)  # the stale worker finally runs the same turn

    with session_scope(engine) as session:
        agreements = session.exec(select(Agreement)).all()
        assert session.get(Message, last).status == "processed"
    assert len(agreements) == 1
    assert [m.reply_to_id for m in replies(engine, conversation)].count(last) == 1


RACING_CHILD = """
import json, os, sys, time
from datetime import datetime
from sqlmodel import func, select
from agent.config import Settings
from agent.runtime import open_negotiator
from agent.store.db import session_scope
from agent.store.models import Message
from agent.worker import Worker

data_dir, when, ready, go = sys.argv[1:]
now = datetime.fromisoformat(when)
settings = Settings(data_dir=data_dir, llm="offline", background=False)
with open_negotiator(settings) as negotiator:
    worker = Worker(negotiator, clock=lambda: now)
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    handled, deadline = 0, time.monotonic() + 90
    while time.monotonic() < deadline:
        handled += worker.run_once(limit=5)
        with session_scope(negotiator.engine) as session:
            left = session.exec(select(func.count()).select_from(Message).where(
                Message.direction == "inbound", Message.status.in_(["received", "processing"])
            )).one()
        if not left:
            break
        time.sleep(0.002)
print(json.dumps({"handled": handled}))
"""


def synthetic_script(last4: str) -> list[str]:
    return ["hola", last4, "perdí mi trabajo, no puedo pagar todo", "puedo pagar 1000 al mes", "sí"]


def prepare_race(engine: Engine, demo_accounts: dict[str, int], now: datetime) -> dict[int, str]:
    """Pending messages for many conversations; returns conversation id -> expected stage."""
    expected: dict[int, str] = {}
    scripts: list[tuple[int, list[str], str]] = [
        (demo_accounts[s.account_reference], s.turns, s.expected_stage) for s in SCRIPTS
    ]
    scripts += [
        (account, synthetic_script(last4), "agreement_active")
        for account, last4 in add_debtors(engine, 9, now)
    ]
    conversations = [(new_conversation(engine, a, now), turns) for a, turns, _ in scripts]
    for (conversation, _), (_, _, stage_) in zip(conversations, scripts, strict=True):
        expected[conversation] = stage_
    for i in range(5):
        for conversation, turns in conversations:
            if i < len(turns):
                put(engine, conversation, turns[i], now)
    return expected


def assert_one_reply_each_and_right_stages(engine: Engine, expected: dict[int, str]) -> None:
    inbound, per_inbound = replies_per_inbound(engine)
    assert max(per_inbound.values()) == 1
    with session_scope(engine) as session:
        silent = session.exec(
            select(Message.id).where(Message.direction == "inbound", Message.status != "processed")
        ).all()
    assert silent == []
    for conversation, stage_ in expected.items():
        assert stage(engine, conversation) == stage_, conversation
        ids = [m.id for m in messages(engine, conversation, "inbound")]
        assert [m.reply_to_id for m in replies(engine, conversation)] == ids
    assert len(per_inbound) == len(inbound)


def test_two_worker_processes_racing_give_exactly_one_reply_per_message(
    settings, engine, demo_accounts, now, tmp_path
):
    expected = prepare_race(engine, demo_accounts, now)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(2)]
    child_args = [str(settings.data_dir), now.isoformat()]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", RACING_CHILD, *child_args, str(flag), str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()  # both start at once
    outputs = [child.communicate(timeout=150) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err

    assert_one_reply_each_and_right_stages(engine, expected)
    handled = [json.loads(out.strip().splitlines()[-1])["handled"] for out, _ in outputs]
    inbound, _ = replies_per_inbound(engine)
    assert sum(handled) == len(inbound)  # every message claimed exactly once
    assert min(handled) > 0, handled  # both workers really took part


def test_two_worker_threads_racing_give_exactly_one_reply_per_message(
    engine, demo_accounts, negotiator, now
):
    expected = prepare_race(engine, demo_accounts, now)
    workers = [Worker(negotiator, clock=lambda: now) for _ in range(2)]
    handled = [0, 0]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            handled[i] += workers[i].run_once(limit=3)
            if not any(m.status in {"received", "processing"} for m in _all_inbound(engine)):
                return
            time.sleep(0.001)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert_one_reply_each_and_right_stages(engine, expected)
    assert sum(handled) == len(_all_inbound(engine))
    assert min(handled) > 0, handled


def _all_inbound(engine: Engine) -> list[Message]:
    with session_scope(engine) as session:
        return list(session.exec(select(Message).where(Message.direction == "inbound")))


# -- command line -------------------------------------------------------------------------------


def test_pacta_worker_once_answers_what_is_pending(settings, engine, demo_accounts, now):
    conversation = new_conversation(engine, demo_accounts[MX.account_reference], now)
    put(engine, conversation, "hola", now)
    put(engine, conversation, "", now, "sticker")
    env = {**os.environ, "PACTA_DATA_DIR": str(settings.data_dir), "PACTA_LLM": "offline"}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "worker", "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "processed 2 message(s)" in done.stdout
    assert [m.action for m in replies(engine, conversation)] == [
        "verify_identity",
        "media_not_supported",
    ]
    assert Stage(stage(engine, conversation)) is Stage.identity_pending
