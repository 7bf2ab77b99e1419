"""Example-based tests of the policy engine's money math, offers and counteroffer verdicts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.mandate import (
    MANDATES_DIR,
    Mandate,
    MandateError,
    Rule,
    UnsupportedCurrencyError,
    load_mandate,
)
from policies.offers import (
    NothingToSettleError,
    compute_offer,
    due_dates,
    evaluate_counteroffer,
    installment_plan,
    local_today,
    settlement_floor,
    single_payment_plan,
    split_amount,
    to_minor,
)
from policies.plans import (
    AccountSnapshot,
    Counteroffer,
    CounterofferOutcome,
    Frequency,
    PaymentPlan,
    PlanKind,
)

D = Decimal
TODAY = date(2025, 1, 31)  # valid_until 2025-02-05, first due 2025-02-07, last allowed 2026-01-31
MANDATE = load_mandate()


def account(
    balance: str | int, currency: str = "MXN", dpd: int = 200, **kw: Any
) -> AccountSnapshot:
    return AccountSnapshot(
        account_id="A-1",
        creditor="Financiera Aurora",
        currency=currency,
        principal=D(balance),
        days_past_due=dpd,
        **kw,
    )


def custom_mandate(**changes: Any) -> Mandate:
    data = yaml.safe_load((MANDATES_DIR / "default.yaml").read_text())
    data.update(changes)
    return Mandate.model_validate(data)


def amounts(plan: PaymentPlan) -> list[Decimal]:
    return [p.amount for p in plan.schedule]


def dates(plan: PaymentPlan) -> list[date]:
    return [p.due_date for p in plan.schedule]


def evaluate(acct: AccountSnapshot, mandate: Mandate = MANDATE, **counter: Any):
    return evaluate_counteroffer(acct, mandate, TODAY, Counteroffer(**counter))


# -- money math --------------------------------------------------------------------------------


class TestSplit:
    def test_last_installment_absorbs_the_remainder(self) -> None:
        assert split_amount(D("10000.00"), 3, "MXN") == [D("3333.33"), D("3333.33"), D("3333.34")]
        assert split_amount(D("10000"), 6, "MXN") == [D("1666.66")] * 5 + [D("1666.70")]

    def test_exact_division_has_no_remainder(self) -> None:
        assert split_amount(D("900"), 3, "PEN") == [D("300.00")] * 3

    def test_tiny_amounts_never_round_to_zero(self) -> None:
        assert split_amount(D("0.05"), 4, "USD") == [D("0.01"), D("0.01"), D("0.01"), D("0.02")]

    def test_clp_has_no_decimals(self) -> None:
        parts = split_amount(D("100000"), 3, "CLP")
        assert parts == [D("33333"), D("33333"), D("33334")]
        assert all(p.as_tuple().exponent == 0 for p in parts)

    def test_amounts_carry_the_currency_decimals(self) -> None:
        assert [str(p) for p in split_amount(D("10"), 2, "MXN")] == ["5.00", "5.00"]

    def test_sum_is_exact(self) -> None:
        parts = split_amount(D("1234567.89"), 7, "COP")
        assert sum(parts) == D("1234567.89")
        assert parts[-1] - parts[0] < D("0.07")

    def test_rejects_sub_minor_unit_amounts(self) -> None:
        with pytest.raises(ValueError, match="minor unit"):
            split_amount(D("10.001"), 2, "MXN")
        with pytest.raises(ValueError, match="minor unit"):
            to_minor(D("10.5"), "CLP")

    def test_rejects_bad_count(self) -> None:
        with pytest.raises(ValueError):
            split_amount(D("10"), 0, "MXN")


class TestDueDates:
    def test_monthly_clamps_to_month_end_and_returns_to_the_day(self) -> None:
        assert due_dates(date(2025, 1, 31), Frequency.monthly, 4) == [
            date(2025, 1, 31),
            date(2025, 2, 28),
            date(2025, 3, 31),
            date(2025, 4, 30),
        ]

    def test_monthly_leap_year(self) -> None:
        assert due_dates(date(2024, 1, 31), Frequency.monthly, 2)[1] == date(2024, 2, 29)

    def test_monthly_across_year_end(self) -> None:
        assert due_dates(date(2024, 12, 15), Frequency.monthly, 3) == [
            date(2024, 12, 15),
            date(2025, 1, 15),
            date(2025, 2, 15),
        ]

    def test_biweekly_every_14_days(self) -> None:
        assert due_dates(date(2025, 2, 20), Frequency.biweekly, 3) == [
            date(2025, 2, 20),
            date(2025, 3, 6),
            date(2025, 3, 20),
        ]

    def test_once(self) -> None:
        assert due_dates(date(2025, 2, 1), Frequency.once, 1) == [date(2025, 2, 1)]
        with pytest.raises(ValueError):
            due_dates(date(2025, 2, 1), Frequency.once, 2)


class TestPlanBuilders:
    def test_installment_plan(self) -> None:
        plan = installment_plan(
            D("1000"),
            3,
            Frequency.monthly,
            date(2024, 1, 31),
            currency="MXN",
            valid_until=date(2024, 1, 20),
        )
        assert plan.kind is PlanKind.installments
        assert plan.total == plan.balance == D("1000.00")
        assert plan.discount_amount == 0
        assert amounts(plan) == [D("333.33"), D("333.33"), D("333.34")]
        assert dates(plan) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
        assert [p.number for p in plan.schedule] == [1, 2, 3]

    def test_single_payment_effective_pct_rounds_up(self) -> None:
        plan = single_payment_plan(
            D("3000"), D("2000"), date(2025, 2, 1), currency="MXN", valid_until=date(2025, 2, 1)
        )
        assert plan.discount_amount == D("1000.00")
        assert plan.discount_pct == D("33.34")  # 33.333... rounded up: never understated

    def test_single_payment_rejects_understated_pct(self) -> None:
        with pytest.raises(ValueError, match="understates"):
            single_payment_plan(
                D("100"),
                D("80"),
                date(2025, 2, 1),
                currency="MXN",
                valid_until=date(2025, 2, 1),
                discount_pct=D("15"),
            )

    def test_settlement_floor_rounds_up(self) -> None:
        # 1000.05 * 0.65 = 650.0325: the discount rounds down, so the floor rounds up.
        assert settlement_floor(account("1000.05", dpd=200), MANDATE) == D("650.04")
        assert settlement_floor(account("1000", dpd=10), MANDATE) == D("1000.00")

    def test_local_today_uses_the_debtor_time_zone(self) -> None:
        now = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
        assert local_today(account(100), now) == date(2024, 12, 31)
        assert local_today(account(100, timezone="Europe/Madrid"), now) == date(2025, 1, 1)
        with pytest.raises(ValueError):
            local_today(account(100), datetime(2025, 1, 1))


# -- offers ------------------------------------------------------------------------------------


class TestComputeOffer:
    def test_three_options_exact(self) -> None:
        offer = compute_offer(account(10000, dpd=200), MANDATE, TODAY)
        assert offer.valid_until == date(2025, 2, 5)
        assert offer.mandate_id == "default"
        assert offer.balance == D("10000.00")
        assert [o.number for o in offer.options] == [1, 2, 3]

        full = offer.option(1).plan
        assert full.kind is PlanKind.pay_in_full and full.frequency is Frequency.once
        assert (full.discount_pct, full.discount_amount, full.total) == (
            D("35"),
            D("3500.00"),
            D("6500.00"),
        )
        assert dates(full) == [date(2025, 2, 5)]
        assert full.needs_approval  # 35 % > auto-approval 15 %
        assert full.rule_ids == [Rule.DISCOUNT_BAND, Rule.OFFER_VALIDITY, Rule.AUTO_DISCOUNT]

        monthly = offer.option(2).plan
        assert monthly.frequency is Frequency.monthly and monthly.total == D("10000")
        assert amounts(monthly) == [D("3333.33"), D("3333.33"), D("3333.34")]
        assert dates(monthly) == [date(2025, 2, 7), date(2025, 3, 7), date(2025, 4, 7)]
        assert not monthly.needs_approval and monthly.rule_ids == [Rule.DEFAULT_COUNT]

        biweekly = offer.option(3).plan
        assert biweekly.frequency is Frequency.biweekly
        assert amounts(biweekly) == [D("1666.66")] * 5 + [D("1666.70")]
        assert dates(biweekly)[:3] == [date(2025, 2, 7), date(2025, 2, 21), date(2025, 3, 7)]

    @pytest.mark.parametrize(
        ("dpd", "pct", "total", "needs_approval"),
        [
            (0, "0", "10000", False),
            (30, "0", "10000", False),
            (31, "10", "9000", False),
            (90, "10", "9000", False),
            (91, "20", "8000", True),
            (181, "35", "6500", True),
            (1000, "35", "6500", True),
        ],
    )
    def test_pay_in_full_discount_by_band(
        self, dpd: int, pct: str, total: str, needs_approval: bool
    ) -> None:
        plan = compute_offer(account(10000, dpd=dpd), MANDATE, TODAY).option(1).plan
        assert plan.discount_pct == D(pct)
        assert plan.total == D(total)
        assert plan.needs_approval is needs_approval

    def test_small_balance_fewer_installments(self) -> None:
        offer = compute_offer(account(1000), MANDATE, TODAY)
        monthly, biweekly = offer.option(2).plan, offer.option(3).plan
        assert monthly.count == 3  # default, 333.33 >= 300
        assert biweekly.count == 3  # default 6 would be 166.66 < 300
        assert biweekly.rule_ids == [Rule.DEFAULT_COUNT, Rule.MIN_INSTALLMENT]
        assert min(amounts(biweekly)) >= 300

    @pytest.mark.parametrize(("balance", "n_options"), [("500", 1), ("599.99", 1), ("600", 3)])
    def test_balance_below_two_minimum_installments_gets_only_pay_in_full(
        self, balance: str, n_options: int
    ) -> None:
        offer = compute_offer(account(balance), MANDATE, TODAY)
        assert len(offer.options) == n_options
        if n_options == 3:
            assert amounts(offer.option(2).plan) == [D("300.00"), D("300.00")]

    def test_clp(self) -> None:
        offer = compute_offer(account(100000, currency="CLP", dpd=100), MANDATE, TODAY)
        full = offer.option(1).plan
        assert full.total == D("80000") and full.discount_amount == D("20000")
        assert amounts(offer.option(2).plan) == [D("33333"), D("33333"), D("33334")]
        # Default 6 biweekly: 16666 >= the CLP 15000 minimum, so it stands.
        assert amounts(offer.option(3).plan) == [D("16666")] * 5 + [D("16670")]

    def test_clp_balance_with_cents_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="minor unit"):
            compute_offer(account("1000.50", currency="CLP"), MANDATE, TODAY)

    def test_capacity_shapes_counts(self) -> None:
        capacity = Counteroffer(amount=D("1000"), frequency=Frequency.monthly)
        offer = compute_offer(account(10000), MANDATE, TODAY, capacity)
        monthly, biweekly = offer.option(2).plan, offer.option(3).plan
        assert monthly.count == 10 and amounts(monthly) == [D("1000.00")] * 10
        assert monthly.needs_approval
        assert monthly.rule_ids == [
            Rule.DEBTOR_CAPACITY,
            Rule.AUTO_INSTALLMENTS,
            Rule.AUTO_TERM,
        ]
        assert biweekly.count == 20 and biweekly.installment_amount == D("500.00")  # 1000 / 2

    def test_capacity_beyond_mandate_is_clamped(self) -> None:
        capacity = Counteroffer(amount=D("100"))  # per month
        offer = compute_offer(account(10000), MANDATE, TODAY, capacity)
        monthly, biweekly = offer.option(2).plan, offer.option(3).plan
        assert monthly.count == 12 and Rule.MAX_INSTALLMENTS in monthly.rule_ids
        assert biweekly.count == 24 and Rule.MAX_INSTALLMENTS in biweekly.rule_ids

    def test_capacity_pay_date_sets_first_due(self) -> None:
        today = date(2024, 1, 24)
        capacity = Counteroffer(amount=D("4000"), pay_date=date(2024, 1, 31))
        monthly = compute_offer(account(10000), MANDATE, today, capacity).option(2).plan
        assert dates(monthly) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
        assert Rule.DEBTOR_PAY_DATE in monthly.rule_ids

    def test_capacity_pay_date_outside_window_is_ignored(self) -> None:
        capacity = Counteroffer(amount=D("4000"), pay_date=date(2025, 3, 31))
        monthly = compute_offer(account(10000), MANDATE, TODAY, capacity).option(2).plan
        assert monthly.first_due == date(2025, 2, 7)
        assert Rule.FIRST_PAYMENT in monthly.rule_ids

    def test_max_term_reduces_count(self) -> None:
        mandate = custom_mandate(
            max_term_days=60,
            auto_approval={
                "max_discount_pct": 15,
                "max_installments": {"monthly": 6, "biweekly": 12},
                "max_term_days": 60,
            },
        )
        offer = compute_offer(account(10000), mandate, TODAY)
        monthly = offer.option(2).plan
        assert monthly.count == 2  # Feb 7, Mar 7; Apr 7 is 66 days out
        assert monthly.rule_ids == [Rule.DEFAULT_COUNT, Rule.MAX_TERM]
        assert offer.option(3).plan.count == 4  # Feb 7 + 3 * 14 days = Mar 21 (49 days)

    @pytest.mark.parametrize("paid", ["10000", "12000"])
    def test_nothing_to_settle(self, paid: str) -> None:
        with pytest.raises(NothingToSettleError, match="nothing to settle"):
            compute_offer(account(10000, paid=D(paid)), MANDATE, TODAY)
        with pytest.raises(ValueError):
            evaluate(account(10000, paid=D(paid)), count=3)

    def test_unknown_currency(self) -> None:
        with pytest.raises(UnsupportedCurrencyError, match=r"mandate\.currency.*BRL"):
            compute_offer(account(10000, currency="BRL"), MANDATE, TODAY)

    def test_deterministic(self) -> None:
        a = compute_offer(account("12345.67", dpd=95), MANDATE, TODAY)
        b = compute_offer(account("12345.67", dpd=95), MANDATE, TODAY)
        assert a == b


# -- counteroffers -----------------------------------------------------------------------------


class TestCounteroffer:
    def test_count_acceptable(self) -> None:
        v = evaluate(account(10000), count=6)
        assert v.outcome is CounterofferOutcome.acceptable and v.reasons == []
        assert v.plan.count == 6 and v.plan.frequency is Frequency.monthly
        assert amounts(v.plan) == [D("1666.66")] * 5 + [D("1666.70")]

    def test_amount_per_month_needs_approval(self) -> None:
        v = evaluate(account(10000), amount=D("1000"), frequency=Frequency.monthly)
        assert v.outcome is CounterofferOutcome.needs_approval
        assert v.reasons == [Rule.AUTO_INSTALLMENTS, Rule.AUTO_TERM]
        assert v.plan.count == 10 and v.plan.needs_approval

    def test_amount_per_month_acceptable(self) -> None:
        v = evaluate(account(10000), amount=D("2000"), frequency=Frequency.monthly)
        assert v.outcome is CounterofferOutcome.acceptable
        assert amounts(v.plan) == [D("2000.00")] * 5

    def test_amount_below_minimum_installment(self) -> None:
        v = evaluate(account(1000), amount=D("200"), frequency=Frequency.monthly)
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.MIN_INSTALLMENT]
        assert v.plan is None
        assert amounts(v.closest) == [D("333.33"), D("333.33"), D("333.34")]

    def test_amount_too_small_for_max_count(self) -> None:
        v = evaluate(account(10000), amount=D("500"), frequency=Frequency.monthly)
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.MAX_INSTALLMENTS, Rule.MAX_TERM]  # 20 months
        assert v.closest.count == 12 and v.closest.installment_amount == D("833.33")
        assert v.closest.needs_approval

    def test_count_beyond_max(self) -> None:
        v = evaluate(account(10000), count=13)
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.MAX_INSTALLMENTS, Rule.MAX_TERM]  # 13th due 2026-02-07
        assert v.closest.count == 12 and v.closest.last_due == date(2026, 1, 7)

    def test_count_beyond_max_biweekly(self) -> None:
        v = evaluate(account(100000), count=25, frequency=Frequency.biweekly)
        assert v.reasons == [Rule.MAX_INSTALLMENTS]  # 25th due 2026-01-08, within the term
        assert v.closest.count == 24

    def test_count_with_amount_takes_the_larger(self) -> None:
        # "500 al mes en 6 cuotas" on 6000: 6 cuotas would be 1000, above what they can pay.
        v = evaluate(account(6000), amount=D("500"), count=6)
        assert v.plan.count == 12 and v.plan.installment_amount == D("500.00")

    def test_count_with_amount_keeps_a_larger_count(self) -> None:
        v = evaluate(account(3000), amount=D("1500"), count=4)
        assert v.plan.count == 4

    def test_biweekly_amount(self) -> None:
        v = evaluate(account(3000), amount=D("600"), frequency=Frequency.biweekly)
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.frequency is Frequency.biweekly and v.plan.count == 5
        assert dates(v.plan)[1] == date(2025, 2, 21)

    def test_amount_with_pay_date_as_first_due(self) -> None:
        v = evaluate(account(10000), amount=D("2000"), pay_date=date(2025, 2, 10))
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.first_due == date(2025, 2, 10) and v.plan.count == 5

    def test_pay_date_beyond_first_payment_window(self) -> None:
        v = evaluate(account(10000), amount=D("2000"), pay_date=date(2025, 2, 20))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.FIRST_PAYMENT]
        assert v.closest.first_due == date(2025, 2, 15)  # today + 15
        assert v.closest.count == 5

    def test_frequency_not_allowed(self) -> None:
        mandate = custom_mandate(
            installments={"monthly": {"max_count": 12, "default_count": 3}},
            auto_approval={
                "max_discount_pct": 15,
                "max_installments": {"monthly": 6},
                "max_term_days": 180,
            },
        )
        v = evaluate(account(10000), mandate, amount=D("1000"), frequency=Frequency.biweekly)
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.FREQUENCY]
        assert v.closest.frequency is Frequency.monthly
        assert v.closest.installment_amount == D("2000.00")  # 1000 biweekly = 2000 monthly

    def test_no_installment_fits_closest_is_pay_in_full(self) -> None:
        v = evaluate(account(500), count=2)
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.MIN_INSTALLMENT]
        assert v.closest.kind is PlanKind.pay_in_full
        assert v.closest.total == D("325.00")  # 35 % off

    # lump sums

    def test_lump_sum_within_auto_approval(self) -> None:
        v = evaluate(account(10000, dpd=200), amount=D("9000"))
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.kind is PlanKind.pay_in_full
        assert (v.plan.total, v.plan.discount_amount, v.plan.discount_pct) == (
            D("9000.00"),
            D("1000.00"),
            D("10.00"),
        )
        assert v.plan.first_due == date(2025, 2, 5)

    def test_lump_sum_needs_approval(self) -> None:
        v = evaluate(account(10000, dpd=200), amount=D("7000"))
        assert v.outcome is CounterofferOutcome.needs_approval
        assert v.reasons == [Rule.AUTO_DISCOUNT]
        assert v.plan.discount_pct == D("30.00")

    def test_lump_sum_below_floor(self) -> None:
        v = evaluate(account(10000, dpd=200), amount=D("6000"))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.FLOOR]
        assert v.closest.total == D("6500.00") and v.closest.discount_pct == D("35")

    def test_lump_sum_below_floor_with_no_discount_band(self) -> None:
        v = evaluate(account(10000, dpd=10), amount=D("9000"))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.FLOOR]
        assert v.closest.total == D("10000.00") and v.closest.discount_amount == 0

    def test_lump_sum_with_discount_after_validity(self) -> None:
        v = evaluate(account(10000, dpd=200), amount=D("9000"), pay_date=date(2025, 2, 20))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.OFFER_VALIDITY]
        assert v.closest.total == D("9000.00") and v.closest.first_due == date(2025, 2, 5)

    def test_lump_sum_once(self) -> None:
        v = evaluate(account(10000, dpd=200), amount=D("3000"), frequency=Frequency.once)
        assert v.outcome is CounterofferOutcome.infeasible and v.reasons == [Rule.FLOOR]

    def test_amount_without_frequency_half_or_less_is_monthly(self) -> None:
        v = evaluate(account(10000, dpd=0), amount=D("5000"))
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.kind is PlanKind.installments and v.plan.count == 2

    def test_amount_without_frequency_above_half_is_lump_sum(self) -> None:
        v = evaluate(account(10000, dpd=0), amount=D("5001"))
        assert v.outcome is CounterofferOutcome.infeasible and v.reasons == [Rule.FLOOR]

    def test_amount_per_month_covering_the_balance_is_one_payment(self) -> None:
        v = evaluate(account(10000), amount=D("20000"), frequency=Frequency.monthly)
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.kind is PlanKind.pay_in_full and v.plan.total == D("10000.00")
        assert v.plan.rule_ids == [Rule.DEBTOR_CAPACITY]

    def test_zero_amount_is_infeasible(self) -> None:
        v = evaluate(account(10000), amount=D("0"))
        assert v.outcome is CounterofferOutcome.infeasible
        assert Rule.MIN_INSTALLMENT in v.reasons and v.closest.count == 12

    # pay date only

    def test_pay_date_within_validity_gets_the_discount(self) -> None:
        v = evaluate(account(10000, dpd=60), pay_date=date(2025, 2, 3))
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.total == D("9000.00") and v.plan.first_due == date(2025, 2, 3)

    def test_pay_date_after_validity_is_full_balance(self) -> None:
        v = evaluate(account(10000, dpd=60), pay_date=date(2025, 3, 15))
        assert v.outcome is CounterofferOutcome.acceptable
        assert v.plan.total == D("10000.00") and v.plan.discount_amount == 0
        assert v.plan.valid_until == date(2025, 3, 15)

    def test_pay_date_beyond_auto_term(self) -> None:
        v = evaluate(account(10000, dpd=60), pay_date=date(2025, 9, 1))
        assert v.outcome is CounterofferOutcome.needs_approval
        assert v.reasons == [Rule.AUTO_TERM]

    def test_pay_date_beyond_max_term(self) -> None:
        v = evaluate(account(10000, dpd=60), pay_date=date(2026, 3, 1))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.MAX_TERM]
        assert v.closest.first_due == date(2026, 1, 31)  # the latest allowed date
        assert v.closest.total == D("10000.00")

    def test_pay_date_in_the_past(self) -> None:
        v = evaluate(account(10000, dpd=60), pay_date=date(2025, 1, 15))
        assert v.outcome is CounterofferOutcome.infeasible
        assert v.reasons == [Rule.FIRST_PAYMENT]
        assert v.closest.first_due == TODAY and v.closest.total == D("9000.00")

    def test_frequency_only_gets_default_count(self) -> None:
        v = evaluate(account(10000), frequency=Frequency.biweekly)
        assert v.plan.count == 6 and v.plan.frequency is Frequency.biweekly

    def test_once_only_is_the_offer_pay_in_full(self) -> None:
        v = evaluate(account(10000, dpd=60), frequency=Frequency.once)
        assert v.plan == compute_offer(account(10000, dpd=60), MANDATE, TODAY).option(1).plan

    def test_bad_counteroffers(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            evaluate(account(10000))
        with pytest.raises(ValueError, match="count"):
            evaluate(account(10000), count=0)


# -- mandate loading ---------------------------------------------------------------------------


class TestMandate:
    def test_default(self) -> None:
        m = load_mandate()
        assert m.id == "default" and m.creditor == "Financiera Aurora"
        assert m.offer_validity_days == 5
        assert [m.max_discount_pct(d) for d in (0, 30, 31, 90, 91, 180, 181, 5000)] == [
            D(x) for x in ("0", "0", "10", "10", "20", "20", "35", "35")
        ]
        assert list(m.installments) == [Frequency.monthly, Frequency.biweekly]
        assert m.installments[Frequency.biweekly].max_count == 24
        assert m.min_installment_for("clp") == D("15000")
        assert m.auto_approval.max_installments[Frequency.monthly] == 6

    def test_load_by_path(self, tmp_path: Path) -> None:
        data = yaml.safe_load((MANDATES_DIR / "default.yaml").read_text())
        data |= {"id": "other", "offer_validity_days": 3}
        path = tmp_path / "other.yaml"
        path.write_text(yaml.safe_dump(data))
        m = load_mandate(str(path))
        assert (m.id, m.offer_validity_days) == ("other", 3)

    def test_float_percent_keeps_written_digits(self) -> None:
        m = custom_mandate(
            auto_approval={
                "max_discount_pct": 12.5,
                "max_installments": {"monthly": 6, "biweekly": 12},
                "max_term_days": 180,
            }
        )
        assert m.auto_approval.max_discount_pct == D("12.5")

    def test_unknown_currency(self) -> None:
        with pytest.raises(UnsupportedCurrencyError, match="BRL"):
            MANDATE.min_installment_for("BRL")

    def test_negative_dpd(self) -> None:
        with pytest.raises(ValueError):
            MANDATE.max_discount_pct(-1)

    def test_missing(self) -> None:
        with pytest.raises(MandateError, match=r"not found.*available: .*default"):
            load_mandate("nope")

    def test_not_yaml(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.yaml"
        path.write_text("id: [unclosed\n")
        with pytest.raises(MandateError, match="not valid YAML"):
            load_mandate(str(path))

    def test_not_a_mapping(self, tmp_path: Path) -> None:
        path = tmp_path / "list.yaml"
        path.write_text("- 1\n- 2\n")
        with pytest.raises(MandateError, match="mapping"):
            load_mandate(str(path))

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                {
                    "discount_bands": [
                        {"min_dpd": 0, "max_dpd": 30, "max_discount_pct": 0},
                        {"min_dpd": 40, "max_discount_pct": 10},
                    ]
                },
                "contiguous",
            ),
            ({"discount_bands": [{"min_dpd": 5, "max_discount_pct": 0}]}, "start at 0"),
            (
                {"discount_bands": [{"min_dpd": 0, "max_dpd": 9, "max_discount_pct": 0}]},
                "open-ended",
            ),
            ({"discount_bands": [{"min_dpd": 0, "max_discount_pct": 100}]}, "< 100"),
            ({"discount_bands": [{"min_dpd": 0, "max_discount_pct": "10.125"}]}, "2 decimals"),
            (
                {"installments": {"monthly": {"max_count": 3, "default_count": 6}}},
                "default_count 6 exceeds max_count 3",
            ),
            ({"min_installment": {"XYZ": 10}}, "XYZ"),
            ({"min_installment": {"CLP": "10.5"}}, "minor unit"),
            ({"min_installment": {"MXN": 0}}, "> 0"),
            ({"max_term_day": 10}, "max_term_day"),  # typo: extra fields are forbidden
            ({"first_payment_lead_days": 30}, "first_payment_lead_days"),
            ({"creditor": ""}, "creditor"),
        ],
    )
    def test_invalid(self, tmp_path: Path, change: dict[str, Any], message: str) -> None:
        data = yaml.safe_load((MANDATES_DIR / "default.yaml").read_text())
        data.update(change)
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(MandateError) as info:
            load_mandate(str(path))
        assert str(path) in str(info.value)
        assert message in str(info.value)

    def test_auto_approval_must_match_installments(self) -> None:
        with pytest.raises(ValueError, match="exactly the installment frequencies"):
            custom_mandate(
                auto_approval={
                    "max_discount_pct": 15,
                    "max_installments": {"monthly": 6},
                    "max_term_days": 180,
                }
            )
        with pytest.raises(ValueError, match="exceeds"):
            custom_mandate(
                auto_approval={
                    "max_discount_pct": 15,
                    "max_installments": {"monthly": 13, "biweekly": 12},
                    "max_term_days": 180,
                }
            )
