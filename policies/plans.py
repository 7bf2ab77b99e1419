"""Data shapes the policy engine works on: the account as policy sees it, plans and offers.

These are the contract between `policies/` (which computes every number) and `agent/`
(which only words them). Money is Decimal, dates are calendar dates in the debtor's time zone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frequency(StrEnum):
    once = "once"
    monthly = "monthly"
    biweekly = "biweekly"


class PlanKind(StrEnum):
    pay_in_full = "pay_in_full"
    installments = "installments"


class AccountSnapshot(BaseModel):
    """What the policy engine needs to know about one debt."""

    model_config = ConfigDict(frozen=True)

    account_id: int | str
    creditor: str
    currency: str  # ISO 4217, e.g. "MXN"
    principal: Decimal
    interest: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    paid: Decimal = Decimal("0")
    days_past_due: int = 0
    jurisdiction: str = "MX"  # ISO 3166-1 alpha-2
    timezone: str = "America/Mexico_City"
    segment: str = "standard"  # good_history | new | hardship | corporate | standard

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest + self.fees - self.paid


class ScheduledPayment(BaseModel):
    """One dated amount of a plan (an installment, or the single payment of a pay-in-full)."""

    model_config = ConfigDict(frozen=True)

    number: int  # 1-based
    due_date: date
    amount: Decimal


class PaymentPlan(BaseModel):
    """A concrete, fully computed way to settle the account."""

    model_config = ConfigDict(frozen=True)

    kind: PlanKind
    frequency: Frequency
    balance: Decimal  # the balance the plan settles
    total: Decimal  # what the debtor pays in all (balance minus discount)
    discount_pct: Decimal = Decimal("0")  # e.g. Decimal("15") for 15 %
    discount_amount: Decimal = Decimal("0")
    schedule: list[ScheduledPayment]
    valid_until: date  # the debtor must accept (and, for pay-in-full, pay) by this date
    needs_approval: bool = False
    rule_ids: list[str] = Field(default_factory=list)  # mandate rules that shaped or flagged it

    @property
    def count(self) -> int:
        return len(self.schedule)

    @property
    def installment_amount(self) -> Decimal:
        """The regular installment (the first one; the last may differ by rounding)."""
        return self.schedule[0].amount

    @property
    def first_due(self) -> date:
        return self.schedule[0].due_date

    @property
    def last_due(self) -> date:
        return self.schedule[-1].due_date


class OfferOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int  # 1-based, as shown to the debtor
    plan: PaymentPlan


class Offer(BaseModel):
    """The options the policy allows for an account at a moment; the model may only word these."""

    model_config = ConfigDict(frozen=True)

    account_id: int | str
    currency: str
    balance: Decimal
    options: list[OfferOption]
    valid_until: date
    mandate_id: str

    def option(self, number: int) -> OfferOption | None:
        return next((o for o in self.options if o.number == number), None)


class CounterofferOutcome(StrEnum):
    acceptable = "acceptable"  # within the mandate and its auto-approval limits
    needs_approval = "needs_approval"  # within the mandate, beyond auto-approval
    infeasible = "infeasible"  # outside the mandate


class Counteroffer(BaseModel):
    """What the debtor proposed, in figures (from the understanding step)."""

    amount: Decimal | None = None  # an amount per period, or a lump sum when period is None
    frequency: Frequency | None = None  # monthly / biweekly when the debtor said so
    count: int | None = None  # "en 6 cuotas"
    pay_date: date | None = None  # "pago el 15": a date for the (first) payment


class CounterofferVerdict(BaseModel):
    outcome: CounterofferOutcome
    plan: PaymentPlan | None = None  # the plan that honours the counteroffer, when there is one
    closest: PaymentPlan | None = None  # the closest feasible plan, when infeasible
    reasons: list[str] = Field(default_factory=list)  # rule ids, e.g. "mandate.min_installment"
