"""Property tests: no offer or verdict ever breaks the mandate, and the money always adds up."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from policies.mandate import MANDATES_DIR, MINOR_UNITS, Mandate, Rule, load_mandate
from policies.offers import compute_offer, due_dates, evaluate_counteroffer
from policies.plans import (
    AccountSnapshot,
    Counteroffer,
    CounterofferOutcome,
    CounterofferVerdict,
    Frequency,
    PaymentPlan,
    PlanKind,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _variant(**changes: Any) -> Mandate:
    data = yaml.safe_load((MANDATES_DIR / "default.yaml").read_text())
    data.update(changes)
    return Mandate.model_validate(data)


MANDATES = [
    load_mandate(),
    # A tight one, where the maximum term and the first-payment window bind.
    _variant(
        id="tight",
        offer_validity_days=3,
        max_term_days=100,
        first_payment_within_days=10,
        first_payment_lead_days=10,
        discount_bands=[
            {"min_dpd": 0, "max_dpd": 60, "max_discount_pct": "7.5"},
            {"min_dpd": 61, "max_discount_pct": "12.25"},
        ],
        installments={
            "biweekly": {"max_count": 10, "default_count": 4},
            "monthly": {"max_count": 6, "default_count": 4},
        },
        auto_approval={
            "max_discount_pct": 10,
            "max_installments": {"biweekly": 5, "monthly": 2},
            "max_term_days": 45,
        },
    ),
    # Monthly only, generous discounts.
    _variant(
        id="monthly_only",
        discount_bands=[{"min_dpd": 0, "max_discount_pct": "60"}],
        installments={"monthly": {"max_count": 24, "default_count": 12}},
        auto_approval={
            "max_discount_pct": 0,
            "max_installments": {"monthly": 24},
            "max_term_days": 365,
        },
        max_term_days=730,
    ),
]
CURRENCIES = sorted(MINOR_UNITS)


@st.composite
def accounts(draw: st.DrawFn) -> tuple[AccountSnapshot, Mandate]:
    mandate = draw(st.sampled_from(MANDATES))
    currency = draw(st.sampled_from(CURRENCIES))
    exponent = MINOR_UNITS[currency]
    min_minor = int(mandate.min_installment[currency].scaleb(exponent))
    top = 10_000_000 * 10**exponent  # 10,000,000.00 (CLP: 10,000,000)
    # Log-uniform from 1 to 10,000,000 (in currency units, with cents), plus the region around
    # the minimum-installment thresholds, where counts get cut and options disappear.
    low = draw(st.sampled_from([exponent, len(str(2 * min_minor)) - 1]))  # half: installable
    digits = draw(st.integers(low, len(str(top)) - 1))
    minor = draw(
        st.one_of(
            st.integers(10**digits, min(10 ** (digits + 1), top)),
            st.integers(max(1, min_minor - 10), 50 * min_minor),
            st.sampled_from([2 * min_minor - 1, 2 * min_minor, 3 * min_minor + 1]),
        )
    )
    balance = Decimal(minor).scaleb(-exponent)
    interest = Decimal(draw(st.integers(0, minor))).scaleb(-exponent)  # principal + interest
    acct = AccountSnapshot(
        account_id="P",
        creditor="Financiera Aurora",
        currency=currency,
        principal=balance - interest,
        interest=interest,
        days_past_due=draw(st.integers(0, 1000)),
    )
    return acct, mandate


todays = st.dates(date(2020, 1, 1), date(2035, 12, 31))


@st.composite
def counteroffers(draw: st.DrawFn, acct: AccountSnapshot, today: date) -> Counteroffer:
    exponent = MINOR_UNITS[acct.currency]
    balance_minor = int(acct.balance.scaleb(exponent))
    amount_minor = draw(
        st.none()
        | st.integers(0, 200).map(lambda pct: balance_minor * pct // 100)  # a share of it
        | st.integers(1, 30).map(lambda n: balance_minor // n)  # "n installments' worth"
        | st.integers(-100, 100)
    )
    counter = Counteroffer(
        amount=None if amount_minor is None else Decimal(amount_minor).scaleb(-exponent),
        frequency=draw(st.sampled_from([None, *Frequency])),
        count=draw(st.none() | st.integers(1, 12) | st.integers(1, 40)),
        pay_date=draw(
            st.none()
            | st.none()
            | st.integers(-2, 20).map(lambda d: today + timedelta(d))
            | st.integers(-10, 800).map(lambda d: today + timedelta(d))
        ),
    )
    if (
        counter.amount is None
        and counter.count is None
        and counter.pay_date is None
        and counter.frequency is None
    ):
        counter = counter.model_copy(update={"count": 3})
    return counter


def q(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def check_plan(plan: PaymentPlan, acct: AccountSnapshot, mandate: Mandate, today: date) -> None:
    """Every invariant a plan must satisfy, whoever produced it."""
    currency = acct.currency
    balance = acct.balance
    band = mandate.max_discount_pct(acct.days_past_due)
    floor = balance - (balance * band / 100).quantize(q(currency), rounding="ROUND_DOWN")
    auto = mandate.auto_approval
    term = (plan.last_due - today).days

    # Money adds up, exactly, in the currency's minor unit.
    assert plan.balance == balance
    assert sum(p.amount for p in plan.schedule) == plan.total
    assert plan.total == balance - plan.discount_amount
    assert floor <= plan.total <= balance
    assert plan.total >= balance * (1 - band / 100)  # the floor, unrounded
    for p in plan.schedule:
        assert p.amount > 0
        assert p.amount == p.amount.quantize(q(currency))
    assert [p.number for p in plan.schedule] == list(range(1, plan.count + 1))

    # Discount within the band, never understated, and only on a single payment.
    assert plan.discount_amount >= 0
    assert plan.discount_pct <= band
    assert plan.discount_amount * 100 <= balance * plan.discount_pct
    assert (plan.discount_pct > 0) == (plan.discount_amount > 0)

    # Dates strictly increasing, from today, within the maximum term.
    due = [p.due_date for p in plan.schedule]
    assert all(a < b for a, b in pairwise(due))
    assert due[0] >= today
    assert term <= mandate.max_term_days
    assert plan.valid_until >= today

    if plan.kind is PlanKind.installments:
        assert plan.frequency in mandate.installments
        assert 2 <= plan.count <= mandate.installments[plan.frequency].max_count
        assert plan.discount_amount == 0
        assert plan.first_due <= today + timedelta(days=mandate.first_payment_within_days)
        minimum = mandate.min_installment[currency]
        regular = plan.schedule[0].amount
        assert all(p.amount == regular for p in plan.schedule[:-1])
        assert regular >= minimum
        assert 0 <= plan.schedule[-1].amount - regular < plan.count * q(currency)
        step = (due[1] - due[0]).days
        if plan.frequency is Frequency.biweekly:
            assert all((b - a).days == 14 for a, b in pairwise(due))
        else:
            assert 28 <= step <= 31
            # Same day of month as the first, clamped to the month's end.
            assert all(d.day == min(due[0].day, monthrange(d.year, d.month)[1]) for d in due)
    else:
        assert plan.kind is PlanKind.pay_in_full and plan.frequency is Frequency.once
        assert plan.count == 1
        if plan.discount_amount > 0:  # a discount is only for paying within the validity
            assert plan.first_due <= today + timedelta(days=mandate.offer_validity_days)
        assert plan.valid_until >= plan.first_due

    # Approval: exactly when beyond an auto-approval limit, and the plan says which.
    expected = set()
    if plan.discount_pct > auto.max_discount_pct:
        expected.add(Rule.AUTO_DISCOUNT)
    if plan.discount_amount * 100 > balance * auto.max_discount_pct:  # in money, too
        assert Rule.AUTO_DISCOUNT in expected
    if plan.kind is PlanKind.installments and plan.count > auto.max_installments[plan.frequency]:
        expected.add(Rule.AUTO_INSTALLMENTS)
    if term > auto.max_term_days:
        expected.add(Rule.AUTO_TERM)
    assert plan.needs_approval == bool(expected)
    assert {r for r in plan.rule_ids if r in Rule.AUTO_APPROVAL} == expected
    assert len(plan.rule_ids) == len(set(plan.rule_ids))


def check_verdict(
    v: CounterofferVerdict, acct: AccountSnapshot, mandate: Mandate, today: date
) -> None:
    if v.outcome is CounterofferOutcome.infeasible:
        assert v.plan is None and v.closest is not None
        assert v.reasons and not set(v.reasons) & Rule.AUTO_APPROVAL
        assert all(r.startswith("mandate.") for r in v.reasons)
        check_plan(v.closest, acct, mandate, today)
    else:
        assert v.plan is not None and v.closest is None
        check_plan(v.plan, acct, mandate, today)
        assert (v.outcome is CounterofferOutcome.needs_approval) == v.plan.needs_approval
        assert v.reasons == [r for r in v.plan.rule_ids if r in Rule.AUTO_APPROVAL]


@SETTINGS
@given(data=accounts(), today=todays)
def test_offer_respects_the_mandate(data: tuple[AccountSnapshot, Mandate], today: date) -> None:
    acct, mandate = data
    offer = compute_offer(acct, mandate, today)
    assert 1 <= len(offer.options) <= 3
    assert [o.number for o in offer.options] == list(range(1, len(offer.options) + 1))
    assert offer.valid_until == today + timedelta(days=mandate.offer_validity_days)
    for option in offer.options:
        check_plan(option.plan, acct, mandate, today)
    event(f"{mandate.id}: {len(offer.options)} options")
    for option in offer.options[1:]:
        event(f"rules: {','.join(option.plan.rule_ids)}")

    full = offer.options[0].plan
    assert full.kind is PlanKind.pay_in_full
    assert full.first_due == offer.valid_until
    band = mandate.max_discount_pct(acct.days_past_due)
    assert full.discount_pct in (band, Decimal(0))  # the band max (0 if it rounds to nothing)

    # One installment option per frequency where two installments fit, in the mandate's order.
    frequencies = [o.plan.frequency for o in offer.options[1:]]
    assert frequencies == [f for f in mandate.installments if f in frequencies]
    minimum = mandate.min_installment[acct.currency]
    for frequency in mandate.installments:
        if acct.balance < 2 * minimum:
            assert frequency not in frequencies
    for option in offer.options[1:]:
        plan = option.plan
        default = mandate.installments[plan.frequency].default_count
        assert plan.count <= default
        if plan.count < default:  # reduced: the next count would break a cited rule
            assert {Rule.MIN_INSTALLMENT, Rule.MAX_TERM} & set(plan.rule_ids)


@SETTINGS
@given(data=st.data(), acct_mandate=accounts(), today=todays)
def test_offer_with_capacity_respects_the_mandate(
    data: st.DataObject, acct_mandate: tuple[AccountSnapshot, Mandate], today: date
) -> None:
    acct, mandate = acct_mandate
    capacity = data.draw(counteroffers(acct, today))
    offer = compute_offer(acct, mandate, today, capacity)
    assert 1 <= len(offer.options) <= 3
    for option in offer.options:
        check_plan(option.plan, acct, mandate, today)
    if capacity.amount is None or capacity.count is not None:
        return
    periodic = (Frequency.monthly, Frequency.biweekly)
    stated = capacity.frequency if capacity.frequency in periodic else Frequency.monthly
    unit = q(acct.currency)
    for option in offer.options[1:]:
        plan = option.plan
        # What they can pay per period of this plan: biweekly = monthly / 2.
        per_period = max(capacity.amount, Decimal(0)).quantize(unit, rounding="ROUND_DOWN")
        if plan.frequency is not stated:
            if plan.frequency is Frequency.biweekly:
                per_period = (per_period / 2).quantize(unit, rounding="ROUND_DOWN")
            else:
                per_period *= 2
        clamped = {Rule.MAX_INSTALLMENTS, Rule.MIN_INSTALLMENT, Rule.MAX_TERM} & set(plan.rule_ids)
        if not clamped:  # the smallest count whose installment fits what they can pay
            assert plan.installment_amount <= per_period
            if plan.count > 2:
                fewer = (acct.balance / (plan.count - 1)).quantize(unit, rounding="ROUND_DOWN")
                assert fewer > per_period
        else:  # the largest count the mandate allows, and it does not fit
            assert plan.installment_amount > per_period


@SETTINGS
@given(data=st.data(), acct_mandate=accounts(), today=todays)
def test_counteroffer_verdicts_respect_the_mandate(
    data: st.DataObject, acct_mandate: tuple[AccountSnapshot, Mandate], today: date
) -> None:
    acct, mandate = acct_mandate
    counter = data.draw(counteroffers(acct, today))
    v = evaluate_counteroffer(acct, mandate, today, counter)
    event(f"{mandate.id}: {v.outcome.value} {(v.plan or v.closest).kind.value}")
    event(f"reasons: {','.join(v.reasons)}")
    check_verdict(v, acct, mandate, today)
    assert v == evaluate_counteroffer(acct, mandate, today, counter)  # deterministic

    plan = v.plan
    if plan is None:
        return
    # What was accepted honours what the debtor said.
    if counter.pay_date is not None:
        assert plan.first_due == counter.pay_date
    if plan.kind is PlanKind.installments:
        if counter.count is not None and counter.frequency in (None, plan.frequency):
            assert plan.count >= counter.count
        if counter.amount is not None and Rule.DEBTOR_CAPACITY in plan.rule_ids:
            assert plan.installment_amount <= counter.amount
    elif Rule.DEBTOR_LUMP_SUM in plan.rule_ids:
        assert plan.total == min(counter.amount, acct.balance)


@SETTINGS
@given(acct_mandate=accounts(), today=todays, extra=st.integers(1, 400))
def test_lump_sums_at_or_above_the_floor_within_validity_are_feasible(
    acct_mandate: tuple[AccountSnapshot, Mandate], today: date, extra: int
) -> None:
    acct, mandate = acct_mandate
    offer = compute_offer(acct, mandate, today)
    floor = offer.options[0].plan.total
    amount = min(floor + extra * q(acct.currency), acct.balance)
    v = evaluate_counteroffer(
        acct, mandate, today, Counteroffer(amount=amount, frequency=Frequency.once)
    )
    assert v.outcome is not CounterofferOutcome.infeasible
    assert v.plan.total == amount
    below = floor - q(acct.currency)
    if below > 0:
        v = evaluate_counteroffer(
            acct, mandate, today, Counteroffer(amount=below, frequency=Frequency.once)
        )
        assert v.outcome is CounterofferOutcome.infeasible and v.reasons == [Rule.FLOOR]
        assert v.closest.total == floor


@SETTINGS
@given(
    acct_mandate=accounts(),
    today=todays,
    frequency=st.sampled_from([Frequency.monthly, Frequency.biweekly]),
    count=st.integers(2, 30),
    lead=st.none() | st.integers(0, 15),
    use_amount=st.booleans(),
)
def test_installment_counts_are_honoured_up_to_the_mandate_limit(
    acct_mandate: tuple[AccountSnapshot, Mandate],
    today: date,
    frequency: Frequency,
    count: int,
    lead: int | None,
    use_amount: bool,
) -> None:
    """An independent oracle for the largest allowed count, and the approval flags."""
    acct, mandate = acct_mandate
    if frequency not in mandate.installments:
        return
    lead = min(lead, mandate.first_payment_within_days) if lead is not None else None
    pay_date = None if lead is None else today + timedelta(days=lead)
    first_due = pay_date or today + timedelta(days=mandate.first_payment_lead_days)
    last_allowed = today + timedelta(days=mandate.max_term_days)
    by_term = sum(1 for d in due_dates(first_due, frequency, 60) if d <= last_allowed)
    n_max = min(
        mandate.installments[frequency].max_count,
        int(acct.balance // mandate.min_installment[acct.currency]),
        by_term,
    )
    if use_amount:  # "puedo X por periodo", X = the regular installment of `count`
        amount = (acct.balance / count).quantize(q(acct.currency), rounding="ROUND_DOWN")
        counter = Counteroffer(amount=amount, frequency=frequency, pay_date=pay_date)
        if amount >= acct.balance or amount <= 0:
            return
    else:  # "en N cuotas"
        counter = Counteroffer(count=count, frequency=frequency, pay_date=pay_date)
    v = evaluate_counteroffer(acct, mandate, today, counter)
    check_verdict(v, acct, mandate, today)
    if count <= n_max:
        assert v.outcome is not CounterofferOutcome.infeasible
        assert v.plan.count == count and v.plan.first_due == first_due
        within_auto = (
            count <= mandate.auto_approval.max_installments[frequency]
            and (v.plan.last_due - today).days <= mandate.auto_approval.max_term_days
        )
        assert (v.outcome is CounterofferOutcome.acceptable) == within_auto
        event(f"{v.outcome.value}")
    else:
        assert v.outcome is CounterofferOutcome.infeasible
        if n_max >= 2:
            assert v.closest.kind is PlanKind.installments
            assert v.closest.count == n_max and v.closest.frequency is frequency
        else:
            assert v.closest == compute_offer(acct, mandate, today).options[0].plan.model_copy(
                update={"rule_ids": v.closest.rule_ids}
            )
        event(f"infeasible, closest {v.closest.kind.value}")
