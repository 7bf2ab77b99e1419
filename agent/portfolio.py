"""The portfolio: accounts and debtors, from CSV rows or the embedded demo set.

A bad row gets a clear error with its line number and never stops the good rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ValidationError, field_validator, model_validator
from sqlmodel import Session, select

from agent.store.models import Account, Debtor

DEFAULT_TIMEZONES = {
    "MX": "America/Mexico_City",
    "CO": "America/Bogota",
    "PE": "America/Lima",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "ES": "Europe/Madrid",
    "US": "America/New_York",
}
SEGMENTS = {"standard", "good_history", "new", "hardship", "corporate"}


class AccountRow(BaseModel):
    """One line of an accounts CSV (the same fields eval scenarios use)."""

    reference: str
    debtor_name: str
    phone: str
    document_last4: str | None = None
    creditor: str = "Financiera Aurora"
    currency: str = "MXN"
    principal: Decimal
    interest: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    due_date: date | None = None
    days_past_due: int | None = None
    jurisdiction: str = "MX"
    timezone: str | None = None
    segment: str = "standard"

    @field_validator("principal", "interest", "fees", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Decimal:
        try:
            amount = Decimal(str(v).strip() or "0")
        except InvalidOperation as e:
            raise ValueError(f"not an amount: {v!r}") from e
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"amount must be >= 0 with at most two decimals: {v!r}")
        return amount

    @field_validator("jurisdiction", "currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("document_last4")
    @classmethod
    def _last4(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not (v.isdigit() and len(v) == 4):
            raise ValueError("document_last4 must be exactly four digits")
        return v

    @field_validator("segment")
    @classmethod
    def _segment(cls, v: str) -> str:
        if v not in SEGMENTS:
            raise ValueError(f"segment must be one of {sorted(SEGMENTS)}")
        return v

    @model_validator(mode="after")
    def _normalise(self) -> AccountRow:
        if self.principal <= 0:
            raise ValueError("principal must be positive")
        self.timezone = self.timezone or DEFAULT_TIMEZONES.get(self.jurisdiction)
        if self.timezone is None:
            raise ValueError(f"no default time zone for {self.jurisdiction}: give one")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {self.timezone!r}") from e
        try:
            number = phonenumbers.parse(_drop_mx_mobile_one(self.phone), self.jurisdiction)
        except phonenumbers.NumberParseException as e:
            raise ValueError(f"not a phone number: {e}") from e
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number")
        self.phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if self.due_date is None and self.days_past_due is None:
            raise ValueError("give due_date or days_past_due")
        return self

    def resolved_due_date(self, today: date) -> date:
        if self.due_date is not None:
            return self.due_date
        return today - timedelta(days=self.days_past_due or 0)


def _drop_mx_mobile_one(phone: str) -> str:
    """Mexico dropped the mobile "1" after +52 in 2019, yet WhatsApp ids still carry it."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+") and digits.startswith("521") and len(digits) == 13:
        return "+52" + digits[3:]
    return phone


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def upsert_account(session: Session, row: AccountRow, today: date) -> tuple[Account, bool]:
    """Create the account (and its debtor) unless its reference exists; (account, created)."""
    existing = session.exec(select(Account).where(Account.reference == row.reference)).first()
    if existing is not None:
        return existing, False
    debtor = session.exec(select(Debtor).where(Debtor.phone == row.phone)).first()
    if debtor is None:
        debtor = Debtor(name=row.debtor_name, phone=row.phone, document_last4=row.document_last4)
        session.add(debtor)
        session.flush()
    account = Account(
        debtor_id=debtor.id or 0,
        reference=row.reference,
        creditor=row.creditor,
        currency=row.currency,
        principal=row.principal,
        interest=row.interest,
        fees=row.fees,
        due_date=row.resolved_due_date(today),
        jurisdiction=row.jurisdiction,
        timezone=row.timezone or "",
        segment=row.segment,
    )
    session.add(account)
    session.flush()
    return account, True


def import_csv(session: Session, path: Path, today: date) -> ImportReport:
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"reference", "debtor_name", "phone", "principal"} - set(reader.fieldnames or [])
        if missing:
            report.errors.append((1, f"missing columns: {', '.join(sorted(missing))}"))
            return report
        for line, raw in enumerate(reader, start=2):
            values = {k: v for k, v in raw.items() if k and v not in (None, "")}
            try:
                row = AccountRow.model_validate(values)
            except ValidationError as e:
                reasons = "; ".join(
                    f"{'.'.join(map(str, x['loc'])) or 'row'}: {x['msg']}" for x in e.errors()
                )
                report.errors.append((line, reasons))
                continue
            _, created = upsert_account(session, row, today)
            if created:
                report.created += 1
            else:
                report.unchanged += 1
    return report


DEMO_ACCOUNTS = [
    AccountRow(
        reference="AUR-MX-0001",
        debtor_name="Lucía Pérez",
        phone="+5215512345678",
        document_last4="4821",
        currency="MXN",
        principal=Decimal("4500"),
        interest=Decimal("300"),
        fees=Decimal("0"),
        days_past_due=35,
        jurisdiction="MX",
        segment="hardship",
    ),
    AccountRow(
        reference="AUR-CO-0002",
        debtor_name="Carlos Ramírez",
        phone="+573001234567",
        document_last4="7310",
        currency="COP",
        principal=Decimal("1850000"),
        interest=Decimal("150000"),
        fees=Decimal("45000"),
        days_past_due=70,
        jurisdiction="CO",
        segment="standard",
    ),
    AccountRow(
        reference="AUR-PE-0003",
        debtor_name="Ana Torres",
        phone="+51987654321",
        document_last4="1596",
        currency="PEN",
        principal=Decimal("2400"),
        interest=Decimal("260"),
        fees=Decimal("40"),
        days_past_due=200,
        jurisdiction="PE",
        segment="good_history",
    ),
]


def seed_demo(session: Session, today: date) -> list[Account]:
    """The demo portfolio (idempotent)."""
    return [upsert_account(session, row, today)[0] for row in DEMO_ACCOUNTS]
