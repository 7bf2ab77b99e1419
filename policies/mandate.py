"""The creditor's mandate: the commercial limits every offer and counteroffer must respect.

A mandate is plain YAML under `policies/mandates/<name>.yaml`, validated by the `Mandate`
schema below. Each limit has a stable rule id (see `Rule`) that plans cite in `rule_ids` and
counteroffer verdicts cite in `reasons`, so every number the agent says can be traced back to
the line of the mandate that produced or limited it.

This module is pure: it only reads YAML. Money amounts are `Decimal`; percentages are
`Decimal` percents (``Decimal("15")`` is 15 %) with at most two decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from policies.plans import Frequency

MANDATES_DIR = Path(__file__).resolve().parent / "mandates"

# Decimal places of each supported currency's minor unit (ISO 4217). A mandate may only set a
# minimum installment for currencies listed here, and the engine only handles those.
MINOR_UNITS: dict[str, int] = {
    "ARS": 2,
    "CLP": 0,
    "COP": 2,
    "EUR": 2,
    "MXN": 2,
    "PEN": 2,
    "USD": 2,
}


class Rule:
    """Stable rule ids. Plans list them in `rule_ids`; verdicts list them in `reasons`."""

    DISCOUNT_BAND = "mandate.discount_band"  # max pay-in-full discount for the dpd band
    FLOOR = "mandate.floor"  # no plan total below balance * (1 - band max discount)
    OFFER_VALIDITY = "mandate.offer_validity"  # offers (and discounted payments) expire
    FREQUENCY = "mandate.frequency"  # installment frequency not allowed
    DEFAULT_COUNT = "mandate.default_count"  # installment count offered by default
    MIN_INSTALLMENT = "mandate.min_installment"  # no installment below the currency minimum
    MAX_INSTALLMENTS = "mandate.max_installments"  # per-frequency maximum count
    MAX_TERM = "mandate.max_term"  # last payment at most N days from today
    FIRST_PAYMENT = "mandate.first_payment"  # first payment between today and today + N days
    CURRENCY = "mandate.currency"  # currency without a minimum installment in the mandate
    AUTO_DISCOUNT = "mandate.auto_approval.discount"
    AUTO_INSTALLMENTS = "mandate.auto_approval.installments"
    AUTO_TERM = "mandate.auto_approval.term"
    GRACE_DAYS = "mandate.grace_days"  # a missed installment breaks the agreement after N days
    REMINDER = "mandate.reminder"  # installment reminders N days before the due date

    # Not mandate limits: the debtor's own figures, cited when they shaped a plan.
    DEBTOR_CAPACITY = "debtor.capacity"
    DEBTOR_COUNT = "debtor.count"
    DEBTOR_PAY_DATE = "debtor.pay_date"
    DEBTOR_LUMP_SUM = "debtor.lump_sum"

    AUTO_APPROVAL = frozenset({AUTO_DISCOUNT, AUTO_INSTALLMENTS, AUTO_TERM})


class MandateError(ValueError):
    """A mandate file is missing, is not valid YAML, or breaks the schema."""


class UnsupportedCurrencyError(ValueError):
    """The mandate has no minimum installment (or the engine no minor unit) for a currency."""


def _no_float_artifacts(value: Any) -> Any:
    """YAML gives floats for `12.5`; go through `str` so Decimal gets the written digits."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _check_pct(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value >= 100:
        raise ValueError(f"a percentage must be >= 0 and < 100, got {value}")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"a percentage may have at most 2 decimals, got {value}")
    return value


Percent = Annotated[Decimal, BeforeValidator(_no_float_artifacts), AfterValidator(_check_pct)]
Amount = Annotated[Decimal, BeforeValidator(_no_float_artifacts)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DiscountBand(_Strict):
    """Maximum pay-in-full discount for accounts `min_dpd <= days_past_due <= max_dpd`."""

    min_dpd: int = Field(ge=0)
    max_dpd: int | None = None  # None: open-ended (the last band)
    max_discount_pct: Percent

    @model_validator(mode="after")
    def _ordered(self) -> DiscountBand:
        if self.max_dpd is not None and self.max_dpd < self.min_dpd:
            raise ValueError(f"band {self.min_dpd}-{self.max_dpd}: max_dpd is below min_dpd")
        return self

    def contains(self, days_past_due: int) -> bool:
        return self.min_dpd <= days_past_due and (
            self.max_dpd is None or days_past_due <= self.max_dpd
        )


class InstallmentTerms(_Strict):
    """Limits of one installment frequency."""

    max_count: int = Field(ge=2)  # rule mandate.max_installments
    default_count: int = Field(ge=2)  # rule mandate.default_count: the count offered by default

    @model_validator(mode="after")
    def _default_within_max(self) -> InstallmentTerms:
        if self.default_count > self.max_count:
            raise ValueError(
                f"default_count {self.default_count} exceeds max_count {self.max_count}"
            )
        return self


class AutoApproval(_Strict):
    """Plans within the mandate but beyond any of these limits need a supervisor's approval."""

    max_discount_pct: Percent  # rule mandate.auto_approval.discount
    max_installments: dict[Frequency, int]  # rule mandate.auto_approval.installments
    max_term_days: int = Field(ge=0)  # rule mandate.auto_approval.term

    @field_validator("max_installments")
    @classmethod
    def _positive_counts(cls, value: dict[Frequency, int]) -> dict[Frequency, int]:
        for frequency, count in value.items():
            if frequency is Frequency.once:
                raise ValueError("'once' is not an installment frequency")
            if count < 1:
                raise ValueError(f"{frequency.value}: count must be >= 1, got {count}")
        return value


class Mandate(_Strict):
    """The creditor's commercial limits. See `policies/mandates/default.yaml`."""

    id: str = Field(min_length=1)
    creditor: str = Field(min_length=1)  # display name, e.g. "Financiera Aurora"
    offer_validity_days: int = Field(ge=1)  # rule mandate.offer_validity
    discount_bands: list[DiscountBand] = Field(min_length=1)  # rule mandate.discount_band
    # Allowed installment frequencies, in the order offers present them.
    installments: dict[Frequency, InstallmentTerms]
    min_installment: dict[str, Amount]  # per ISO 4217 currency; rule mandate.min_installment
    max_term_days: int = Field(ge=1)  # rule mandate.max_term
    first_payment_within_days: int = Field(ge=0)  # rule mandate.first_payment
    first_payment_lead_days: int = Field(default=7, ge=0)  # default first due: today + lead
    auto_approval: AutoApproval
    # Installment tracking (agent/payments.py). An unpaid installment is `missed` the day after
    # it falls due; the agreement is `broken` once a missed installment is more than
    # `grace_days` days late. Reminders go `reminder_days_before` days before each due date.
    grace_days: int = Field(default=5, ge=0)  # rule mandate.grace_days
    reminder_days_before: int = Field(default=1, ge=0)  # rule mandate.reminder

    @field_validator("discount_bands")
    @classmethod
    def _bands_cover_all_dpd(cls, bands: list[DiscountBand]) -> list[DiscountBand]:
        bands = sorted(bands, key=lambda b: b.min_dpd)
        if bands[0].min_dpd != 0:
            raise ValueError(
                f"the first band must start at 0 days past due, not {bands[0].min_dpd}"
            )
        for prev, nxt in pairwise(bands):
            if prev.max_dpd is None:
                raise ValueError(
                    f"band starting at {prev.min_dpd} is open-ended but is not the last band"
                )
            if nxt.min_dpd != prev.max_dpd + 1:
                raise ValueError(
                    f"bands must be contiguous: {prev.min_dpd}-{prev.max_dpd} is followed by "
                    f"a band starting at {nxt.min_dpd}, expected {prev.max_dpd + 1}"
                )
        if bands[-1].max_dpd is not None:
            raise ValueError("the last band must be open-ended (omit max_dpd)")
        return bands

    @field_validator("installments")
    @classmethod
    def _no_once(
        cls, value: dict[Frequency, InstallmentTerms]
    ) -> dict[Frequency, InstallmentTerms]:
        if Frequency.once in value:
            raise ValueError("'once' is not an installment frequency (pay-in-full is implicit)")
        return value

    @field_validator("min_installment")
    @classmethod
    def _known_currencies(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if currency not in MINOR_UNITS:
                raise ValueError(
                    f"currency {currency!r} is not supported (known: {', '.join(MINOR_UNITS)}); "
                    "use an upper-case ISO 4217 code"
                )
            if not amount.is_finite() or amount <= 0:
                raise ValueError(f"{currency}: the minimum installment must be > 0, got {amount}")
            quantum = Decimal(1).scaleb(-MINOR_UNITS[currency])
            if amount != amount.quantize(quantum):
                raise ValueError(
                    f"{currency}: {amount} has more decimals than the currency's minor unit"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Mandate:
        if self.offer_validity_days > self.max_term_days:
            raise ValueError("offer_validity_days exceeds max_term_days")
        if self.first_payment_within_days > self.max_term_days:
            raise ValueError("first_payment_within_days exceeds max_term_days")
        if self.first_payment_lead_days > self.first_payment_within_days:
            raise ValueError(
                f"first_payment_lead_days ({self.first_payment_lead_days}) exceeds "
                f"first_payment_within_days ({self.first_payment_within_days})"
            )
        auto = self.auto_approval
        if auto.max_term_days > self.max_term_days:
            raise ValueError("auto_approval.max_term_days exceeds max_term_days")
        if set(auto.max_installments) != set(self.installments):
            raise ValueError(
                "auto_approval.max_installments must list exactly the installment frequencies "
                f"({', '.join(f.value for f in self.installments) or 'none'})"
            )
        for frequency, count in auto.max_installments.items():
            if count > self.installments[frequency].max_count:
                raise ValueError(
                    f"auto_approval.max_installments.{frequency.value} ({count}) exceeds "
                    f"installments.{frequency.value}.max_count"
                )
        return self

    # -- lookups -------------------------------------------------------------------------------

    def band_for(self, days_past_due: int) -> DiscountBand:
        if days_past_due < 0:
            raise ValueError(f"days_past_due must be >= 0, got {days_past_due}")
        return next(b for b in self.discount_bands if b.contains(days_past_due))

    def max_discount_pct(self, days_past_due: int) -> Decimal:
        """The band's maximum pay-in-full discount, in percent (rule mandate.discount_band)."""
        return self.band_for(days_past_due).max_discount_pct

    def min_installment_for(self, currency: str) -> Decimal:
        """The minimum installment amount; raises UnsupportedCurrencyError if not set."""
        try:
            return self.min_installment[currency.upper()]
        except KeyError:
            raise UnsupportedCurrencyError(
                f"[{Rule.CURRENCY}] mandate {self.id!r} has no minimum installment for currency "
                f"{currency!r} (it covers: {', '.join(sorted(self.min_installment)) or 'none'})"
            ) from None


_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def mandate_path(name_or_path: str) -> Path:
    """`default` -> policies/mandates/default.yaml; anything path-like is used as given."""
    if _NAME.match(name_or_path):
        return MANDATES_DIR / f"{name_or_path}.yaml"
    return Path(name_or_path)


def load_mandate(name_or_path: str = "default") -> Mandate:
    """Load and validate a mandate by name (under policies/mandates/) or by file path.

    Raises MandateError with the file and every problem found when the file is missing, is not
    YAML, or does not match the schema.
    """
    path = mandate_path(name_or_path)
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in MANDATES_DIR.glob("*.yaml"))) or "none"
        raise MandateError(f"mandate {name_or_path!r} not found at {path} (available: {available})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MandateError(f"mandate file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MandateError(f"mandate file {path} must hold a mapping, got {type(data).__name__}")
    try:
        return Mandate.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MandateError(f"mandate file {path} is invalid:\n{problems}") from exc
