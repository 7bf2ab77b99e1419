"""The portfolio: accounts and debtors, from CSV files or the embedded demo set.

Importing is an upsert keyed on the creditor's account id (`Account.reference`):

- every row is validated on its own; a bad row is rejected with its line number and reason and
  never stops the good rows;
- a row is all or nothing: every check, including those against the database (a currency
  change, a phone number that belongs to someone else), runs before anything of the row is
  written; the good rows are then committed together, in the caller's one transaction, so an
  unexpected database error leaves nothing of the file behind;
- a known account is updated in place, never duplicated; a row that changes nothing is counted
  as unchanged.

What an import never overwrites: what Pacta itself recorded. `Account.paid`, payments,
conversations, agreements and messages are never touched; an opt-out stands; an opt-in the
debtor gave on WhatsApp stands. An account with a live agreement or any payment keeps its
balance components and due date (the agreement was computed from them and the creditor's
figures may already count the payments): the row's other changes apply and the report warns.
A currency never changes on re-import, and a debtor's phone number does not change once a
conversation exists on it (the new number could belong to someone else).

The full national id is never stored: only its last four digits (`Debtor.document_last4`),
which is all the identity check asks for. Reasons in the report never echo a phone number or
a national id.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel.numbers import list_currencies
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel import Session, col, select

from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    AuditEvent,
    Conversation,
    Debtor,
    Payment,
)

DEFAULT_TIMEZONES = {
    "MX": "America/Mexico_City",
    "CO": "America/Bogota",
    "PE": "America/Lima",
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "ES": "Europe/Madrid",
    "US": "America/New_York",
}
DEFAULT_CURRENCIES = {
    "MX": "MXN",
    "CO": "COP",
    "PE": "PEN",
    "CL": "CLP",
    "AR": "ARS",
    "ES": "EUR",
    "US": "USD",
}
SEGMENTS = {"standard", "good_history", "new", "hardship", "corporate"}
DEMO_CREDITOR = "Financiera Aurora"

# The CSV columns, in the documented order. `reference` and `document_last4` are the older
# names of `account_id` and (the last four digits of) `national_id`, still accepted.
COLUMNS = (
    "account_id",
    "debtor_name",
    "phone",
    "national_id",
    "email",
    "creditor",
    "currency",
    "principal",
    "interest",
    "fees",
    "due_date",
    "days_past_due",
    "jurisdiction",
    "timezone",
    "segment",
    "whatsapp_opt_in",
)
LEGACY_COLUMNS = {"reference": "account_id", "document_last4": "document_last4"}
REQUIRED_COLUMNS = ("account_id", "debtor_name", "phone", "principal")
OPT_IN_SOURCE = "import"
# Agreements computed from the account's current balance: while one is live, the balance stays.
LIVE_AGREEMENTS = (
    AgreementStatus.proposed,
    AgreementStatus.pending_confirmation,
    AgreementStatus.pending_approval,
    AgreementStatus.active,
)
_TRUE = {"true", "yes", "sí", "si", "1", "y", "s"}
_FALSE = {"false", "no", "0", "n"}
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_CURRENCIES = frozenset(list_currencies())


class AccountRow(BaseModel):
    """One line of an accounts CSV (the same fields eval scenarios use)."""

    reference: str = Field(
        min_length=1, max_length=64, validation_alias=AliasChoices("reference", "account_id")
    )
    debtor_name: str = Field(min_length=1, max_length=200)
    phone: str
    # Input only: reduced to `document_last4` during validation, never kept.
    national_id: str | None = Field(default=None, repr=False, exclude=True)
    document_last4: str | None = None
    email: str | None = None
    creditor: str = Field(default=DEMO_CREDITOR, min_length=1, max_length=200)
    currency: str | None = None  # the jurisdiction's currency when not given
    principal: Decimal
    interest: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    due_date: date | None = None
    days_past_due: int | None = Field(default=None, ge=0)
    jurisdiction: str = "MX"
    timezone: str | None = None
    segment: str = "standard"
    whatsapp_opt_in: bool | None = None  # None: not stated, nothing changes

    @field_validator("reference", "debtor_name", "creditor", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("principal", "interest", "fees", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Decimal:
        if isinstance(v, float):
            raise ValueError("give amounts as text or Decimal, never float")
        text = str(v).strip()
        if "," in text:
            raise ValueError(f"use a dot for decimals and no thousands separator: {v!r}")
        try:
            amount = Decimal(text or "0")
        except InvalidOperation as e:
            raise ValueError(f"not an amount: {v!r}") from e
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"amount must be >= 0 with at most two decimals: {v!r}")
        return amount

    @field_validator("due_date", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return date.fromisoformat(v.strip())
            except ValueError as e:
                raise ValueError(f"use YYYY-MM-DD: {v!r}") from e
        return v

    @field_validator("days_past_due", mode="before")
    @classmethod
    def _whole_days(cls, v: Any) -> Any:
        if isinstance(v, str) and not v.strip().isdigit():
            raise ValueError(f"must be a whole number of days >= 0: {v!r}")
        return v

    @field_validator("jurisdiction", "currency")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() if v is not None else None

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, v: str) -> str:
        if not (len(v) == 2 and v.isalpha()):
            raise ValueError(f"must be a two-letter country code: {v!r}")
        return v

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, v: str | None) -> str | None:
        if v is not None and v not in _CURRENCIES:
            raise ValueError(f"not an ISO 4217 currency code: {v!r}")
        return v

    @field_validator("document_last4", mode="before")
    @classmethod
    def _last4(cls, v: Any) -> str | None:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        v = str(v).strip()
        if not (v.isdigit() and len(v) == 4):
            raise ValueError("document_last4 must be exactly four digits")
        return v

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, v: Any) -> str | None:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        address = str(v).strip().lower()
        if len(address) > 254 or not _EMAIL.match(address):
            raise ValueError("not a valid email address")
        return address

    @field_validator("segment", mode="before")
    @classmethod
    def _segment(cls, v: Any) -> str:
        v = str(v).strip().lower() or "standard"
        if v not in SEGMENTS:
            raise ValueError(f"segment must be one of {sorted(SEGMENTS)}")
        return v

    @field_validator("whatsapp_opt_in", mode="before")
    @classmethod
    def _opt_in(cls, v: Any) -> bool | None:
        return parse_opt_in(v)

    @model_validator(mode="after")
    def _normalise(self) -> AccountRow:
        if self.principal <= 0:
            raise ValueError("principal: must be positive")
        if self.national_id is not None:
            last4 = national_id_last4(self.national_id)
            self.national_id = None  # never kept, never echoed
            if self.document_last4 is not None and self.document_last4 != last4:
                raise ValueError("national_id and document_last4 disagree")
            self.document_last4 = last4
        self.currency = self.currency or DEFAULT_CURRENCIES.get(self.jurisdiction)
        if self.currency is None:
            raise ValueError(f"currency: no default currency for {self.jurisdiction}: give one")
        self.timezone = (self.timezone or "").strip() or DEFAULT_TIMEZONES.get(self.jurisdiction)
        if self.timezone is None:
            raise ValueError(f"timezone: no default time zone for {self.jurisdiction}: give one")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from e
        self.phone = e164(self.phone, self.jurisdiction)
        if self.due_date is None and self.days_past_due is None:
            raise ValueError("give due_date or days_past_due")
        return self

    def resolved_due_date(self, today: date) -> date:
        """`due_date` when given, else `days_past_due` counted back from `today`."""
        if self.due_date is not None:
            return self.due_date
        return today - timedelta(days=self.days_past_due or 0)


def e164(phone: str, jurisdiction: str) -> str:
    """The number in E.164; one without "+" is read in the jurisdiction's numbering plan."""
    try:
        number = phonenumbers.parse(_drop_mx_mobile_one(phone, jurisdiction), jurisdiction)
    except phonenumbers.NumberParseException as e:
        raise ValueError(f"phone: not a phone number ({e._msg})") from e  # never the number
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone: not a valid phone number (read as {jurisdiction} if no +)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _drop_mx_mobile_one(phone: str, jurisdiction: str = "MX") -> str:
    """Mexico dropped the mobile "1" after +52 in 2019, yet WhatsApp ids still carry it."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    international = phone.strip().startswith("+") or jurisdiction == "MX"
    if international and digits.startswith("521") and len(digits) == 13:
        return "+52" + digits[3:]
    return phone


def national_id_last4(national_id: str) -> str:
    """The last four digits of a national id, letters and punctuation ignored.

    "12.345.678-K" -> "5678", "12345678Z" -> "5678", "1.023.456.789" -> "6789".
    """
    digits = "".join(ch for ch in str(national_id) if ch.isdigit())
    if len(digits) < 4:
        raise ValueError("national_id must contain at least four digits")
    return digits[-4:]


def parse_opt_in(value: Any) -> bool | None:
    """true/false, yes/no, sí/no, 1/0 (any case); empty means "not stated" (None)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"whatsapp_opt_in must be true/false, yes/no, sí/no or 1/0: {value!r}")


# --- the report --------------------------------------------------------------------------------

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class RowIssue:
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)  # imported, with something kept

    @property
    def errors(self) -> list[tuple[int, str]]:
        """(line, reason) of every rejected row."""
        return [(r.line, r.reason) for r in self.rejected]

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "warnings": [{"line": w.line, "reason": w.reason} for w in self.warnings],
        }


class CsvFormatError(ValueError):
    """The file as a whole cannot be read: no header, required columns missing, not UTF-8."""

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []


class RowRejectedError(ValueError):
    """A row that cannot be applied to the database as it stands."""


# --- writing one row ---------------------------------------------------------------------------


_ACCOUNT_FIELDS = ("creditor", "principal", "interest", "fees", "due_date", "jurisdiction")
_ACCOUNT_FIELDS += ("timezone", "segment")
_FROZEN_WHEN_ENGAGED = ("principal", "interest", "fees", "due_date")


def upsert_account(
    session: Session,
    row: AccountRow,
    today: date,
    *,
    now: datetime | None = None,
    update: bool = True,
) -> tuple[Account, Outcome]:
    """Create the account (and its debtor), or bring a known one up to the row; with
    `update=False` a known account is left as it is. Raises RowRejectedError, before writing
    anything, when the row cannot be applied."""
    account, outcome, _ = _apply(session, row, today, now or datetime.now(UTC), update=update)
    return account, outcome


def _apply(
    session: Session, row: AccountRow, today: date, now: datetime, *, update: bool
) -> tuple[Account, Outcome, list[str]]:
    existing = session.exec(select(Account).where(Account.reference == row.reference)).first()
    if existing is None:
        return _create(session, row, today, now), "created", []
    if not update:
        return existing, "unchanged", []
    return _update(session, existing, row, today, now)


def _create(session: Session, row: AccountRow, today: date, now: datetime) -> Account:
    debtor = _debtor_by_phone(session, row.phone)
    if debtor is None:
        debtor = Debtor(name=row.debtor_name, phone=row.phone)
        _debtor_changes(debtor, row, now)
        session.add(debtor)
        session.flush()
        opt_in_event = "contact.whatsapp_opt_in" if debtor.whatsapp_opt_in_at else None
    else:  # another account of a known person: the row also brings their data up to date
        _, opt_in_event = _debtor_changes(debtor, row, now)
        session.add(debtor)
    account = Account(
        debtor_id=debtor.id or 0,
        reference=row.reference,
        currency=row.currency or "",
        **{name: _row_value(row, name, today) for name in _ACCOUNT_FIELDS},
    )
    session.add(account)
    session.flush()
    _audit(session, "account.imported", now, account)
    if opt_in_event:
        _audit(session, opt_in_event, now, account)
    return account


def _update(
    session: Session, account: Account, row: AccountRow, today: date, now: datetime
) -> tuple[Account, Outcome, list[str]]:
    debtor = session.get(Debtor, account.debtor_id)
    assert debtor is not None  # a foreign key
    # Every check first: a rejected row writes nothing.
    if row.currency != account.currency:
        raise RowRejectedError(
            f"currency: the account is in {account.currency}; a currency never changes"
        )
    if row.phone != debtor.phone:
        other = _debtor_by_phone(session, row.phone)
        if other is not None:
            raise RowRejectedError("phone: the number belongs to another debtor's account")
        if _has_conversation(session, debtor.id or 0):
            raise RowRejectedError(
                "phone: the debtor already has a conversation on the current number; "
                "a person must change it"
            )
    warnings: list[str] = []
    changed: list[str] = []
    engaged = _engaged(session, account)
    for name in _ACCOUNT_FIELDS:
        value = _row_value(row, name, today)
        if getattr(account, name) == value:
            continue
        if engaged and name in _FROZEN_WHEN_ENGAGED:
            if not warnings:
                warnings.append(f"{engaged}: balance and due date kept; reconcile them in Pacta")
            continue
        setattr(account, name, value)
        changed.append(name)
    debtor_changed, opt_in_event = _debtor_changes(debtor, row, now)
    changed += debtor_changed
    if not changed:
        return account, "unchanged", warnings
    session.add(account)
    session.add(debtor)
    session.flush()
    _audit(session, "account.updated", now, account, fields=sorted(changed))
    if opt_in_event:
        _audit(session, opt_in_event, now, account)
    return account, "updated", warnings


def _debtor_changes(debtor: Debtor, row: AccountRow, now: datetime) -> tuple[list[str], str | None]:
    """Bring the debtor up to the row; (fields changed, opt-in audit kind or None).

    Optional contact data that the row leaves empty (document digits, email, opt-in) keeps its
    stored value: a partial export never erases it.
    """
    changed: list[str] = []
    if debtor.name != row.debtor_name:
        debtor.name = row.debtor_name
        changed.append("debtor_name")
    if debtor.phone != row.phone:
        debtor.phone = row.phone
        debtor.wa_user_id = None  # WhatsApp regenerates the user id with the number
        changed.append("phone")
        if debtor.whatsapp_opt_in_at is not None:  # consent was given from the old number
            debtor.whatsapp_opt_in_at = None
            debtor.whatsapp_opt_in_source = None
            changed.append("whatsapp_opt_in")
    for name in ("document_last4", "email"):
        value = getattr(row, name)
        if value is not None and getattr(debtor, name) != value:
            setattr(debtor, name, value)
            changed.append(name)
    event = None
    if row.whatsapp_opt_in is True and debtor.whatsapp_opt_in_at is None:
        debtor.whatsapp_opt_in_at = now
        debtor.whatsapp_opt_in_source = OPT_IN_SOURCE
        event = "contact.whatsapp_opt_in"
    elif row.whatsapp_opt_in is False and debtor.whatsapp_opt_in_source == OPT_IN_SOURCE:
        # Only an opt-in an import recorded can be withdrawn by one; the debtor's own stands.
        debtor.whatsapp_opt_in_at = None
        debtor.whatsapp_opt_in_source = None
        event = "contact.whatsapp_opt_in_withdrawn"
    if event and "whatsapp_opt_in" not in changed:
        changed.append("whatsapp_opt_in")
    return changed, event


def _row_value(row: AccountRow, name: str, today: date) -> Any:
    if name == "due_date":
        return row.resolved_due_date(today)
    return getattr(row, name)


def _debtor_by_phone(session: Session, phone: str) -> Debtor | None:
    return session.exec(select(Debtor).where(Debtor.phone == phone)).first()


def _has_conversation(session: Session, debtor_id: int) -> bool:
    query = (
        select(Conversation.id)
        .join(Account, col(Account.id) == col(Conversation.account_id))
        .where(Account.debtor_id == debtor_id)
    )
    return session.exec(query).first() is not None


def _engaged(session: Session, account: Account) -> str | None:
    """Why the balance must stay as Pacta has it, or None."""
    live = select(Agreement.id).where(
        Agreement.account_id == account.id, col(Agreement.status).in_(LIVE_AGREEMENTS)
    )
    if session.exec(live).first() is not None:
        return "the account has a live agreement"
    paid = select(Payment.id).where(Payment.account_id == account.id)
    if account.paid > 0 or session.exec(paid).first() is not None:
        return "the account has payments"
    return None


def _audit(session: Session, kind: str, now: datetime, account: Account, **data: Any) -> None:
    session.add(
        AuditEvent(at=now, kind=kind, account_id=account.id, data={"source": "import", **data})
    )


# --- reading a file ----------------------------------------------------------------------------


def import_csv(
    session: Session,
    path: Path,
    today: date,
    *,
    now: datetime | None = None,
    default_creditor: str | None = None,
) -> ImportReport:
    """Import a CSV file (UTF-8, comma or semicolon separated). Raises CsvFormatError."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CsvFormatError(f"cannot read {path.name}: {e.strerror}") from e
    return import_bytes(session, data, today, now=now, default_creditor=default_creditor)


def import_bytes(
    session: Session,
    data: bytes,
    today: date,
    *,
    now: datetime | None = None,
    default_creditor: str | None = None,
) -> ImportReport:
    """Import CSV bytes. Raises CsvFormatError when the file as a whole cannot be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CsvFormatError(f"the file is not UTF-8 (byte {e.start})") from e
    return import_text(session, text, today, now=now, default_creditor=default_creditor)


def import_text(
    session: Session,
    text: str,
    today: date,
    *,
    now: datetime | None = None,
    default_creditor: str | None = None,
) -> ImportReport:
    now = now or datetime.now(UTC)
    report = ImportReport()
    header, rows = _read(text)
    unknown = [
        name for name in header if name and name not in COLUMNS and name not in LEGACY_COLUMNS
    ]
    if unknown:
        report.warnings.append(RowIssue(1, f"columns ignored: {', '.join(unknown)}"))
    seen_accounts: dict[str, int] = {}
    seen_phones: dict[str, tuple[int, AccountRow]] = {}
    for line, cells in rows:
        if len(cells) > len(header):
            report.rejected.append(RowIssue(line, f"{len(cells)} cells for {len(header)} columns"))
            continue
        values = _values(header, cells)
        if default_creditor and not values.get("creditor"):
            values["creditor"] = default_creditor
        try:
            row = AccountRow.model_validate(values)
        except ValidationError as e:
            report.rejected.append(RowIssue(line, _reasons(e)))
            continue
        first = seen_accounts.setdefault(row.reference, line)
        if first != line:
            report.rejected.append(RowIssue(line, f"account_id repeats line {first}"))
            continue
        earlier = seen_phones.setdefault(row.phone, (line, row))
        if earlier[0] != line and not _same_person(earlier[1], row):
            report.rejected.append(
                RowIssue(line, f"same phone as line {earlier[0]} with other debtor data")
            )
            continue
        try:
            _, outcome, warnings = _apply(session, row, today, now, update=True)
        except RowRejectedError as e:
            report.rejected.append(RowIssue(line, str(e)))
            continue
        report.count(outcome)
        report.warnings += [RowIssue(line, w) for w in warnings]
    return report


def _same_person(a: AccountRow, b: AccountRow) -> bool:
    """Two rows of one phone must agree on the debtor (optional data: where both give it)."""
    if a.debtor_name != b.debtor_name:
        return False
    for name in ("document_last4", "email", "whatsapp_opt_in"):
        x, y = getattr(a, name), getattr(b, name)
        if x is not None and y is not None and x != y:
            return False
    return True


def _read(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The normalised header and the non-blank rows with the line each starts on."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        raw_header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty: a header line is needed") from None
    header = [LEGACY_COLUMNS.get(h, h) for h in (c.strip().lower() for c in raw_header)]
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        raise CsvFormatError(f"columns given twice: {', '.join(twice)} (reference = account_id)")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if "due_date" not in header and "days_past_due" not in header:
        missing.append("due_date or days_past_due")
    if missing:
        raise CsvFormatError(f"missing required columns: {', '.join(missing)}", missing)

    def rows() -> Iterator[tuple[int, list[str]]]:
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(c.strip() for c in cells):
                yield start, cells

    return header, rows()


def _values(header: list[str], cells: list[str]) -> dict[str, str]:
    values = {}
    for name, cell in zip(header, cells, strict=False):
        if name and cell.strip():
            values["reference" if name == "account_id" else name] = cell.strip()
    return values


def _reasons(error: ValidationError) -> str:
    out = []
    for e in error.errors():
        msg = e["msg"].removeprefix("Value error, ")
        where = ".".join(map(str, e["loc"]))
        where = {"reference": "account_id"}.get(where, where)
        if "Field required" in msg:
            msg = "required"
        out.append(f"{where}: {msg}" if where else msg)
    return "; ".join(out)


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
    """The demo portfolio (idempotent: known accounts are left as they are)."""
    return [upsert_account(session, row, today, update=False)[0] for row in DEMO_ACCOUNTS]
