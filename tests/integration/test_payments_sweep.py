"""The daily sweep: reminders, missed installments, one follow-up, broken agreements, and the
contact rules (hours, caps, consent) on a real SQLite database, sent by the real dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agent.payments import submit_payment, sweep
from agent.store.db import session_scope
from agent.store.models import (
    Agreement,
    AuditEvent,
    Conversation,
    Direction,
    Installment,
    Message,
    Stage,
)
from api.channels.base import OutgoingMessage, SendResult
from api.channels.sandbox import SandboxChannel
from api.dispatcher import Dispatcher
from policies.guard import check
from policies.mandate import load_mandate
from tests.payments_support import make_agreement, outbound, pay

pytestmark = pytest.mark.integration

MX = ZoneInfo("America/Mexico_City")
MANDATE = load_mandate("default")  # grace_days 5, reminder_days_before 1


def at(day: int, hour: int = 11, minute: int = 0, month: int = 3) -> datetime:
    """A moment in March 2026, Mexico City time (first installment due Thursday 12 March)."""
    return datetime(2026, month, day, hour, minute, tzinfo=MX)


def run(engine, when, mandate=MANDATE):
    with session_scope(engine) as session:
        return sweep(session, when, mandate)


def events(engine, kind):
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind)))


def first_installment(engine, agreement_id):
    with session_scope(engine) as session:
        return session.exec(
            select(Installment)
            .where(Installment.agreement_id == agreement_id)
            .where(Installment.number == 1)
        ).one()


@pytest.fixture
def agreement(engine, demo_accounts, now):
    """AUR-MX-0001: 3 x 1,600 from 12 March; opted in; last wrote days ago (window closed)."""
    return make_agreement(engine, demo_accounts["AUR-MX-0001"], now)


class Recording(SandboxChannel):
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        return super().send(message)


def dispatch(engine, when) -> Recording:
    channel = Recording()
    Dispatcher(engine, channel, clock=lambda: when).run_once()
    return channel


# --- reminders -----------------------------------------------------------------------------------


def test_a_reminder_goes_the_day_before_and_only_once(engine, agreement):
    agreement_id, conversation_id = agreement
    assert run(engine, at(10)).reminders == 0  # two days before: not yet
    assert outbound(engine, conversation_id) == []

    report = run(engine, at(11))
    assert (report.reminders, report.deferred, report.skipped) == (1, 0, 0)
    [reminder] = outbound(engine, conversation_id)
    assert reminder.status == "queued" and reminder.action == "payment.reminder"
    # The window closed long ago: a template, which the dispatcher checks again when it sends.
    assert reminder.kind == "template"
    template = reminder.payload["template"]
    assert template["name"] == "pacta_recordatorio_cuota" and template["language"] == "es_MX"
    assert template["parameters"] == ["Lucía", "Financiera Aurora", "$1,600", "12 de marzo"]
    assert "12 de marzo" in reminder.body and "$1,600" in reminder.body
    [queued] = events(engine, "installment.reminder_queued")
    assert queued.agreement_id == agreement_id and queued.data["message_id"] == reminder.id

    # The same day again, and the due date itself: nothing more.
    assert run(engine, at(11, 16)).reminders == 0
    assert run(engine, at(12, 9)).reminders == 0
    assert len(outbound(engine, conversation_id)) == 1

    sent = dispatch(engine, at(11, 11, 5))
    assert [m.kind for m in sent.sent] == ["template"]
    assert sent.sent[0].template_name == "pacta_recordatorio_cuota"
    assert outbound(engine, conversation_id)[0].status == "sent"


def test_inside_the_24_hour_window_the_reminder_is_a_guarded_text(engine, demo_accounts, now):
    _, conversation_id = make_agreement(
        engine, demo_accounts["AUR-MX-0001"], now, last_inbound_at=at(11, 9)
    )
    assert run(engine, at(11)).reminders == 1
    [reminder] = outbound(engine, conversation_id)
    assert reminder.kind == "text" and reminder.guard_outcome == "pass"
    assert "Financiera Aurora" in reminder.body and "vence el 12 de marzo" in reminder.body
    assert [m.kind for m in dispatch(engine, at(11, 11, 5)).sent] == ["text"]


def test_reminder_lead_days_come_from_the_mandate(engine, agreement):
    _, conversation_id = agreement
    earlier = MANDATE.model_copy(update={"reminder_days_before": 3})
    assert run(engine, at(8), earlier).reminders == 0  # a Sunday: outside the window anyway
    assert run(engine, at(9), earlier).reminders == 1  # Monday, three days before
    assert len(outbound(engine, conversation_id)) == 1


# --- missed installments -------------------------------------------------------------------------


def test_a_missed_installment_gets_one_kind_follow_up_then_breaks_after_grace(engine, agreement):
    agreement_id, conversation_id = agreement
    run(engine, at(11))  # the reminder
    report = run(engine, at(13))  # the day after the due date
    assert (report.missed, report.followups, report.broken) == (1, 1, 0)
    assert first_installment(engine, agreement_id).status == "missed"
    followup = outbound(engine, conversation_id)[-1]
    assert followup.action == "payment.followup" and followup.kind == "template"
    assert "Entendemos que pueden surgir imprevistos" in followup.body
    assert "ASESOR" in followup.body
    for word in ("embargo", "demanda", "buró", "abogado"):
        assert word not in followup.body.lower()

    # Later runs: no second follow-up, and not broken within the 5 grace days.
    for when in (at(13, 17), at(17), at(17, 21)):
        report = run(engine, when)
        assert (report.missed, report.followups, report.broken) == (0, 0, 0)
    assert len(outbound(engine, conversation_id)) == 2
    with session_scope(engine) as session:
        assert session.get(Agreement, agreement_id).status == "active"

    report = run(engine, at(18))  # six days late
    assert report.broken == 1
    with session_scope(engine) as session:
        assert session.get(Agreement, agreement_id).status == "broken"
        assert session.get(Conversation, conversation_id).stage == Stage.broken_promise
    [broken] = events(engine, "agreement.broken")
    assert broken.rule_ids == ["mandate.grace_days"] and broken.data["missed"] == [1]
    assert broken.data["outstanding"] == "1600.00"
    assert run(engine, at(19)).agreements == 0  # a broken agreement is no longer swept
    assert len(outbound(engine, conversation_id)) == 2  # breaking sends nothing


def test_grace_days_come_from_the_mandate(engine, agreement):
    agreement_id, _ = agreement
    strict = MANDATE.model_copy(update={"grace_days": 0})
    assert run(engine, at(13), strict).broken == 1  # one day late is already too late
    with session_scope(engine) as session:
        assert session.get(Agreement, agreement_id).status == "broken"


def test_paying_a_missed_installment_clears_it(engine, agreement):
    agreement_id, _ = agreement
    run(engine, at(13))
    submit_payment(engine, pay("AUR-MX-0001", "1600", at(13, 12), "LATE-1"), at(13, 12))
    assert first_installment(engine, agreement_id).status == "paid"
    [paid] = events(engine, "installment.paid")
    assert paid.data["was"] == "missed"
    assert run(engine, at(18)).broken == 0


# --- contact rules -------------------------------------------------------------------------------


def test_outside_contact_hours_nothing_is_queued_and_the_next_run_sends(engine, agreement):
    _, conversation_id = agreement
    report = run(engine, at(11, 23, 30))  # 23:30 in Mexico City: outside 07:00-22:00
    assert (report.reminders, report.deferred) == (0, 1)
    assert outbound(engine, conversation_id) == []
    [deferred] = events(engine, "contact.deferred")
    assert "contact.window" in deferred.rule_ids and deferred.data["notice"] == (
        "installment.reminder"
    )
    assert run(engine, at(12, 6, 30)).reminders == 0  # still too early
    assert run(engine, at(12, 8)).reminders == 1  # the due date, in the window: still useful
    assert len(outbound(engine, conversation_id)) == 1


def test_a_follow_up_waits_for_a_weekday(engine, agreement):
    _, conversation_id = agreement
    # The installment falls due on Thursday; nobody sweeps until Saturday (no contact in MX).
    report = run(engine, at(14))
    assert (report.missed, report.followups, report.deferred) == (1, 0, 1)
    assert run(engine, at(15)).followups == 0  # Sunday
    assert run(engine, at(17)).followups == 1  # Tuesday (Monday 16 is a holiday)
    assert len(outbound(engine, conversation_id)) == 1


def test_the_daily_cap_defers_a_second_business_message(engine, agreement):
    _, conversation_id = agreement
    with session_scope(engine) as session:  # a template already went out this morning
        session.add(
            Message(
                conversation_id=conversation_id,
                direction=Direction.outbound,
                kind="template",
                body="(otra plantilla)",
                status="sent",
                created_at=at(11, 9),
                sent_at=at(11, 9),
            )
        )
    report = run(engine, at(11))
    assert (report.reminders, report.deferred) == (0, 1)
    [deferred] = events(engine, "contact.deferred")
    assert "contact.cap.daily" in deferred.rule_ids
    assert run(engine, at(12, 9)).reminders == 1  # the next day the cap allows it


def test_no_opt_in_means_no_reminder_and_it_is_not_retried(engine, demo_accounts, now):
    _, conversation_id = make_agreement(engine, demo_accounts["AUR-MX-0001"], now, opt_in=False)
    report = run(engine, at(11))
    assert (report.reminders, report.skipped) == (0, 1)
    [skipped] = events(engine, "installment.reminder_skipped")
    assert skipped.data["reason"] == "contact.no_optin"
    assert run(engine, at(11, 15)).skipped == 0  # recorded: not tried again
    assert outbound(engine, conversation_id) == []


def test_a_person_holding_the_conversation_keeps_it(engine, demo_accounts, now):
    agreement_id, conversation_id = make_agreement(
        engine, demo_accounts["AUR-MX-0001"], now, stage=Stage.handed_off
    )
    assert run(engine, at(11)).skipped == 1
    assert run(engine, at(13)).followups == 0
    assert run(engine, at(18)).broken == 1
    with session_scope(engine) as session:
        assert session.get(Agreement, agreement_id).status == "broken"
        assert session.get(Conversation, conversation_id).stage == Stage.handed_off
    assert outbound(engine, conversation_id) == []


# --- the thank-you through the dispatcher --------------------------------------------------------


def test_a_thank_you_outside_the_window_is_a_template_and_is_guard_clean(engine, agreement):
    _, conversation_id = agreement
    when = at(10, 12)
    result = submit_payment(engine, pay("AUR-MX-0001", "1000", when, "PAY-T"), when).result
    [thanks] = outbound(engine, conversation_id)
    assert thanks.id == result.thank_you_message_id and thanks.kind == "template"
    assert thanks.payload["template"]["name"] == "pacta_pago_recibido"
    assert thanks.payload["template"]["parameters"][1:] == [
        "$1,000",
        "$600",
        "12 de marzo",
        "$3,800",
    ]
    sent = dispatch(engine, when + timedelta(minutes=1))
    assert [m.template_name for m in sent.sent] == ["pacta_pago_recibido"]


def test_a_thank_you_at_night_waits_for_the_contact_window(engine, agreement):
    _, conversation_id = agreement
    night = at(10, 23)
    submit_payment(engine, pay("AUR-MX-0001", "1000", night, "PAY-N"), night)
    [thanks] = outbound(engine, conversation_id)
    assert thanks.status == "queued" and thanks.next_attempt_at is not None
    assert thanks.next_attempt_at.astimezone(MX) == at(11, 7)
    assert dispatch(engine, night + timedelta(minutes=5)).sent == []
    assert len(dispatch(engine, at(11, 7, 1)).sent) == 1


def test_every_queued_notice_passes_the_guard_for_its_figures(engine, agreement):
    from agent.payment_notices import Notice, notice_guard_context
    from agent.payments import _notice_facts, installments_of
    from agent.store.repository import load_context

    agreement_id, conversation_id = agreement
    submit_payment(engine, pay("AUR-MX-0001", "500", at(10), "PAY-G"), at(10))
    run(engine, at(11))
    run(engine, at(13))
    messages = outbound(engine, conversation_id)
    assert [m.action for m in messages] == [
        "payment.thank_you_progress",
        "payment.reminder",
        "payment.followup",
    ]
    with session_scope(engine) as session:
        ctx = load_context(session, conversation_id)
        rows = installments_of(session, agreement_id)
        from agent.payment_notices import installment_facts

        schedule = installment_facts(rows, at(13).date())
        facts = _notice_facts(
            ctx,
            at(10).date(),
            schedule,
            amount=Decimal("500"),
            remaining=sum((r.amount - r.paid_amount for r in rows), Decimal(0)),
        )
    for message in messages:
        notice = Notice(message.action.removeprefix("payment."))
        verdict = check(message.body, notice_guard_context(facts, notice))
        assert verdict.passed, (message.body, verdict.violations)
