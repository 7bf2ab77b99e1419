"""The demo portfolio end to end: plan, schedule, send through the sandbox, reply, campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from agent.cadence.campaign import campaign_summary
from agent.cadence.planner import plan
from agent.cadence.scheduler import CadenceScheduler
from agent.contact_rules import contact_subject
from agent.store.db import session_scope
from agent.store.inbox import ingest
from agent.store.models import CadenceSend, Debtor, Message, MessageStatusEvent
from agent.store.repository import load_context
from api.channels.sandbox import SandboxChannel
from api.dispatcher import Dispatcher
from policies.cadence import load_cadence
from policies.contact import can_contact
from policies.mandate import load_mandate
from tests.conftest import NOW

CADENCE = load_cadence()


@dataclass
class Inbound:
    wamid: str
    phone: str | None
    text: str | None
    timestamp: datetime | None
    user_id: str | None = None
    profile_name: str | None = None
    kind: str = "text"
    button_id: str | None = None
    context_wamid: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    messages: list[Inbound] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _opt_in(engine: Engine) -> None:
    with session_scope(engine) as s:
        for debtor in s.exec(select(Debtor)).all():
            debtor.whatsapp_opt_in_at = NOW - timedelta(days=60)
            debtor.whatsapp_opt_in_source = "import"
            s.add(debtor)


def test_demo_portfolio_plans_and_sends_through_the_sandbox(
    engine: Engine, demo_accounts: dict[str, int]
) -> None:
    with engine.connect() as conn:
        items, _ = plan(conn, CADENCE, NOW)
    assert {i.reason for i in items} == {"cadence.skip.no_opt_in"}  # as seeded: no opt-in

    _opt_in(engine)
    scheduler = CadenceScheduler(engine, CADENCE, mandate=load_mandate())
    report = scheduler.run_once(NOW)
    assert (report.queued, report.held, report.skipped) == (3, 0, 0)

    clock = {"now": NOW + timedelta(minutes=1)}
    dispatcher = Dispatcher(engine, SandboxChannel(), clock=lambda: clock["now"])
    while dispatcher.run_once():
        pass
    with session_scope(engine) as s:
        sent = s.exec(select(Message).where(Message.direction == "outbound")).all()
        assert [m.status for m in sent] == ["sent"] * 3
        for m in sent:  # no rule broken: each was allowed when it left, in its debtor's time
            ctx = load_context(s, m.conversation_id)
            assert m.kind == "template" and m.sent_at is not None
            assert can_contact(contact_subject(ctx), "whatsapp", m.sent_at, []).allowed
        lucia = next(m for m in sent if "Lucía" in m.body)
        template_conversation = lucia.conversation_id

    answer = Inbound("wamid.in.1", "5215512345678", "Hola, sí", NOW + timedelta(hours=1))
    with session_scope(engine) as s:
        ingest(s, Batch(messages=[answer]), NOW + timedelta(hours=1))
    with session_scope(engine) as s:
        reply = s.exec(select(Message).where(Message.wamid == "wamid.in.1")).one()
        assert reply.conversation_id == template_conversation  # the agent takes it from here
        s.add(MessageStatusEvent(wamid=lucia.wamid or "", status="read", at=NOW))

    with session_scope(engine) as s:
        summary = campaign_summary(
            s, NOW.date(), "America/Mexico_City", now=NOW + timedelta(hours=2)
        )
    step = next(x for x in summary.steps if x.step_id == "overdue_30")
    assert (step.sent_today, step.delivered, step.read, step.replies) == (3, 1, 1, 1)
    assert step.read_rate == round(1 / 3, 4)
    assert summary.waiting == []

    assert scheduler.run_once(NOW + timedelta(hours=3)).queued == 0  # never twice


def test_campaign_lists_what_waits_and_why(engine: Engine, demo_accounts: dict[str, int]) -> None:
    _opt_in(engine)
    late = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)
    report = CadenceScheduler(engine, CADENCE, sweep_payments=False).run_once(late)
    assert report.held == 3  # 23:00 in Mexico City, midnight in Bogotá and Lima
    with session_scope(engine) as s:
        summary = campaign_summary(s, late.date(), "America/Bogota", now=late)
        held = s.exec(select(CadenceSend)).all()
    assert {w.reason for w in summary.waiting} == {"contact.window"}
    assert {w.rule_ids[1] for w in summary.waiting} == {"mx.window", "co.window", "pe.window"}
    assert all(w.next_at > late for w in summary.waiting)
    assert all(h.held for h in held)
    assert next(x for x in summary.steps if x.step_id == "overdue_30").held == 3
    assert summary.as_dict()["waiting"][0]["next_at_local"]


def test_a_stop_recorded_after_queueing_holds_the_template_at_send_time(
    engine: Engine, demo_accounts: dict[str, int]
) -> None:
    from agent.store.models import Account, ContactStop

    _opt_in(engine)
    report = CadenceScheduler(engine, CADENCE, sweep_payments=False).run_once(NOW)
    assert report.queued == 3
    with session_scope(engine) as s:
        lucia = s.get(Account, demo_accounts["AUR-MX-0001"])
        assert lucia is not None
        s.add(ContactStop(debtor_id=lucia.debtor_id, reason="debtor_has_lawyer", since=NOW))
    channel = SandboxChannel()
    dispatcher = Dispatcher(engine, channel, clock=lambda: NOW + timedelta(minutes=10))
    dispatcher.run_once()
    with session_scope(engine) as s:
        templates = s.exec(select(Message).where(Message.kind == "template")).all()
        by_account = {load_context(s, m.conversation_id).account.id: m for m in templates}
        lucia_template = by_account[demo_accounts["AUR-MX-0001"]]
        assert lucia_template.status == "failed" and "lawyer" in (lucia_template.error or "")
        others = [m for a, m in by_account.items() if a != demo_accounts["AUR-MX-0001"]]
    assert {m.status for m in others} == {"sent"}
