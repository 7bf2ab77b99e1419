"""Offers and counteroffer verdicts: every amount, date and discount the agent may mention.

The policy engine decides every number; the agent only words them. Everything here is pure,
deterministic and exact:

* Money is `Decimal`, computed internally in integer minor units (cents; pesos for CLP). An
  account balance must be an exact amount of the currency's minor unit (`MINOR_UNITS`).
* Installments split a total with the regular installment rounded DOWN to the minor unit; the
  LAST installment absorbs the remainder (so it is >= the others, by less than `count` minor
  units). Every installment is therefore >= the regular one, which is what the minimum
  installment is checked against.
* Discounts are rounded DOWN to the minor unit, so no total ever falls below the floor
  `balance * (1 - band max discount)`. A plan's `discount_pct` is never understated:
  `discount_amount <= balance * discount_pct / 100` always holds (the band percent for a plan at
  the floor; otherwise the effective percent rounded UP to 2 decimals).
* Dates are calendar dates in the debtor's time zone (see `local_today`). Monthly installments
  fall on the same day of the month as the first one, clamped to the month's end (Jan 31 ->
  Feb 28/29 -> Mar 31); biweekly ones every 14 days.
* Every plan lists in `rule_ids` the mandate rules (`Rule`) that shaped or flagged it, plus
  `debtor.*` ids when the debtor's own figures shaped it. `needs_approval` is True exactly when
  the plan goes beyond an auto-approval limit, and then `rule_ids` names which.

See `compute_offer` and `evaluate_counteroffer` for the offer and counteroffer semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from policies.mandate import MINOR_UNITS, Mandate, Rule, UnsupportedCurrencyError
from policies.plans import (
    AccountSnapshot,
    Counteroffer,
    CounterofferOutcome,
    CounterofferVerdict,
    Frequency,
    Offer,
    OfferOption,
    PaymentPlan,
    PlanKind,
    ScheduledPayment,
)

__all__ = [
    "BIWEEKLY_DAYS",
    "NothingToSettleError",
    "compute_offer",
    "due_dates",
    "evaluate_counteroffer",
    "from_minor",
    "installment_plan",
    "local_today",
    "minor_exponent",
    "settlement_floor",
    "single_payment_plan",
    "split_amount",
    "to_minor",
]

BIWEEKLY_DAYS = 14
_PERIODIC = (Frequency.monthly, Frequency.biweekly)


class NothingToSettleError(ValueError):
    """The account's balance is zero or negative: there is nothing to offer."""


# -- money -------------------------------------------------------------------------------------


def minor_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for MXN, 0 for CLP)."""
    try:
        return MINOR_UNITS[currency.upper()]
    except KeyError:
        raise UnsupportedCurrencyError(
            f"[{Rule.CURRENCY}] currency {currency!r} is not supported "
            f"(known: {', '.join(MINOR_UNITS)})"
        ) from None


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount in integer minor units; ValueError if it has sub-minor-unit digits."""
    exponent = minor_exponent(currency)
    scaled = Decimal(amount).scaleb(exponent)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(
            f"{amount} {currency} is not an exact amount of the currency's minor unit "
            f"({exponent} decimals)"
        )
    return int(scaled)


def _to_minor_down(amount: Decimal, currency: str) -> int:
    """A debtor's figure in minor units, rounded down (never credit more than they said)."""
    exponent = minor_exponent(currency)
    return int(Decimal(amount).scaleb(exponent).to_integral_value(rounding=ROUND_DOWN))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units -> Decimal with the currency's decimals (33333 MXN -> 333.33)."""
    return Decimal(minor).scaleb(-minor_exponent(currency))


def _pct_hundredths(pct: Decimal) -> int:
    return int(pct * 100)  # mandate percents have at most 2 decimals: exact


def _discount_minor(balance: int, pct: Decimal) -> int:
    """balance * pct / 100, rounded down to the minor unit."""
    return balance * _pct_hundredths(pct) // 10_000


def _effective_pct(discount: int, balance: int) -> Decimal:
    """discount / balance in percent, rounded UP to 2 decimals (never understated)."""
    hundredths = -(-discount * 10_000 // balance)
    return Decimal(hundredths).scaleb(-2)


def split_amount(total: Decimal, count: int, currency: str) -> list[Decimal]:
    """Split `total` into `count` amounts: regular = total / count rounded down to the minor
    unit, the last absorbs the remainder. The amounts sum exactly to `total`."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    minor = to_minor(total, currency)
    regular = minor // count
    last = minor - regular * (count - 1)
    return [from_minor(regular, currency)] * (count - 1) + [from_minor(last, currency)]


def due_dates(first_due: date, frequency: Frequency, count: int) -> list[date]:
    """Monthly: same day of month as `first_due`, clamped to the month's end. Biweekly: every
    14 days. Once: just `first_due` (count must be 1)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if frequency is Frequency.monthly:
        return [first_due + relativedelta(months=k) for k in range(count)]
    if frequency is Frequency.biweekly:
        return [first_due + timedelta(days=BIWEEKLY_DAYS * k) for k in range(count)]
    if count != 1:
        raise ValueError("a 'once' schedule has exactly one payment")
    return [first_due]


def _schedule(amounts: list[Decimal], dates: list[date]) -> list[ScheduledPayment]:
    return [
        ScheduledPayment(number=i, due_date=d, amount=a)
        for i, (d, a) in enumerate(zip(dates, amounts, strict=True), start=1)
    ]


def installment_plan(
    balance: Decimal,
    count: int,
    frequency: Frequency,
    first_due: date,
    *,
    currency: str,
    valid_until: date,
    needs_approval: bool = False,
    rule_ids: list[str] | tuple[str, ...] = (),
) -> PaymentPlan:
    """A plan settling the full `balance` (no discount) in `count` installments.

    Pure arithmetic: it checks no mandate limit (`compute_offer` and `evaluate_counteroffer`
    do). Amounts come from `split_amount`, dates from `due_dates`.
    """
    if frequency not in _PERIODIC:
        raise ValueError(f"installments need a monthly or biweekly frequency, not {frequency}")
    total = from_minor(to_minor(balance, currency), currency)
    return PaymentPlan(
        kind=PlanKind.installments,
        frequency=frequency,
        balance=total,
        total=total,
        schedule=_schedule(
            split_amount(total, count, currency), due_dates(first_due, frequency, count)
        ),
        valid_until=valid_until,
        needs_approval=needs_approval,
        rule_ids=list(rule_ids),
    )


def single_payment_plan(
    balance: Decimal,
    total: Decimal,
    due_date: date,
    *,
    currency: str,
    valid_until: date,
    discount_pct: Decimal | None = None,
    needs_approval: bool = False,
    rule_ids: list[str] | tuple[str, ...] = (),
) -> PaymentPlan:
    """A pay-in-full plan: one payment of `total` settling `balance` (discount = the rest).

    `discount_pct` defaults to the effective percent rounded up to 2 decimals; a given one must
    not understate the discount. Pure arithmetic: no mandate limit is checked here.
    """
    balance_minor = to_minor(balance, currency)
    total_minor = to_minor(total, currency)
    if not 0 < total_minor <= balance_minor:
        raise ValueError(f"total {total} must be > 0 and <= the balance {balance}")
    discount = balance_minor - total_minor
    if discount == 0:
        pct = Decimal("0")
    elif discount_pct is None:
        pct = _effective_pct(discount, balance_minor)
    else:
        if discount * 10_000 > balance_minor * _pct_hundredths(discount_pct):
            raise ValueError(f"discount_pct {discount_pct} understates the discount")
        pct = discount_pct
    return PaymentPlan(
        kind=PlanKind.pay_in_full,
        frequency=Frequency.once,
        balance=from_minor(balance_minor, currency),
        total=from_minor(total_minor, currency),
        discount_pct=pct,
        discount_amount=from_minor(discount, currency),
        schedule=_schedule([from_minor(total_minor, currency)], [due_date]),
        valid_until=valid_until,
        needs_approval=needs_approval,
        rule_ids=list(rule_ids),
    )


def local_today(account: AccountSnapshot, now: datetime) -> date:
    """Today's calendar date in the debtor's time zone (`now` must be timezone-aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(account.timezone)).date()


def settlement_floor(account: AccountSnapshot, mandate: Mandate) -> Decimal:
    """The lowest total any plan may have: balance * (1 - band max discount), rounded UP to
    the minor unit (rule mandate.floor)."""
    balance = to_minor(account.balance, account.currency)
    pct = mandate.max_discount_pct(account.days_past_due)
    return from_minor(balance - _discount_minor(balance, pct), account.currency)


# -- the engine --------------------------------------------------------------------------------


def _dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class _Ctx:
    """One account under one mandate on one day; amounts in minor units."""

    mandate: Mandate
    today: date
    currency: str
    balance: int
    band_pct: Decimal
    floor: int  # the smallest total any plan may have (rule mandate.floor)
    min_installment: int
    valid_until: date  # offer expiry; a discounted pay-in-full is paid by then
    default_first_due: date  # today + lead
    first_due_limit: date  # latest allowed first installment
    term_limit: date  # latest allowed payment

    @classmethod
    def build(cls, account: AccountSnapshot, mandate: Mandate, today: date) -> _Ctx:
        currency = account.currency.upper()
        minor_exponent(currency)  # unsupported currency -> UnsupportedCurrencyError
        min_installment = to_minor(mandate.min_installment_for(currency), currency)
        balance_value = account.balance
        if balance_value <= 0:
            raise NothingToSettleError(
                f"account {account.account_id}: balance is {balance_value} {currency}, "
                "nothing to settle"
            )
        balance = to_minor(balance_value, currency)
        band_pct = mandate.max_discount_pct(account.days_past_due)

        def later(days: int) -> date:
            return today + timedelta(days=days)

        return cls(
            mandate=mandate,
            today=today,
            currency=currency,
            balance=balance,
            band_pct=band_pct,
            floor=balance - _discount_minor(balance, band_pct),
            min_installment=min_installment,
            valid_until=later(mandate.offer_validity_days),
            default_first_due=later(mandate.first_payment_lead_days),
            first_due_limit=later(mandate.first_payment_within_days),
            term_limit=later(mandate.max_term_days),
        )

    def money(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    # plans, with auto-approval flags -----------------------------------------------------------

    def single(self, total: int, due: date, rule_ids: list[str]) -> PaymentPlan:
        """One payment of `total` on `due`; a plan at the floor carries the band percent."""
        discount = self.balance - total
        if discount == 0:
            pct = Decimal("0")
        elif total == self.floor:
            pct = self.band_pct
        else:
            pct = _effective_pct(discount, self.balance)
        flags = []
        if pct > self.mandate.auto_approval.max_discount_pct:
            flags.append(Rule.AUTO_DISCOUNT)
        if (due - self.today).days > self.mandate.auto_approval.max_term_days:
            flags.append(Rule.AUTO_TERM)
        return single_payment_plan(
            self.money(self.balance),
            self.money(total),
            due,
            currency=self.currency,
            valid_until=max(self.valid_until, due),
            discount_pct=pct,
            needs_approval=bool(flags),
            rule_ids=_dedupe([*rule_ids, *flags]),
        )

    def pay_in_full_offer(self, extra: list[str] | None = None) -> PaymentPlan:
        """The offer's pay-in-full: the band's max discount, paid by the offer's expiry."""
        return self.single(
            self.floor, self.valid_until, [Rule.DISCOUNT_BAND, Rule.OFFER_VALIDITY, *(extra or [])]
        )

    def installments(
        self, frequency: Frequency, count: int, first_due: date, rule_ids: list[str]
    ) -> PaymentPlan:
        auto = self.mandate.auto_approval
        last_due = due_dates(first_due, frequency, count)[-1]
        flags = []
        if count > auto.max_installments[frequency]:
            flags.append(Rule.AUTO_INSTALLMENTS)
        if (last_due - self.today).days > auto.max_term_days:
            flags.append(Rule.AUTO_TERM)
        return installment_plan(
            self.money(self.balance),
            count,
            frequency,
            first_due,
            currency=self.currency,
            valid_until=self.valid_until,
            needs_approval=bool(flags),
            rule_ids=_dedupe([*rule_ids, *flags]),
        )

    # limits --------------------------------------------------------------------------------

    def count_limits(self, frequency: Frequency, first_due: date) -> dict[str, int]:
        """The largest installment count each mandate rule allows for this frequency/date."""
        return {
            Rule.MAX_INSTALLMENTS: self.mandate.installments[frequency].max_count,
            Rule.MIN_INSTALLMENT: self.balance // self.min_installment,
            Rule.MAX_TERM: _count_within(first_due, frequency, self.term_limit),
        }

    def first_due_ok(self, first_due: date) -> bool:
        return self.today <= first_due <= self.first_due_limit

    def clamp_first_due(self, first_due: date) -> date:
        return min(max(first_due, self.today), self.first_due_limit)


def _count_within(first_due: date, frequency: Frequency, limit: date) -> int:
    """How many payments from `first_due` at `frequency` fall on or before `limit`."""
    if first_due > limit:
        return 0
    if frequency is Frequency.biweekly:
        return (limit - first_due).days // BIWEEKLY_DAYS + 1
    months = (limit.year - first_due.year) * 12 + (limit.month - first_due.month)
    if first_due + relativedelta(months=months) > limit:
        months -= 1
    return months + 1


def _count_for_capacity(balance: int, capacity: int) -> int:
    """The smallest count whose regular installment (balance // count) is <= capacity."""
    return balance // (max(capacity, 0) + 1) + 1


def _convert_capacity(capacity: int, stated: Frequency, target: Frequency) -> int:
    """A per-period amount in another period: biweekly = monthly / 2 (rounded down)."""
    capacity = max(capacity, 0)
    if stated is target:
        return capacity
    return capacity // 2 if target is Frequency.biweekly else capacity * 2


def _convert_count(count: int, stated: Frequency, target: Frequency) -> int:
    """A count of periods in another period, covering about the same time span."""
    if stated is target:
        return count
    return count * 2 if target is Frequency.biweekly else -(-count // 2)


def _requested_count(
    ctx: _Ctx, frequency: Frequency, capacity: int | None, count: int | None
) -> tuple[int, list[str]]:
    """The count the debtor's figures (already in `frequency` periods) ask for, at least 2 and
    not yet clamped to the mandate's limits; the frequency's default count when none."""
    if capacity is not None:
        n = _count_for_capacity(ctx.balance, capacity)
        rules = [Rule.DEBTOR_CAPACITY]
        if count is not None:
            n = max(n, count)
            rules.append(Rule.DEBTOR_COUNT)
    elif count is not None:
        n, rules = count, [Rule.DEBTOR_COUNT]
    else:
        n, rules = ctx.mandate.installments[frequency].default_count, [Rule.DEFAULT_COUNT]
    return max(n, 2), rules


def _clamped_installments(
    ctx: _Ctx, frequency: Frequency, count: int, first_due: date, rule_ids: list[str]
) -> PaymentPlan | None:
    """`count` installments, reduced to the largest count the mandate allows (citing the binding
    rules); None when not even two installments fit."""
    limits = ctx.count_limits(frequency, first_due)
    n_max = min(limits.values())
    if n_max < 2:
        return None
    if count > n_max:
        rule_ids = [*rule_ids, *(rule for rule, limit in limits.items() if limit == n_max)]
        count = n_max
    return ctx.installments(frequency, count, first_due, rule_ids)


def _check_figures(figures: Counteroffer) -> None:
    if figures.count is not None and figures.count < 1:
        raise ValueError(f"count must be >= 1, got {figures.count}")


# -- offers ------------------------------------------------------------------------------------


def compute_offer(
    account: AccountSnapshot,
    mandate: Mandate,
    today: date,
    capacity: Counteroffer | None = None,
) -> Offer:
    """The options the mandate allows for `account` on `today`, numbered from 1.

    1. Pay in full with the band's maximum discount (rule mandate.discount_band), paid by
       `valid_until` = today + offer validity. `needs_approval` when the band's discount is
       above the auto-approval discount.
    2..3. One installment plan per allowed frequency, in the mandate's order (monthly, then
       biweekly), settling the full balance with no discount. Count = the frequency's default
       count, reduced so no installment falls below the minimum, the count stays within the
       maximum and the last payment within the maximum term (the binding rules are cited). A
       frequency where not even two installments fit is skipped, so a balance below twice the
       minimum installment gets only the pay-in-full.

    `capacity` (optional) shapes the installment options around what the debtor said:
    - `amount`: what they can pay per period (per month when `frequency` is None or once;
      biweekly = monthly / 2). Each option then has the smallest count whose regular installment
      is <= that amount, clamped to the mandate's limits as above (the last installment may
      carry up to count - 1 minor units of rounding remainder more).
    - `count`: the count they asked for (for their frequency, or every frequency when none);
      with an amount, the larger of the two counts.
    - `pay_date`: the first installment's due date, when between today and today + the first
      payment window; otherwise the default (today + lead days, rule mandate.first_payment).

    Raises NothingToSettleError (a ValueError) for a zero or negative balance,
    UnsupportedCurrencyError for a currency the mandate does not cover, ValueError for a balance
    with more decimals than the currency's minor unit.
    """
    ctx = _Ctx.build(account, mandate, today)
    if capacity is not None:
        _check_figures(capacity)
    plans = [ctx.pay_in_full_offer()]

    first_due, date_rules = ctx.default_first_due, []
    if capacity is not None and capacity.pay_date is not None:
        if ctx.first_due_ok(capacity.pay_date):
            first_due, date_rules = capacity.pay_date, [Rule.DEBTOR_PAY_DATE]
        else:
            date_rules = [Rule.FIRST_PAYMENT]

    stated = Frequency.monthly
    amount = None
    if capacity is not None:
        if capacity.frequency in _PERIODIC:
            stated = capacity.frequency
        if capacity.amount is not None:
            amount = _to_minor_down(capacity.amount, ctx.currency)
    for frequency in mandate.installments:
        count = None
        if capacity is not None and capacity.frequency in (None, Frequency.once, frequency):
            count = capacity.count  # "en 6 cuotas": that many, at any frequency they did not name
        per_period = None if amount is None else _convert_capacity(amount, stated, frequency)
        target, rules = _requested_count(ctx, frequency, per_period, count)
        plan = _clamped_installments(ctx, frequency, target, first_due, [*rules, *date_rules])
        if plan is not None:
            plans.append(plan)

    return Offer(
        account_id=account.account_id,
        currency=ctx.currency,
        balance=ctx.money(ctx.balance),
        options=[OfferOption(number=i, plan=p) for i, p in enumerate(plans, start=1)],
        valid_until=ctx.valid_until,
        mandate_id=mandate.id,
    )


# -- counteroffers -----------------------------------------------------------------------------


def evaluate_counteroffer(
    account: AccountSnapshot,
    mandate: Mandate,
    today: date,
    counter: Counteroffer,
) -> CounterofferVerdict:
    """Judge what the debtor proposed against the mandate.

    How the figures are read:
    - amount + frequency monthly/biweekly, or amount + count >= 2: an amount per period
      ("puedo 500 al mes"). The plan has the smallest count whose regular installment is <= the
      amount (or the stated count, if larger), first due on `pay_date` when given.
    - amount + frequency once, or amount + count 1: a lump-sum settlement offer.
    - amount alone: a lump sum when it reaches the floor or is more than half the balance;
      otherwise a per-month amount (an amount of half the balance or less cannot be a
      settlement within any mandate discount below 50 %, and reads as "per month").
    - an amount per period that covers the whole balance: a single payment of the balance.
    - count >= 2 and/or frequency monthly/biweekly, without an amount: that many installments
      (default count when none), first due on `pay_date` when given.
    - pay_date alone (or frequency once / count 1 without an amount): pay in full on that date;
      with the band's discount when the date is within the offer's validity, the full balance
      otherwise. No date: the offer's pay-in-full.

    Lump sums are honoured at the amount the debtor named (capped at the balance): naming an
    amount never earns an extra discount. A discounted lump sum must be paid within the offer's
    validity; an undiscounted one within the maximum term.

    Outcome: `acceptable` (within the mandate and its auto-approval limits, reasons empty),
    `needs_approval` (within the mandate, beyond auto-approval; reasons = the auto-approval
    rule ids), `infeasible` (outside the mandate; reasons = every broken rule, `closest` = the
    nearest plan the mandate allows: date clamped into its window, a disallowed frequency
    replaced by the first allowed one, count reduced to the largest allowed, lump sum raised to
    the floor; the offer's pay-in-full when no installment plan fits).

    Raises ValueError for an empty counteroffer or a count below 1, and the same errors as
    `compute_offer` for the account.
    """
    ctx = _Ctx.build(account, mandate, today)
    _check_figures(counter)
    if (
        counter.amount is None
        and counter.count is None
        and counter.pay_date is None
        and counter.frequency is None
    ):
        raise ValueError("empty counteroffer: no amount, frequency, count or date")

    frequency, count, pay_date = counter.frequency, counter.count, counter.pay_date
    if counter.amount is not None:
        amount = _to_minor_down(counter.amount, ctx.currency)
        if frequency in _PERIODIC:
            return _per_period(ctx, frequency, amount, count, pay_date)
        if frequency is Frequency.once or count == 1:
            return _lump_sum(ctx, amount, pay_date)
        if count is not None:
            return _per_period(ctx, Frequency.monthly, amount, count, pay_date)
        if amount >= ctx.floor or 2 * amount > ctx.balance:
            return _lump_sum(ctx, amount, pay_date)
        return _per_period(ctx, Frequency.monthly, amount, None, pay_date)
    if frequency in _PERIODIC or (count is not None and count >= 2):
        stated = frequency if frequency in _PERIODIC else Frequency.monthly
        return _per_period(ctx, stated, None, count, pay_date)
    return _pay_in_full(ctx, pay_date)


def _verdict(plan: PaymentPlan) -> CounterofferVerdict:
    if plan.needs_approval:
        reasons = [r for r in plan.rule_ids if r in Rule.AUTO_APPROVAL]
        return CounterofferVerdict(
            outcome=CounterofferOutcome.needs_approval, plan=plan, reasons=reasons
        )
    return CounterofferVerdict(outcome=CounterofferOutcome.acceptable, plan=plan)


def _infeasible(closest: PaymentPlan, reasons: list[str]) -> CounterofferVerdict:
    return CounterofferVerdict(
        outcome=CounterofferOutcome.infeasible, closest=closest, reasons=_dedupe(reasons)
    )


def _pay_in_full(ctx: _Ctx, pay_date: date | None) -> CounterofferVerdict:
    """Pay everything on `pay_date` (or by the offer's expiry when None)."""
    if pay_date is None:
        return _verdict(ctx.pay_in_full_offer())
    debtor = [Rule.DEBTOR_PAY_DATE]
    if pay_date < ctx.today:
        closest = ctx.single(
            ctx.floor,
            ctx.today,
            [Rule.DISCOUNT_BAND, Rule.OFFER_VALIDITY, *debtor, Rule.FIRST_PAYMENT],
        )
        return _infeasible(closest, [Rule.FIRST_PAYMENT])
    if pay_date <= ctx.valid_until:
        return _verdict(
            ctx.single(ctx.floor, pay_date, [Rule.DISCOUNT_BAND, Rule.OFFER_VALIDITY, *debtor])
        )
    if pay_date <= ctx.term_limit:
        return _verdict(ctx.single(ctx.balance, pay_date, [Rule.OFFER_VALIDITY, *debtor]))
    closest = ctx.single(ctx.balance, ctx.term_limit, [Rule.OFFER_VALIDITY, *debtor, Rule.MAX_TERM])
    return _infeasible(closest, [Rule.MAX_TERM])


def _lump_sum(
    ctx: _Ctx, amount: int, pay_date: date | None, source: str = Rule.DEBTOR_LUMP_SUM
) -> CounterofferVerdict:
    """One payment of `amount` (capped at the balance) on `pay_date` or by the offer's expiry."""
    total = min(amount, ctx.balance)
    due = pay_date if pay_date is not None else ctx.valid_until
    rules = [source, *([Rule.DEBTOR_PAY_DATE] if pay_date else [])]

    def broken(total: int, due: date) -> list[str]:
        out = []
        if total < ctx.floor:
            out.append(Rule.FLOOR)
        if due < ctx.today:
            out.append(Rule.FIRST_PAYMENT)
        if total < ctx.balance and due > ctx.valid_until:
            out.append(Rule.OFFER_VALIDITY)
        if total == ctx.balance and due > ctx.term_limit:
            out.append(Rule.MAX_TERM)
        return out

    violations = broken(total, due)
    if not violations:
        return _verdict(ctx.single(total, due, rules))
    closest_total = max(total, ctx.floor)
    last_allowed = ctx.valid_until if closest_total < ctx.balance else ctx.term_limit
    closest_due = min(max(due, ctx.today), last_allowed)
    closest = ctx.single(closest_total, closest_due, [*rules, *violations])
    return _infeasible(closest, violations)


def _per_period(
    ctx: _Ctx,
    frequency: Frequency,
    capacity: int | None,
    count: int | None,
    pay_date: date | None,
) -> CounterofferVerdict:
    """Installments: `capacity` per period and/or `count`, first due on `pay_date`."""
    if capacity is not None and count is None and capacity >= ctx.balance:
        # One period's amount settles it all: a single payment of the balance.
        return _lump_sum(ctx, ctx.balance, pay_date, source=Rule.DEBTOR_CAPACITY)

    first_due = pay_date if pay_date is not None else ctx.default_first_due
    date_rules = [Rule.DEBTOR_PAY_DATE] if pay_date is not None else []
    allowed = frequency in ctx.mandate.installments

    violations = []
    if not allowed:
        violations.append(Rule.FREQUENCY)
    if not ctx.first_due_ok(first_due):
        violations.append(Rule.FIRST_PAYMENT)
    if allowed:
        n, rules = _requested_count(ctx, frequency, capacity, count)
        limits = ctx.count_limits(frequency, first_due)
        violations += [rule for rule, limit in limits.items() if n > limit]
        if not violations:
            return _verdict(ctx.installments(frequency, n, first_due, [*rules, *date_rules]))

    # The closest plan: an allowed frequency, the date in its window, the count within limits.
    closest = None
    alternative = frequency if allowed else next(iter(ctx.mandate.installments), None)
    if alternative is not None:
        closest_due = ctx.clamp_first_due(first_due)
        n, rules = _requested_count(
            ctx,
            alternative,
            None if capacity is None else _convert_capacity(capacity, frequency, alternative),
            None if count is None else _convert_count(count, frequency, alternative),
        )
        closest = _clamped_installments(
            ctx, alternative, n, closest_due, [*rules, *date_rules, *violations]
        )
    if closest is None:
        closest = ctx.pay_in_full_offer(violations)
    return _infeasible(closest, violations)
