"""The cadence planner and scheduler on a real (SQLite) store."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from agent.cadence.planner import PlanItem, Skip, plan
from agent.cadence.scheduler import CadenceScheduler
from agent.store.db import session_scope
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    CadenceSend,
    ContactStop,
    Conversation,
    Debtor,
    Message,
    Stage,
)
from policies.cadence import load_cadence

BOGOTA = ZoneInfo("America/Bogota")
CADENCE = load_cadence()
TUESDAY = datetime(2026, 3, 10, 10, 0, tzinfo=BOGOTA)  # inside every window


def add_account(
    session: Session,
    n: int,
    *,
    due: date,
    country: str = "CO",
    tz: str = "America/Bogota",
    debtor: Debtor | None = None,
    opt_in: bool = True,
    **account: Any,
) -> Account:
    if debtor is None:
        debtor = Debtor(
            name=f"Persona {n}",
            phone=f"+5730000{n:05d}",
            whatsapp_opt_in_at=datetime(2026, 1, 1, tzinfo=UTC) if opt_in else None,
        )
        session.add(debtor)
        session.flush()
    row = Account(
        debtor_id=debtor.id or 0,
        reference=f"T-{n:04d}",
        creditor="Financiera Aurora",
        currency="COP",
        principal=Decimal("1000000"),
        due_date=due,
        jurisdiction=country,
        timezone=tz,
        **account,
    )
    session.add(row)
    session.flush()
    return row


def run_plan(engine: Engine, now: datetime) -> list[PlanItem]:
    with engine.connect() as conn:
        return plan(conn, CADENCE, now)[0]


def only(items: list[PlanItem]) -> PlanItem:
    assert len(items) == 1, [i.as_dict() for i in items]
    return items[0]


# -- due steps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_to_due", "step"),
    [
        (7, "due_minus_7"),
        (0, "due_day"),
        (-7, "overdue_7"),
        (-20, "overdue_14"),
        (-90, "overdue_30"),
    ],
)
def test_the_latest_step_reached_is_due(engine: Engine, days_to_due: int, step: str) -> None:
    with session_scope(engine) as s:
        add_account(s, 1, due=TUESDAY.date() + timedelta(days=days_to_due))
    item = only(run_plan(engine, TUESDAY))
    assert (item.step_id, item.action, item.reason) == (step, "send", "contact.ok")


def test_nothing_is_due_more_than_a_week_before(engine: Engine) -> None:
    with session_scope(engine) as s:
        add_account(s, 1, due=TUESDAY.date() + timedelta(days=8))
    assert run_plan(engine, TUESDAY) == []


# -- skip rules ------------------------------------------------------------------------------


def _paid(s: Session, a: Account) -> None:
    a.paid = a.principal
    s.add(a)


def _opted_out(s: Session, a: Account) -> None:
    debtor = s.get(Debtor, a.debtor_id)
    assert debtor is not None
    debtor.opted_out_at = TUESDAY - timedelta(days=1)
    s.add(debtor)


def _stage(stage: Stage) -> Any:
    def apply(s: Session, a: Account) -> None:
        s.add(Conversation(account_id=a.id or 0, stage=stage))

    return apply


def _lawyer(s: Session, a: Account) -> None:
    s.add(ContactStop(debtor_id=a.debtor_id, reason="debtor_has_lawyer"))


def _agreement(s: Session, a: Account) -> None:
    conversation = Conversation(account_id=a.id or 0, stage=Stage.negotiating)
    s.add(conversation)
    s.flush()
    s.add(
        Agreement(
            account_id=a.id or 0,
            conversation_id=conversation.id or 0,
            kind="installments",
            frequency="monthly",
            status=AgreementStatus.active,
            currency="COP",
            balance=a.principal,
            total=a.principal,
            installments_count=3,
            valid_until=TUESDAY.date(),
        )
    )


def _no_opt_in(s: Session, a: Account) -> None:
    debtor = s.get(Debtor, a.debtor_id)
    assert debtor is not None
    debtor.whatsapp_opt_in_at = None
    s.add(debtor)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (_paid, Skip.PAID),
        (_opted_out, Skip.OPTED_OUT),
        (_stage(Stage.opted_out), Skip.OPTED_OUT),
        (_stage(Stage.disputed), Skip.DISPUTED),
        (_stage(Stage.handed_off), Skip.HANDED_OFF),
        (_stage(Stage.wrong_party), Skip.WRONG_PARTY),
        (_lawyer, Skip.LAWYER),
        (_agreement, Skip.AGREEMENT),
        (_no_opt_in, Skip.NO_OPT_IN),
    ],
)
def test_every_skip_rule(engine: Engine, setup: Any, reason: str) -> None:
    with session_scope(engine) as s:
        account = add_account(s, 1, due=TUESDAY.date() - timedelta(days=10))
        setup(s, account)
    item = only(run_plan(engine, TUESDAY))
    assert (item.action, item.reason, item.send_at) == ("skip", reason, None)
    with session_scope(engine) as s:  # a lifted stop lets the cadence go on
        for stop in s.exec(select(ContactStop)).all():
            stop.lifted_at = TUESDAY
            s.add(stop)
    if reason == Skip.LAWYER:
        assert only(run_plan(engine, TUESDAY)).action == "send"


# -- contact rules: windows, holidays, caps --------------------------------------------------


def test_refused_at_2130_in_bogota_is_held_to_0700_the_next_business_day(engine: Engine) -> None:
    with session_scope(engine) as s:
        add_account(s, 1, due=date(2026, 3, 3))
    item = only(run_plan(engine, datetime(2026, 3, 10, 21, 30, tzinfo=BOGOTA)))
    assert (item.action, item.reason, item.rule_ids) == (
        "hold",
        "contact.window",
        ("contact.window", "co.window"),
    )
    assert item.send_at == datetime(2026, 3, 11, 7, 0, tzinfo=BOGOTA)


def test_a_colombian_holiday_moves_the_message_past_it(engine: Engine) -> None:
    holiday = datetime(2026, 3, 23, 10, 0, tzinfo=BOGOTA)  # San José (observed), a Monday
    with session_scope(engine) as s:
        add_account(s, 1, due=date(2026, 3, 16))
    item = only(run_plan(engine, holiday))
    assert (item.action, item.reason) == ("hold", "contact.holiday")
    assert item.send_at == datetime(2026, 3, 24, 7, 0, tzinfo=BOGOTA)


def test_the_daily_cap_holds_across_steps_and_accounts(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = add_account(s, 1, due=TUESDAY.date() - timedelta(days=7))
        debtor = s.get(Debtor, first.debtor_id)
        add_account(s, 2, due=TUESDAY.date() + timedelta(days=7), debtor=debtor)
    sent, held = run_plan(engine, TUESDAY)
    assert (sent.step_id, sent.action) == ("overdue_7", "send")
    assert (held.step_id, held.action, held.reason) == ("due_minus_7", "hold", "contact.cap.daily")
    assert held.send_at == datetime(2026, 3, 11, 7, 0, tzinfo=BOGOTA)


def test_a_template_already_sent_today_counts_toward_the_cap(engine: Engine) -> None:
    with session_scope(engine) as s:
        account = add_account(s, 1, due=TUESDAY.date() - timedelta(days=7))
        conversation = Conversation(account_id=account.id or 0)
        s.add(conversation)
        s.flush()
        s.add(
            Message(
                conversation_id=conversation.id or 0,
                direction="outbound",
                kind="template",
                body="recordatorio de cuota",
                status="delivered",
                created_at=TUESDAY - timedelta(hours=2),
                sent_at=TUESDAY - timedelta(hours=2),
            )
        )
    item = only(run_plan(engine, TUESDAY))
    assert (item.action, item.reason) == ("hold", "contact.cap.daily")


# -- the scheduler ---------------------------------------------------------------------------


@pytest.fixture
def portfolio(engine: Engine) -> Iterator[list[int]]:
    with session_scope(engine) as s:
        ids = [add_account(s, n, due=TUESDAY.date() - timedelta(days=8)).id or 0 for n in range(6)]
    yield ids


def _sends(engine: Engine) -> list[tuple[int, str]]:
    with session_scope(engine) as s:
        return [(r.account_id, r.step_id) for r in s.exec(select(CadenceSend)).all()]


def test_idempotent_across_a_restart_in_the_middle_of_a_run(
    engine: Engine, portfolio: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing = CadenceScheduler(engine, CADENCE, chunk=2, sweep_payments=False)
    original = crashing._queue_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(*args: Any) -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return original(*args)

    monkeypatch.setattr(crashing, "_queue_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        crashing.run_once(TUESDAY)
    assert len(_sends(engine)) == 2  # the first chunk was committed, the second rolled back

    restarted = CadenceScheduler(engine, CADENCE, chunk=2, sweep_payments=False)
    report = restarted.run_once(TUESDAY)
    assert report.queued == 4
    again = restarted.run_once(TUESDAY + timedelta(hours=1))
    assert again.queued == again.held == 0
    sends = _sends(engine)
    assert sorted(sends) == sorted((i, "overdue_7") for i in portfolio)
    with session_scope(engine) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == len(portfolio)


def test_templates_outside_the_window_and_free_text_inside_it(engine: Engine) -> None:
    with session_scope(engine) as s:
        quiet = add_account(s, 1, due=TUESDAY.date() - timedelta(days=7))
        talking = add_account(s, 2, due=TUESDAY.date() - timedelta(days=7))
        s.add(
            Conversation(account_id=talking.id or 0, last_inbound_at=TUESDAY - timedelta(hours=2))
        )
    CadenceScheduler(engine, CADENCE, sweep_payments=False).run_once(TUESDAY)
    with session_scope(engine) as s:
        rows = s.exec(
            select(Conversation.account_id, Message).join(
                Message, Message.conversation_id == Conversation.id
            )
        ).all()
    by_account = {account_id: m for account_id, m in rows}
    template, text = by_account[quiet.id], by_account[talking.id]
    assert template.kind == "template"
    assert template.payload["template"]["name"] == "pacta_saldo_vencido"
    assert template.payload["template"]["language"] == "es"
    assert template.body.startswith("Hola, Persona. Te escribimos de Financiera Aurora")
    assert text.kind == "text" and "template" not in text.payload
    assert text.body == template.body.replace("T-0001", "T-0002")


def test_the_scheduler_spreads_messages_within_its_rate(
    engine: Engine, portfolio: list[int]
) -> None:
    CadenceScheduler(engine, CADENCE, rate_per_second=2.0, sweep_payments=False).run_once(TUESDAY)
    with session_scope(engine) as s:
        times = sorted(m.next_attempt_at for m in s.exec(select(Message)).all())
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert gaps == {0.5}
    assert times[0] == TUESDAY
