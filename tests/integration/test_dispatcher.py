"""The outbox dispatcher on a real SQLite database, with replies queued by real turns."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from agent.config import Settings
from agent.store.db import session_scope
from agent.store.models import (
    Account,
    AuditEvent,
    Conversation,
    Debtor,
    Direction,
    Message,
    MessageStatusEvent,
    Stage,
)
from api.channels.base import ChannelError, OutgoingMessage, SendResult
from api.channels.cloud import CloudApiChannel
from api.channels.sandbox import SandboxChannel
from api.dispatcher import Dispatcher, RateLimiter

pytestmark = pytest.mark.integration

OK: dict[str, object] = {}  # a success: the Graph stub fills in a fresh wamid
SERVER_ERROR = (500, {"error": {"message": "An unknown error occurred", "code": 1}})


def graph_error(code: int, message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class RecordingChannel(SandboxChannel):
    """The sandbox, plus a record of calls and optional scripted failures."""

    def __init__(self, *failures: Exception | None, read_error: Exception | None = None) -> None:
        self.failures = list(failures)
        self.sent: list[OutgoingMessage] = []
        self.read: list[str] = []
        self.read_error = read_error

    def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        return super().send(message)

    def mark_read(self, wamid: str) -> None:
        self.read.append(wamid)
        if self.read_error is not None:
            raise self.read_error


class Graph:
    """A MockTransport handler: scripted (status, body) answers, every request kept."""

    def __init__(self, *answers: tuple[int, dict[str, object]]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.wamids = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if json.loads(request.content).get("status") == "read":
            return httpx.Response(200, json={"success": True})
        status, body = self.answers.pop(0) if self.answers else (200, OK)
        if body is OK:
            self.wamids += 1
            body = {"messaging_product": "whatsapp", "messages": [{"id": self.wamid()}]}
        return httpx.Response(status, json=body)

    def wamid(self) -> str:
        return f"wamid.cloud.{self.wamids}"

    def sends(self) -> list[dict[str, object]]:
        bodies = [json.loads(r.content) for r in self.requests]
        return [b for b in bodies if b.get("status") != "read"]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", llm="offline", background=False, whatsapp_token=None
    )


@pytest.fixture
def clock(now) -> Clock:
    return Clock(now + timedelta(minutes=5))


@pytest.fixture
def conversation(negotiator, demo_accounts, now) -> int:
    return negotiator.open_conversation(demo_accounts["AUR-MX-0001"], now)


def turn(negotiator, engine, conversation: int, text: str, at: datetime, wamid: str) -> Message:
    """Run a real turn and return the reply it queued (the webhook would set last_inbound_at)."""
    result = negotiator.receive(conversation, text, now=at, wamid=wamid)
    with session_scope(engine) as session:
        conv = session.get(Conversation, conversation)
        assert conv is not None
        conv.last_inbound_at = at
        session.add(conv)
        return session.exec(select(Message).where(Message.reply_to_id == result.inbound_id)).one()


def reload(engine, message_id: int) -> Message:
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def cloud(tmp_path, graph: Graph) -> CloudApiChannel:
    settings = Settings(
        data_dir=tmp_path,
        whatsapp_token=SecretStr("tok"),
        whatsapp_phone_number_id="106540352242922",
    )
    return CloudApiChannel(settings, transport=httpx.MockTransport(graph))


def dispatcher(engine, channel, clock: Clock, **kw) -> Dispatcher:
    kw.setdefault("rate_per_second", 10_000)
    return Dispatcher(engine, channel, clock=clock, rng=random.Random(7), **kw)


def add_outbound(engine, conversation: int, at: datetime, **fields) -> int:
    fields.setdefault("body", "Le escribimos de Aurora.")
    with session_scope(engine) as session:
        message = Message(
            conversation_id=conversation,
            direction=Direction.outbound,
            status="queued",
            created_at=at,
            **fields,
        )
        session.add(message)
        session.flush()
        return message.id or 0


def set_debtor(engine, conversation: int, **fields) -> None:
    with session_scope(engine) as session:
        conv = session.get(Conversation, conversation)
        account = session.get(Account, conv.account_id) if conv else None
        debtor = session.get(Debtor, account.debtor_id) if account else None
        assert debtor is not None
        for name, value in fields.items():
            setattr(debtor, name, value)
        session.add(debtor)


# ---- the happy path ----------------------------------------------------------------------


def test_queued_reply_is_sent_with_a_wamid_and_its_inbound_marked_read(
    negotiator, engine, conversation, now, clock, caplog
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    assert reply.status == "queued"
    channel = RecordingChannel()
    assert dispatcher(engine, channel, clock).run_once() == 1

    sent = reload(engine, reply.id or 0)
    assert sent.status == "sent"
    assert sent.wamid and sent.wamid.startswith("wamid.sandbox.")
    assert sent.sent_at == clock.now and sent.attempts == 1 and sent.claimed_at is None
    [outgoing] = channel.sent
    assert (outgoing.kind, outgoing.to, outgoing.body) == ("text", "+525512345678", reply.body)
    assert channel.read == ["wamid.in.1"]
    assert dispatcher(engine, channel, clock).run_once() == 0  # nothing sent twice
    assert "+525512345678" not in caplog.text and reply.body not in caplog.text


def test_buttons_payload_goes_out_as_interactive_buttons(
    negotiator, engine, conversation, now, clock, tmp_path
):
    turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    reply = turn(negotiator, engine, conversation, "4821", now, "wamid.in.2")
    assert reply.payload["buttons"]  # the agent offered its options as buttons
    graph = Graph()
    d = dispatcher(engine, cloud(tmp_path, graph), clock)
    assert d.run_once() == 1  # one message per conversation per pass, in order
    clock.advance(seconds=1)
    assert d.run_once() == 1

    body = graph.sends()[1]
    assert body["to"] == "+525512345678" and body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": reply.body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": b["id"], "title": b["title"]}}
                for b in reply.payload["buttons"]
            ]
        },
    }
    assert reload(engine, reply.id or 0).wamid == "wamid.cloud.2"
    read = [json.loads(r.content) for r in graph.requests if b'"read"' in r.content]
    assert [r["message_id"] for r in read] == ["wamid.in.1", "wamid.in.2"]


def test_a_failing_mark_read_never_fails_the_send(negotiator, engine, conversation, now, clock):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    channel = RecordingChannel(read_error=ChannelError(None, "boom", "retry"))
    dispatcher(engine, channel, clock).run_once()
    assert reload(engine, reply.id or 0).status == "sent"
    assert channel.read == ["wamid.in.1"]


def test_no_mark_read_when_the_inbound_has_no_wamid(negotiator, engine, conversation, now, clock):
    negotiator.receive(conversation, "Hola", now=now)  # e.g. `pacta chat`: no wamid
    channel = RecordingChannel()
    with session_scope(engine) as session:
        conv = session.get(Conversation, conversation)
        assert conv is not None
        conv.last_inbound_at = now
        session.add(conv)
    assert dispatcher(engine, channel, clock).run_once() == 1
    assert channel.read == []


# ---- WhatsApp's rules ----------------------------------------------------------------------


def test_free_form_outside_the_24h_window_is_not_sent(negotiator, engine, conversation, now, clock):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    clock.advance(hours=24)
    channel = RecordingChannel()
    assert dispatcher(engine, channel, clock).run_once() == 1
    failed = reload(engine, reply.id or 0)
    assert (failed.status, failed.error, failed.wamid) == ("failed", "outside_24h_window", None)
    assert channel.sent == [] and channel.read == []


def test_window_error_from_the_api_fails_with_its_code(
    negotiator, engine, conversation, now, clock, tmp_path
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    graph = Graph((400, graph_error(131047, "Re-engagement message")))
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    failed = reload(engine, reply.id or 0)
    assert (failed.status, failed.error_code, failed.error) == (
        "failed",
        131047,
        "outside_24h_window",
    )


def test_template_needs_opt_in_and_may_go_outside_the_window(
    engine, conversation, now, clock, tmp_path
):
    payload = {"template": {"name": "recordatorio_pago", "language": "es_MX", "parameters": ["A"]}}
    clock.advance(days=3)  # no inbound at all: only a template may go
    first = add_outbound(engine, conversation, now, kind="template", payload=payload)
    graph = Graph()
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    assert (reload(engine, first).status, reload(engine, first).error) == ("failed", "no_opt_in")
    assert graph.requests == []

    set_debtor(engine, conversation, whatsapp_opt_in_at=now - timedelta(days=30))
    second = add_outbound(engine, conversation, now, kind="template", payload=payload)
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    assert reload(engine, second).status == "sent"
    [body] = graph.sends()
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "recordatorio_pago",
        "language": {"code": "es_MX"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "A"}]}],
    }

    set_debtor(engine, conversation, opted_out_at=now)
    third = add_outbound(engine, conversation, now, kind="template", payload=payload)
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    assert (reload(engine, third).status, reload(engine, third).error) == ("failed", "opted_out")


# ---- errors and retries --------------------------------------------------------------------


def test_server_errors_are_retried_with_backoff_then_sent(
    negotiator, engine, conversation, now, clock, tmp_path
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    graph = Graph(SERVER_ERROR, SERVER_ERROR, (200, OK))
    d = dispatcher(engine, cloud(tmp_path, graph), clock)

    d.run_once()
    first = reload(engine, reply.id or 0)
    assert (first.status, first.attempts, first.error_code) == ("queued", 1, 1)
    delay = (first.next_attempt_at - clock.now).total_seconds()
    assert 2.0 <= delay <= 4.0  # 4 s with 50-100% jitter
    assert d.run_once() == 0  # not due yet: no request
    assert len(graph.sends()) == 1

    clock.now = first.next_attempt_at
    d.run_once()
    second = reload(engine, reply.id or 0)
    assert (second.status, second.attempts) == ("queued", 2)
    assert 4.0 <= (second.next_attempt_at - clock.now).total_seconds() <= 8.0

    clock.now = second.next_attempt_at
    d.run_once()
    done = reload(engine, reply.id or 0)
    assert (done.status, done.attempts, done.wamid) == ("sent", 3, "wamid.cloud.1")
    assert done.error_code is None and done.next_attempt_at is None
    assert len(graph.sends()) == 3


def test_always_failing_message_is_dead_lettered_after_max_attempts(
    negotiator, engine, conversation, now, clock
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    errors = [ChannelError(None, "HTTP 503", "retry", http_status=503) for _ in range(10)]
    channel = RecordingChannel(*errors)
    d = dispatcher(engine, channel, clock, max_attempts=4)
    for _ in range(10):
        d.run_once()
        clock.advance(minutes=10)
    dead = reload(engine, reply.id or 0)
    assert (dead.status, dead.attempts, dead.error) == ("dead_letter", 4, "HTTP 503")
    assert len(channel.sent) == 4


def test_unexpected_channel_exception_is_retried_not_fatal(
    negotiator, engine, conversation, now, clock
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    channel = RecordingChannel(RuntimeError("bug"))
    d = dispatcher(engine, channel, clock)
    d.run_once()
    assert reload(engine, reply.id or 0).error == "unexpected RuntimeError"
    clock.advance(minutes=1)
    d.run_once()
    assert reload(engine, reply.id or 0).status == "sent"


def test_undeliverable_number(negotiator, engine, conversation, now, clock, tmp_path):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    graph = Graph((400, graph_error(131026, "Message undeliverable")))
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    row = reload(engine, reply.id or 0)
    assert (row.status, row.error_code, row.error) == (
        "undeliverable",
        131026,
        "Message undeliverable",
    )


def test_rate_limit_waits_at_least_six_seconds(
    negotiator, engine, conversation, now, clock, tmp_path
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    graph = Graph((400, graph_error(131056, "pair rate limit hit")))
    d = dispatcher(engine, cloud(tmp_path, graph), clock)
    d.run_once()
    row = reload(engine, reply.id or 0)
    assert (row.status, row.error_code, row.attempts) == ("queued", 131056, 1)
    assert (row.next_attempt_at - clock.now).total_seconds() >= 6.0
    clock.advance(seconds=5)
    assert d.run_once() == 0
    clock.advance(seconds=1)
    assert d.run_once() == 1
    assert reload(engine, reply.id or 0).status == "sent"


def test_expired_token_pauses_sending_and_keeps_the_message_queued(
    negotiator, engine, conversation, demo_accounts, now, clock, tmp_path, caplog
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    other_conv = negotiator.open_conversation(demo_accounts["AUR-CO-0002"], now)
    other = turn(negotiator, engine, other_conv, "Hola", now, "wamid.in.2")
    token_error = graph_error(190, "Error validating access token: Session has expired")
    graph = Graph((401, token_error))
    d = dispatcher(engine, cloud(tmp_path, graph), clock)

    assert d.run_once() == 1
    assert d.paused_reason is not None and "190" in d.paused_reason
    row = reload(engine, reply.id or 0)
    assert (row.status, row.error_code, row.attempts) == ("queued", 190, 0)
    assert reload(engine, other.id or 0).status == "queued"  # the pass stopped there
    assert d.run_once() == 0 and len(graph.requests) == 1
    assert caplog.text.count("sending paused") == 1
    with session_scope(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.kind == "channel.paused"))
        assert event.data["code"] == 190

    restarted = dispatcher(engine, cloud(tmp_path, graph), clock)
    assert restarted.run_once() == 2
    assert reload(engine, reply.id or 0).status == "sent"


# ---- order, pacing, robustness -------------------------------------------------------------


def test_replies_in_one_conversation_go_in_order_and_paced(engine, conversation, now, clock):
    with session_scope(engine) as session:
        conv = session.get(Conversation, conversation)
        assert conv is not None
        conv.last_inbound_at = now
        session.add(conv)
    first = add_outbound(engine, conversation, now, body="primero")
    second = add_outbound(engine, conversation, now, body="segundo")
    channel = RecordingChannel(ChannelError(None, "HTTP 502", "retry"))
    d = dispatcher(engine, channel, clock)

    d.run_once()  # the first fails and waits: the second must not overtake it
    assert reload(engine, second).status == "queued" and len(channel.sent) == 1
    clock.now = reload(engine, first).next_attempt_at
    d.run_once()
    assert reload(engine, first).status == "sent"
    assert reload(engine, second).status == "queued"
    d.run_once()  # less than a second after the first: paced
    assert reload(engine, second).status == "queued"
    clock.advance(seconds=1)
    d.run_once()
    assert reload(engine, second).status == "sent"
    assert [m.body for m in channel.sent] == ["primero", "primero", "segundo"]


def test_an_invalid_message_fails_alone(engine, conversation, now, clock):
    with session_scope(engine) as session:
        conv = session.get(Conversation, conversation)
        assert conv is not None
        conv.last_inbound_at = now
        session.add(conv)
    buttons = [{"id": f"b{i}", "title": f"Opción {i}"} for i in range(4)]
    bad = add_outbound(engine, conversation, now, kind="interactive", payload={"buttons": buttons})
    good = add_outbound(engine, conversation, now, body="sigue")
    channel = RecordingChannel()
    d = dispatcher(engine, channel, clock)
    assert d.run_once() == 1 and d.run_once() == 1
    row = reload(engine, bad)
    assert row.status == "failed" and row.error.startswith("invalid_message: 4 reply buttons")
    assert reload(engine, good).status == "sent"


def test_an_interrupted_send_is_recovered(negotiator, engine, conversation, now, clock):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    with session_scope(engine) as session:
        row = session.get(Message, reply.id)
        assert row is not None
        row.status, row.claimed_at = "sending", clock.now - timedelta(minutes=1)
        session.add(row)
    d = dispatcher(engine, RecordingChannel(), clock)
    assert d.run_once() == 0  # another dispatcher's fresh claim is left alone
    clock.advance(minutes=2)
    assert d.run_once() == 1
    assert reload(engine, reply.id or 0).status == "sent"


def test_a_status_webhook_that_beat_the_send_is_applied(
    negotiator, engine, conversation, now, clock, tmp_path
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    with session_scope(engine) as session:
        session.add(MessageStatusEvent(wamid="wamid.cloud.1", status="delivered", at=clock.now))
    dispatcher(engine, cloud(tmp_path, Graph()), clock).run_once()
    assert reload(engine, reply.id or 0).status == "delivered"


def test_global_rate_spaces_calls():
    t = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        t[0] += s

    limiter = RateLimiter(80, monotonic=lambda: t[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == pytest.approx([1 / 80, 1 / 80])


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_run_forever_sends_and_survives_a_failing_pass(
    negotiator, engine, conversation, now, clock, stop
):
    reply = turn(negotiator, engine, conversation, "Hola", now, "wamid.in.1")
    d = dispatcher(engine, RecordingChannel(), clock)
    calls = {"n": 0}
    real_run_once = d.run_once

    def flaky(limit: int = 100) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup")
        return real_run_once(limit)

    d.run_once = flaky  # type: ignore[method-assign]
    thread = threading.Thread(target=d.run_forever, args=(stop, 0.01), daemon=True)
    thread.start()
    for _ in range(200):
        if reload(engine, reply.id or 0).status == "sent":
            break
        stop.wait(0.01)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert reload(engine, reply.id or 0).status == "sent" and calls["n"] >= 2


TEMPLATE = {"template": {"name": "recordatorio_pago", "language": "es_MX", "parameters": ["A"]}}


def test_a_template_waits_for_the_packs_contact_window(engine, conversation, now, clock, tmp_path):
    set_debtor(engine, conversation, whatsapp_opt_in_at=now - timedelta(days=30))
    clock.advance(hours=12)  # Tuesday 23:00 in Mexico City: outside 07:00-22:00
    message = add_outbound(engine, conversation, now, kind="template", payload=TEMPLATE)
    graph = Graph()
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()

    row = reload(engine, message)
    wednesday_7am = datetime(2026, 3, 11, 7, 0, tzinfo=now.tzinfo)
    assert (row.status, row.next_attempt_at) == ("queued", wednesday_7am)
    assert graph.requests == []
    with session_scope(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.kind == "contact.refused"))
        assert event.rule_ids[:2] == ["contact.window", "mx.window"]
        assert event.data["pack_version"].startswith("MX-")

    clock.advance(hours=8)  # Wednesday 07:00
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    assert reload(engine, message).status == "sent"


def test_no_template_while_a_dispute_is_open(engine, conversation, now, clock, tmp_path):
    set_debtor(engine, conversation, whatsapp_opt_in_at=now - timedelta(days=30))
    with session_scope(engine) as session:
        stored = session.get(Conversation, conversation)
        assert stored is not None
        stored.stage = Stage.disputed
        session.add(stored)
    message = add_outbound(engine, conversation, now, kind="template", payload=TEMPLATE)
    graph = Graph()
    dispatcher(engine, cloud(tmp_path, graph), clock).run_once()
    row = reload(engine, message)
    assert (row.status, row.error) == ("failed", "contact.stop.dispute_open")
    assert graph.requests == []
