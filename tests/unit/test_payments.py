"""Payments: allocation over installments, completion, idempotency, notices and the guard."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import select

from agent.payment_notices import (
    InstallmentFacts,
    Notice,
    NoticeFacts,
    notice_guard_context,
    render_notice,
)
from agent.payments import (
    Due,
    InvalidPaymentError,
    PaymentRequest,
    ReferenceConflictError,
    UnknownAccountError,
    allocate,
    record_payment,
    submit_payment,
)
from agent.store.db import session_scope
from agent.store.models import (
    Account,
    Agreement,
    AuditEvent,
    Conversation,
    Installment,
    Payment,
)
from policies.guard import check
from tests.payments_support import DUES, make_agreement, outbound, pay

D = Decimal


def dues(*amounts: str, paid: tuple[str, ...] = ()) -> list[Due]:
    paid = paid + ("0",) * (len(amounts) - len(paid))
    return [
        Due(n, date(2026, 3, 12) + timedelta(days=30 * (n - 1)), D(a), D(p))
        for n, (a, p) in enumerate(zip(amounts, paid, strict=True), start=1)
    ]


# --- allocation (pure) ---------------------------------------------------------------------------


def test_an_exact_payment_covers_one_installment():
    out = allocate(dues("1600", "1600", "1600"), D("1600"))
    assert out.applied == {1: D("1600")} and out.paid == [1] and out.left == 0


def test_a_partial_payment_leaves_the_installment_open():
    out = allocate(dues("1600", "1600"), D("600"))
    assert out.applied == {1: D("600")} and out.paid == [] and out.left == 0


def test_an_overpayment_carries_to_the_next_installments():
    out = allocate(dues("1600", "1600", "1600"), D("3500"))
    assert out.applied == {1: D("1600"), 2: D("1600"), 3: D("300")}
    assert out.paid == [1, 2] and out.left == 0


def test_money_beyond_the_last_installment_is_left_over():
    out = allocate(dues("1600", "1600"), D("3500.50"))
    assert out.paid == [1, 2] and out.left == D("300.50")


def test_what_was_already_paid_counts_and_due_order_wins_over_numbers():
    installments = [
        Due(2, date(2026, 4, 12), D("1000")),
        Due(1, date(2026, 3, 12), D("1000"), D("700")),
    ]
    out = allocate(installments, D("500"))
    assert out.applied == {1: D("300"), 2: D("200")} and out.paid == [1]


# --- request validation --------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "-5", "10.001", "NaN"])
def test_bad_amounts_are_refused(now, amount):
    with pytest.raises(ValidationError, match="amount"):
        PaymentRequest(account_id="X", amount=amount, paid_at=now, reference="r")


def test_a_naive_paid_at_is_refused():
    with pytest.raises(ValidationError, match="timezone"):
        PaymentRequest(account_id="X", amount="1", paid_at=datetime(2026, 3, 10), reference="r")


def test_a_blank_reference_is_refused(now):
    with pytest.raises(ValidationError, match="reference"):
        PaymentRequest(account_id="X", amount="1", paid_at=now, reference="   ")


def test_future_payments_and_unknown_accounts_are_refused(engine, demo_accounts, now):
    with session_scope(engine) as session:
        with pytest.raises(InvalidPaymentError, match="future"):
            record_payment(session, pay("AUR-MX-0001", "10", now + timedelta(days=1), "f"), now)
        with pytest.raises(UnknownAccountError):
            record_payment(session, pay("AUR-XX-9999", "10", now, "u"), now)
        with pytest.raises(UnknownAccountError):
            record_payment(session, pay(99999, "10", now, "u"), now)
    assert rows(engine, Payment) == []


# --- applying payments ---------------------------------------------------------------------------


def rows(engine, model, **where):
    with session_scope(engine) as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(session.exec(query))


def kinds(engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEvent.kind).order_by(AuditEvent.id)))


def installments(engine, agreement_id):
    found = rows(engine, Installment, agreement_id=agreement_id)
    return [(i.number, i.paid_amount, i.status) for i in sorted(found, key=lambda i: i.number)]


@pytest.fixture
def lucia(engine, demo_accounts, now):
    """AUR-MX-0001 with an active 3 x 1,600 agreement; she wrote an hour ago."""
    agreement_id, conversation_id = make_agreement(
        engine, demo_accounts["AUR-MX-0001"], now, last_inbound_at=now - timedelta(hours=1)
    )
    return agreement_id, conversation_id


def test_an_exact_payment_pays_the_first_installment(engine, lucia, now):
    agreement_id, _ = lucia
    result = submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now).result
    assert result.installments_paid == [1]
    assert (result.allocated, result.unallocated, result.remaining) == (D("1600"), 0, D("3200"))
    assert result.account_balance == D("3200") and result.agreement_status == "active"
    assert installments(engine, agreement_id) == [
        (1, D("1600"), "paid"),
        (2, D("0"), "pending"),
        (3, D("0"), "pending"),
    ]
    [account] = rows(engine, Account, reference="AUR-MX-0001")
    assert account.paid == D("1600") and account.balance == D("3200")
    assert {"payment.received", "installment.paid", "payment.thank_you_queued"} <= set(
        kinds(engine)
    )


def test_partial_payments_accumulate_and_carry_over(engine, lucia, now):
    agreement_id, _ = lucia
    submit_payment(engine, pay("AUR-MX-0001", "600", now, "PAY-1"), now)
    assert installments(engine, agreement_id)[0] == (1, D("600"), "pending")
    assert "installment.partially_paid" in kinds(engine)
    result = submit_payment(engine, pay("AUR-MX-0001", "1200", now, "PAY-2"), now).result
    assert result.installments_paid == [1] and result.remaining == D("3000")
    assert installments(engine, agreement_id) == [
        (1, D("1600"), "paid"),
        (2, D("200"), "pending"),
        (3, D("0"), "pending"),
    ]


def test_the_last_payment_completes_the_agreement_and_settles(engine, lucia, now):
    agreement_id, conversation_id = lucia
    submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now)
    submit_payment(engine, pay("AUR-MX-0001", "1000", now, "PAY-2"), now)
    result = submit_payment(engine, pay("AUR-MX-0001", "2500", now, "PAY-3"), now).result
    assert result.agreement_status == "completed" and result.installments_paid == [2, 3]
    assert result.unallocated == D("300") and result.remaining == 0
    assert result.account_balance == D("-300")  # in the debtor's favour
    [agreement] = rows(engine, Agreement, id=agreement_id)
    assert agreement.status == "completed"
    assert rows(engine, Conversation, id=conversation_id)[0].stage == "settled"
    [completed] = rows(engine, AuditEvent, kind="agreement.completed")
    assert completed.data["surplus"] == "300.00" and completed.agreement_id == agreement_id
    stage = rows(engine, AuditEvent, kind="conversation.stage_changed")
    assert [(e.data["from"], e.data["to"]) for e in stage] == [("agreement_active", "settled")]
    messages = outbound(engine, conversation_id)
    assert len(messages) == 3
    assert "¡Quedaste al día!" in messages[-1].body and "$300" in messages[-1].body


def test_completing_a_discounted_agreement_credits_the_discount(engine, demo_accounts, now):
    # 4,800 owed, settled for 4,320 (10 % off) in one payment.
    make_agreement(
        engine,
        demo_accounts["AUR-MX-0001"],
        now,
        amounts=("4320",),
        dues=(date(2026, 3, 15),),
        discount="480",
    )
    result = submit_payment(engine, pay("AUR-MX-0001", "4320", now, "PAY-1"), now).result
    assert result.agreement_status == "completed" and result.account_balance == 0
    [credit] = rows(engine, AuditEvent, kind="agreement.discount_applied")
    assert credit.data["amount"] == "480.00"


def test_a_replay_changes_nothing_and_returns_the_original(engine, lucia, now):
    agreement_id, conversation_id = lucia
    first = submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now)
    assert first.created
    first = first.result
    events = kinds(engine)
    # The same payment again, named by the account's numeric id this time, a day later.
    again = submit_payment(
        engine, pay(str(first.account_id), "1600.00", now, "PAY-1"), now + timedelta(days=1)
    )
    assert not again.created and again.result == first
    assert kinds(engine) == events
    assert len(rows(engine, Payment)) == 1
    assert len(outbound(engine, conversation_id)) == 1
    assert rows(engine, Account, reference="AUR-MX-0001")[0].paid == D("1600")
    assert installments(engine, agreement_id)[0] == (1, D("1600"), "paid")


def test_a_reference_reused_with_other_details_is_a_conflict(engine, lucia, now):
    submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now)
    with pytest.raises(ReferenceConflictError, match="amount"):
        submit_payment(engine, pay("AUR-MX-0001", "1700", now, "PAY-1"), now)
    with pytest.raises(ReferenceConflictError, match="account"):
        submit_payment(engine, pay("AUR-CO-0002", "1600", now, "PAY-1"), now)
    with pytest.raises(ReferenceConflictError, match="paid_at"):
        submit_payment(engine, pay("AUR-MX-0001", "1600", now - timedelta(hours=1), "PAY-1"), now)
    assert len(rows(engine, Payment)) == 1


def test_the_same_instant_in_another_offset_is_the_same_payment(engine, lucia, now):
    first = submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now).result
    utc = now.astimezone(ZoneInfo("UTC"))
    assert submit_payment(engine, pay("AUR-MX-0001", "1600", utc, "PAY-1"), now).result == first


def test_a_payment_without_an_active_agreement_is_kept_and_credited(engine, demo_accounts, now):
    result = submit_payment(engine, pay("AUR-PE-0003", "700.50", now, "PAY-PE"), now).result
    assert result.agreement_id is None and result.unallocated == D("700.50")
    assert result.thank_you_message_id is None
    [payment] = rows(engine, Payment)
    assert payment.amount == D("700.50") and payment.account_id == demo_accounts["AUR-PE-0003"]
    [account] = rows(engine, Account, reference="AUR-PE-0003")
    assert account.balance == D("2700") - D("700.50")
    assert [k for k in kinds(engine) if not k.startswith("account.")] == [
        "payment.received",
        "payment.unallocated",
    ]


# --- notices and the guard -----------------------------------------------------------------------


def facts(locale="es_MX", currency="MXN", pack="mx", **values) -> NoticeFacts:
    schedule = tuple(
        InstallmentFacts(n, d, D("1600"), D("1600")) for n, d in enumerate(DUES, start=1)
    )
    base = {
        "name": "Lucía",
        "creditor": "Financiera Aurora",
        "reference": "AUR-MX-0001",
        "currency": currency,
        "locale": locale,
        "pack": pack,
        "today": date(2026, 3, 10),
        "installments": schedule,
        "inst": schedule[1],
        "amount": D("1600"),
        "remaining": D("3200"),
    }
    base.update(values)
    return NoticeFacts(**base)


JURISDICTIONS = [
    ("es_MX", "MXN", "mx"),
    ("es_CO", "COP", "co"),
    ("es_PE", "PEN", "pe"),
    ("es_US", "USD", "us"),
]


@pytest.mark.parametrize("notice", list(Notice))
@pytest.mark.parametrize(("locale", "currency", "pack"), JURISDICTIONS)
def test_every_notice_and_template_passes_the_guard(notice, locale, currency, pack):
    f = facts(locale, currency, pack, surplus=D("250.50"))
    rendered = render_notice(notice, f)
    context = notice_guard_context(f, notice)
    assert not rendered.text_fallback
    for text in (rendered.text, rendered.template_body):
        verdict = check(text, context)
        assert verdict.passed, (text, verdict.violations)
    assert rendered.template_parameters and all(rendered.template_parameters)
    if pack == "us":  # Regulation F: every message says how to opt out
        assert "BAJA" in rendered.text and "BAJA" in rendered.template_body


def test_the_notices_say_the_figures_the_debtor_needs():
    thanks = render_notice(Notice.thank_you_progress, facts())
    assert "$1,600" in thanks.text and "12 de abril" in thanks.text and "$3,200" in thanks.text
    done = render_notice(Notice.thank_you_completed, facts(remaining=D(0)))
    assert "¡Quedaste al día!" in done.text
    reminder = render_notice(Notice.reminder, facts())
    assert "12 de abril" in reminder.text and "Financiera Aurora" in reminder.text
    followup = render_notice(Notice.followup, facts())
    assert "ASESOR" in followup.text and "Entendemos" in followup.text


def test_the_guard_context_refuses_figures_the_facts_do_not_hold():
    context = notice_guard_context(facts(), Notice.thank_you_progress)
    assert not check("Recibimos tu pago de $1,700.", context).passed
    assert not check("Tu cuota vence el 20 de abril.", context).passed
    assert check("Recibimos tu pago de $1,600.", context).passed


def test_a_past_due_date_keeps_its_year_and_passes_the_guard():
    late = facts(today=date(2026, 11, 23))  # months after the installment of 12 April
    for notice in (Notice.followup, Notice.thank_you_progress):
        rendered = render_notice(notice, late)
        assert not rendered.text_fallback
        assert "12 de abril de 2026" in rendered.text
        assert "12 de abril de 2026" in rendered.template_body


def test_mandates_without_tracking_settings_get_the_defaults():
    import yaml

    from policies.mandate import MANDATES_DIR, Mandate

    data = yaml.safe_load((MANDATES_DIR / "default.yaml").read_text(encoding="utf-8"))
    data.pop("grace_days"), data.pop("reminder_days_before")
    mandate = Mandate.model_validate(data)
    assert (mandate.grace_days, mandate.reminder_days_before) == (5, 1)
    with pytest.raises(ValidationError, match="grace_days"):
        Mandate.model_validate({**data, "grace_days": -1})


def test_no_thank_you_without_opt_in_outside_the_window(engine, demo_accounts, now):
    # She never opted in and has not written for days: a template may not go to her.
    _, conversation_id = make_agreement(engine, demo_accounts["AUR-MX-0001"], now, opt_in=False)
    result = submit_payment(engine, pay("AUR-MX-0001", "1600", now, "PAY-1"), now).result
    assert result.thank_you_message_id is None and result.installments_paid == [1]
    assert outbound(engine, conversation_id) == []
    [skipped] = rows(engine, AuditEvent, kind="payment.thank_you_skipped")
    assert skipped.data["reason"] == "contact.no_optin"
