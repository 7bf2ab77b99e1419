"""Payments and installment tracking.

`record_payment` stores a Payment once per `reference`, credits the account (`Account.paid`,
which `account_snapshot` subtracts from what is owed) and applies the amount to the account's
active agreement: installments in due order, partial payments accumulated in `paid_amount`, an
installment `paid` once covered, the rest carried to the next one. When every installment is
paid the agreement is `completed` (any money left over is recorded as its `surplus`, and a
pay-in-full discount is credited to the account) and the conversation is `settled`. Each
applied payment queues one thank-you to the debtor. A payment with no active agreement is
stored, credited and audited, and thanked by no one (there is no plan to report on).

`sweep` is the daily pass over active agreements: an installment past its due date and unpaid
becomes `missed` and the debtor gets one kind follow-up; a missed installment more than the
mandate's `grace_days` late breaks the agreement (stage `broken_promise`); a reminder goes
`reminder_days_before` days before each due date. It is idempotent: what was queued (or
refused for good) is recorded in the audit log and checked before anything is queued again.

Notices are only queued (outbound Messages with status `queued`): the outbox dispatcher sends
them. Each one is checked against the contact rules first (`policies.contact.can_contact`);
inside WhatsApp's 24-hour window it is a free-form text, outside it a template, which the
dispatcher checks against the contact rules again when it sends.

Every state change writes an AuditEvent: payment.received, payment.unallocated,
installment.partially_paid, installment.paid, installment.missed, agreement.completed,
agreement.discount_applied, agreement.broken, conversation.stage_changed,
payment.thank_you_queued / _skipped, installment.reminder_queued / _skipped,
installment.followup_queued / _skipped, contact.deferred.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StrictStr, field_validator
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.contact_rules import active_stops, contact_history, contact_subject
from agent.decide import SILENT_STAGES
from agent.drafting import address_name
from agent.payment_notices import (
    InstallmentFacts,
    Notice,
    NoticeFacts,
    NoticeGuardError,
    RenderedNotice,
    installment_facts,
    render_notice,
)
from agent.store.db import session_scope
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    AuditEvent,
    Conversation,
    Direction,
    Installment,
    Message,
    Payment,
    Stage,
)
from agent.store.repository import Context, NotFoundError, load_context
from policies.contact import ContactDecision, can_contact
from policies.formatting import locale_for
from policies.mandate import Mandate, Rule, load_mandate
from policies.packs import pack_code_for

log = logging.getLogger("pacta.payments")

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_REFERENCE = 128
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew between the payer's system and ours
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window (as in api/dispatcher.py)
# A free-form notice is chosen only when the window stays open this long after it is queued.
SESSION_MARGIN = timedelta(hours=1)

PAID, PENDING, MISSED = "paid", "pending", "missed"


# --------------------------------------------------------------------------------------------
# Errors and shapes
# --------------------------------------------------------------------------------------------


class InvalidPaymentError(ValueError):
    """The payment itself is wrong (amount, time): the caller's input, a 422."""


class UnknownAccountError(NotFoundError):
    """No account has this reference or id."""


class ReferenceConflictError(ValueError):
    """A payment with this reference exists with different details."""

    def __init__(self, reference: str, fields: Sequence[str]) -> None:
        self.fields = list(fields)
        super().__init__(
            f"payment reference {reference!r} was already recorded with a different "
            f"{', '.join(self.fields)}"
        )


def _check_amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value <= 0:
        raise ValueError("amount must be positive")
    if value != value.quantize(CENT):
        raise ValueError("amount may have at most two decimals")
    return value.quantize(CENT)


class PaymentRequest(BaseModel):
    """A payment as reported by the creditor (HTTP body or CSV row)."""

    account_id: Annotated[
        StrictInt | StrictStr,
        Field(
            description='The account\'s reference ("AUR-MX-0001") or its numeric id; a '
            "reference that matches wins over an id",
            examples=["AUR-MX-0001"],
        ),
    ]
    amount: Annotated[
        Decimal, Field(description="Positive, at most two decimals", examples=["1000.00"])
    ]
    paid_at: Annotated[
        AwareDatetime,
        Field(description="When it was paid, with a time-zone offset (ISO 8601)"),
    ]
    reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_REFERENCE,
            description="The payment's unique reference: the same one again is a replay",
        ),
    ]

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _check_amount(value)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("reference must not be blank")
        return value

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: int | str) -> int | str:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("account_id must not be blank")
        return value


class PaymentResult(BaseModel):
    """What a payment did. A replay of the same reference returns the stored original."""

    payment_id: int
    reference: str
    account_id: int
    account_reference: str
    currency: str
    amount: Decimal
    paid_at: datetime
    agreement_id: int | None = None
    agreement_status: str | None = None  # after this payment: active | completed
    allocated: Decimal = ZERO  # applied to installments
    unallocated: Decimal = ZERO  # no active agreement, or beyond the last installment
    installments_paid: list[int] = Field(default_factory=list)  # numbers covered by this payment
    remaining: Decimal | None = None  # left to pay on the agreement
    account_balance: Decimal  # what the account owes after this payment (negative: in favour)
    thank_you_message_id: int | None = None


@dataclass(frozen=True)
class PaymentOutcome:
    result: PaymentResult
    created: bool  # False: a replay of a reference already recorded (nothing changed)


@dataclass
class Allocation:
    """How one amount spreads over installments (pure: see `allocate`)."""

    applied: dict[int, Decimal] = field(default_factory=dict)  # installment number -> amount
    paid: list[int] = field(default_factory=list)  # numbers fully covered by this amount
    left: Decimal = ZERO  # not needed by any installment


@dataclass(frozen=True)
class Due:
    """An installment as allocation sees it."""

    number: int
    due_date: date
    amount: Decimal
    paid_amount: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return max(ZERO, self.amount - self.paid_amount)


def allocate(installments: Sequence[Due], amount: Decimal) -> Allocation:
    """Spread `amount` over the installments still owed, earliest due first."""
    out = Allocation()
    left = amount
    for due in sorted(installments, key=lambda d: (d.due_date, d.number)):
        if left <= 0:
            break
        if due.outstanding <= 0:
            continue
        take = min(due.outstanding, left)
        out.applied[due.number] = take
        left -= take
        if take == due.outstanding:
            out.paid.append(due.number)
    out.left = left
    return out


# --------------------------------------------------------------------------------------------
# Audit
# --------------------------------------------------------------------------------------------


def _audit(
    session: Session,
    kind: str,
    at: datetime,
    *,
    account_id: int | None,
    conversation_id: int | None = None,
    agreement_id: int | None = None,
    rule_ids: Sequence[str] = (),
    **data: Any,
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        kind=kind,
        conversation_id=conversation_id,
        account_id=account_id,
        agreement_id=agreement_id,
        rule_ids=list(rule_ids),
        data=data,
    )
    session.add(event)
    return event


def _audit_agreement(
    session: Session, kind: str, at: datetime, agreement: Agreement, **kw: Any
) -> AuditEvent:
    return _audit(
        session,
        kind,
        at,
        account_id=agreement.account_id,
        conversation_id=agreement.conversation_id,
        agreement_id=agreement.id,
        **kw,
    )


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def find_account(session: Session, account_id: int | str) -> Account:
    """The account named by its reference, or by its numeric id (a matching reference wins)."""
    if isinstance(account_id, str):
        found = session.exec(select(Account).where(Account.reference == account_id)).first()
        if found is not None:
            return found
        if not account_id.isdigit():
            raise UnknownAccountError(f"no account with reference {account_id!r}")
        account_id = int(account_id)
    found = session.get(Account, account_id)
    if found is None:
        raise UnknownAccountError(f"no account with reference or id {account_id!r}")
    return found


def active_agreement(session: Session, account_id: int) -> Agreement | None:
    """The account's current agreement in force (the newest active one)."""
    return session.exec(
        select(Agreement)
        .where(Agreement.account_id == account_id)
        .where(Agreement.status == AgreementStatus.active)
        .order_by(col(Agreement.id).desc())
    ).first()


def installments_of(session: Session, agreement_id: int) -> list[Installment]:
    """The agreement's installments in due order."""
    rows = session.exec(select(Installment).where(Installment.agreement_id == agreement_id)).all()
    return sorted(rows, key=lambda i: (i.due_date, i.number))


def _recorded(
    session: Session, kinds: Sequence[str], agreement_id: int, key: str, value: int
) -> bool:
    """Whether an audit event of `kinds` on this agreement carries data[key] == value."""
    events = session.exec(
        select(AuditEvent.data)
        .where(col(AuditEvent.kind).in_(list(kinds)))
        .where(AuditEvent.agreement_id == agreement_id)
    ).all()
    return any((data or {}).get(key) == value for data in events)


# --------------------------------------------------------------------------------------------
# Recording a payment
# --------------------------------------------------------------------------------------------


def record_payment(session: Session, request: PaymentRequest, now: datetime) -> PaymentOutcome:
    """Store and apply one payment; the same reference again returns the original result.

    Raises InvalidPaymentError, UnknownAccountError or ReferenceConflictError.
    """
    _require_aware(now)
    if request.paid_at > now + FUTURE_TOLERANCE:
        raise InvalidPaymentError("paid_at is in the future")
    account = find_account(session, request.account_id)
    existing = session.exec(select(Payment).where(Payment.reference == request.reference)).first()
    if existing is not None:
        return PaymentOutcome(_replay(session, existing, account, request), created=False)

    payment = Payment(
        account_id=account.id or 0,
        amount=request.amount,
        paid_at=request.paid_at,
        reference=request.reference,
        created_at=now,
    )
    session.add(payment)
    session.flush()  # a concurrent insert of the same reference fails here (IntegrityError)
    account.paid = account.paid + request.amount
    session.add(account)
    agreement = active_agreement(session, account.id or 0)
    received = _audit(
        session,
        "payment.received",
        now,
        account_id=account.id,
        conversation_id=agreement.conversation_id if agreement else None,
        agreement_id=agreement.id if agreement else None,
    )
    result = PaymentResult(
        payment_id=payment.id or 0,
        reference=payment.reference,
        account_id=account.id or 0,
        account_reference=account.reference,
        currency=account.currency,
        amount=request.amount,
        paid_at=request.paid_at.astimezone(UTC),
        account_balance=account.balance,
    )
    if agreement is None:
        result.unallocated = request.amount
        _audit(
            session,
            "payment.unallocated",
            now,
            account_id=account.id,
            payment_id=payment.id,
            amount=_money(request.amount),
            reason="no_active_agreement",
        )
    else:
        _apply(session, agreement, account, payment, result, now)
    result.account_balance = account.balance
    received.data = {
        "payment_id": payment.id,
        "amount": _money(request.amount),
        "paid_at": request.paid_at.astimezone(UTC).isoformat(),
        "result": result.model_dump(mode="json"),
    }
    log.info(
        "payment %s recorded: allocated %s, agreement %s",
        payment.id,
        result.allocated,
        result.agreement_status or "none",
    )
    return PaymentOutcome(result, created=True)


def submit_payment(engine: Engine, request: PaymentRequest, now: datetime) -> PaymentOutcome:
    """`record_payment` in its own transaction: all of it is stored, or nothing.

    Two concurrent payments with one reference: the loser's insert fails on the unique
    reference; it is retried once and then finds the winner's row (a replay, or a conflict).
    """
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                return record_payment(session, request, now)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _replay(
    session: Session, existing: Payment, account: Account, request: PaymentRequest
) -> PaymentResult:
    differs = [
        name
        for name, same in (
            ("account", existing.account_id == account.id),
            ("amount", existing.amount == request.amount),
            ("paid_at", existing.paid_at == request.paid_at),
        )
        if not same
    ]
    if differs:
        raise ReferenceConflictError(existing.reference, differs)
    for data in session.exec(
        select(AuditEvent.data)
        .where(AuditEvent.kind == "payment.received")
        .where(AuditEvent.account_id == existing.account_id)
    ).all():
        if (data or {}).get("payment_id") == existing.id and "result" in data:
            return PaymentResult.model_validate(data["result"])
    raise NotFoundError(f"payment {existing.id} has no recorded result")  # pragma: no cover


def _apply(
    session: Session,
    agreement: Agreement,
    account: Account,
    payment: Payment,
    result: PaymentResult,
    now: datetime,
) -> None:
    """Spread the payment over the agreement's installments; complete it when all are paid."""
    rows = installments_of(session, agreement.id or 0)
    allocation = allocate(
        [Due(r.number, r.due_date, r.amount, r.paid_amount) for r in rows if r.status != PAID],
        payment.amount,
    )
    for row in rows:
        take = allocation.applied.get(row.number)
        if take is None:
            continue
        row.paid_amount = row.paid_amount + take
        common: dict[str, Any] = {
            "payment_id": payment.id,
            "installment_id": row.id,
            "number": row.number,
            "applied": _money(take),
        }
        if row.number in allocation.paid:
            previous, row.status = row.status, PAID
            _audit_agreement(session, "installment.paid", now, agreement, was=previous, **common)
        else:
            outstanding = _money(row.amount - row.paid_amount)
            _audit_agreement(
                session,
                "installment.partially_paid",
                now,
                agreement,
                outstanding=outstanding,
                **common,
            )
        session.add(row)

    remaining = sum((r.amount - r.paid_amount for r in rows if r.status != PAID), ZERO)
    result.agreement_id = agreement.id
    result.allocated = payment.amount - allocation.left
    result.unallocated = allocation.left
    result.installments_paid = list(allocation.paid)
    result.remaining = remaining
    completed = all(r.status == PAID for r in rows)
    if completed:
        _complete(session, agreement, account, allocation.left, now)
    result.agreement_status = str(agreement.status)

    ctx = load_context(session, agreement.conversation_id)
    today = _local_today(now, account.timezone)
    schedule = installment_facts(rows, today)
    upcoming = next((i for i in schedule if i.outstanding > 0), None)
    facts = _notice_facts(
        ctx,
        today,
        schedule,
        inst=upcoming,
        amount=payment.amount,
        remaining=remaining,
        surplus=allocation.left if completed else ZERO,
    )
    notice = Notice.thank_you_completed if completed else Notice.thank_you_progress
    outcome = queue_notice(session, ctx, notice, facts, now, reply_ok=True, defer=True)
    _record_notice(session, agreement, "payment.thank_you", outcome, now, payment_id=payment.id)
    result.thank_you_message_id = outcome.message.id if outcome.message else None


def _complete(
    session: Session, agreement: Agreement, account: Account, surplus: Decimal, now: datetime
) -> None:
    agreement.status = AgreementStatus.completed
    session.add(agreement)
    _audit_agreement(
        session,
        "agreement.completed",
        now,
        agreement,
        total=_money(agreement.total),
        surplus=_money(surplus),
    )
    # A pay-in-full discount was agreed: paying the agreed total settles the debt.
    if agreement.discount_amount > 0 and account.balance > 0:
        credit = min(agreement.discount_amount, account.balance)
        account.paid = account.paid + credit
        session.add(account)
        _audit_agreement(
            session,
            "agreement.discount_applied",
            now,
            agreement,
            rule_ids=[r for r in agreement.rule_ids if r.startswith("mandate.")],
            amount=_money(credit),
            discount_pct=str(agreement.discount_pct),
        )
    conversation = session.get(Conversation, agreement.conversation_id)
    if conversation is not None:
        _set_stage(session, conversation, Stage.settled, now, reason="agreement.completed")


def _set_stage(
    session: Session, conversation: Conversation, stage: Stage, now: datetime, reason: str
) -> None:
    if conversation.stage == stage:
        return
    previous = conversation.stage
    conversation.stage = stage
    conversation.updated_at = now
    session.add(conversation)
    _audit(
        session,
        "conversation.stage_changed",
        now,
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        **{"from": str(previous), "to": str(stage), "reason": reason},
    )


# --------------------------------------------------------------------------------------------
# Queueing notices
# --------------------------------------------------------------------------------------------


@dataclass
class NoticeOutcome:
    """What became of one notice: queued (a Message), deferred (try later) or skipped (never)."""

    status: Literal["queued", "deferred", "skipped"]
    message: Message | None = None
    reason: str = ""
    rule_ids: tuple[str, ...] = ()
    next_allowed_at: datetime | None = None


def _notice_facts(
    ctx: Context,
    today: date,
    schedule: tuple[InstallmentFacts, ...],
    **values: Any,
) -> NoticeFacts:
    return NoticeFacts(
        name=address_name(ctx.debtor.name, ctx.account.segment),
        creditor=ctx.account.creditor,
        reference=ctx.account.reference,
        currency=ctx.account.currency,
        locale=locale_for(ctx.account.jurisdiction),
        pack=pack_code_for(ctx.account.jurisdiction),
        today=today,
        installments=schedule,
        **values,
    )


def session_window_open(conversation: Conversation, at: datetime) -> bool:
    """Whether a free-form message queued at `at` still falls in the 24-hour window."""
    opened = conversation.last_inbound_at
    return opened is not None and at - opened < WINDOW - SESSION_MARGIN


def queue_notice(
    session: Session,
    ctx: Context,
    notice: Notice,
    facts: NoticeFacts,
    now: datetime,
    *,
    reply_ok: bool = False,
    defer: bool = False,
) -> NoticeOutcome:
    """Queue one notice for the dispatcher, if the contact rules allow it.

    - A person holds the conversation (handed off, disputed, wrong party): skipped.
    - `can_contact` refuses for good (no opt-in, opted out, stop condition): skipped.
    - It refuses for now (contact hours, holiday, caps): deferred; with `defer` the message is
      queued anyway, due at the earliest allowed moment (`next_attempt_at`).
    - Inside the 24-hour window it is a free-form text; otherwise a template (which the
      dispatcher checks against the contact rules again when it sends). `reply_ok`: inside the
      window the debtor is talking to us, so the rules are those of a reply (a thank-you);
      reminders and follow-ups are always business-initiated.
    """
    conversation = ctx.conversation
    if conversation.stage in SILENT_STAGES:
        return NoticeOutcome("skipped", reason=f"stage.{conversation.stage}")
    window_open = session_window_open(conversation, now)
    decision = _contact_decision(session, ctx, now, reply=reply_ok and window_open)
    due_at: datetime | None = None
    if not decision.allowed:
        outcome = NoticeOutcome(
            "skipped" if decision.next_allowed_at is None else "deferred",
            reason=decision.reason,
            rule_ids=tuple(decision.rule_ids),
            next_allowed_at=decision.next_allowed_at,
        )
        if outcome.status == "skipped" or not defer:
            return outcome
        due_at = decision.next_allowed_at
        window_open = due_at is not None and session_window_open(conversation, due_at)
    try:
        rendered = render_notice(notice, facts)
    except NoticeGuardError as e:
        log.error("%s notice not queued: %s", notice.value, e)
        return NoticeOutcome("skipped", reason="guard", rule_ids=("guard.blocked",))
    message = _notice_message(conversation, notice, rendered, window_open, now, due_at)
    session.add(message)
    session.flush()
    return NoticeOutcome(
        "queued",
        message=message,
        rule_ids=tuple(decision.rule_ids),
        next_allowed_at=due_at,
    )


def _contact_decision(
    session: Session, ctx: Context, now: datetime, reply: bool
) -> ContactDecision:
    return can_contact(
        contact_subject(ctx, active_stops(session, ctx)),
        "whatsapp",
        now,
        contact_history(session, ctx.debtor, now),
        initiated_by="consumer" if reply else "business",
    )


def _notice_message(
    conversation: Conversation,
    notice: Notice,
    rendered: RenderedNotice,
    session_message: bool,
    now: datetime,
    due_at: datetime | None,
) -> Message:
    common: dict[str, Any] = {
        "conversation_id": conversation.id or 0,
        "direction": Direction.outbound,
        "action": f"payment.{notice.value}",
        "status": "queued",
        "created_at": now,
        "next_attempt_at": due_at,
    }
    if session_message:
        return Message(
            kind="text",
            body=rendered.text,
            payload={},
            guard_outcome="fallback" if rendered.text_fallback else "pass",
            **common,
        )
    return Message(
        kind="template",
        body=rendered.template_body,
        payload={
            "template": {
                "name": rendered.template_name,
                "language": rendered.template_language,
                "parameters": list(rendered.template_parameters),
            }
        },
        guard_outcome="pass",
        **common,
    )


def _record_notice(
    session: Session,
    agreement: Agreement,
    family: str,
    outcome: NoticeOutcome,
    now: datetime,
    **data: Any,
) -> None:
    """The audit trail of a notice: queued, skipped for good, or deferred to a later run."""
    if outcome.status == "queued":
        assert outcome.message is not None
        _audit_agreement(
            session,
            f"{family}_queued",
            now,
            agreement,
            rule_ids=outcome.rule_ids,
            message_id=outcome.message.id,
            message_kind=outcome.message.kind,
            due_at=outcome.next_allowed_at.isoformat() if outcome.next_allowed_at else None,
            **data,
        )
    elif outcome.status == "skipped":
        _audit_agreement(
            session,
            f"{family}_skipped",
            now,
            agreement,
            rule_ids=outcome.rule_ids,
            reason=outcome.reason,
            **data,
        )
    else:
        _audit_agreement(
            session,
            "contact.deferred",
            now,
            agreement,
            rule_ids=outcome.rule_ids,
            notice=family,
            next_allowed_at=outcome.next_allowed_at.isoformat()
            if outcome.next_allowed_at
            else None,
            **data,
        )


# --------------------------------------------------------------------------------------------
# The daily sweep
# --------------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    agreements: int = 0  # active agreements looked at
    missed: int = 0  # installments newly marked missed
    broken: int = 0  # agreements broken
    followups: int = 0  # follow-ups queued
    reminders: int = 0  # reminders queued
    deferred: int = 0  # notices the contact rules put off to a later run
    skipped: int = 0  # notices refused for good (opt-out, no opt-in, a person holds it...)


def sweep(session: Session, now: datetime, mandate: Mandate | None = None) -> SweepReport:
    """One pass over every active agreement (see the module docstring). Safe to run often."""
    _require_aware(now)
    mandate = mandate or load_mandate()
    report = SweepReport()
    agreements = session.exec(
        select(Agreement)
        .where(Agreement.status == AgreementStatus.active)
        .order_by(col(Agreement.id))
    ).all()
    for agreement in agreements:
        report.agreements += 1
        _sweep_agreement(session, agreement, now, mandate, report)
    log.info(
        "sweep: %s agreements, %s missed, %s broken, %s follow-ups, %s reminders, %s deferred",
        report.agreements,
        report.missed,
        report.broken,
        report.followups,
        report.reminders,
        report.deferred,
    )
    return report


def _sweep_agreement(
    session: Session, agreement: Agreement, now: datetime, mandate: Mandate, report: SweepReport
) -> None:
    ctx = load_context(session, agreement.conversation_id)
    today = _local_today(now, ctx.account.timezone)
    rows = installments_of(session, agreement.id or 0)
    for row in rows:
        if row.status == PENDING and row.due_date < today:
            row.status = MISSED
            session.add(row)
            report.missed += 1
            _audit_agreement(
                session,
                "installment.missed",
                now,
                agreement,
                installment_id=row.id,
                number=row.number,
                due_date=row.due_date.isoformat(),
                outstanding=_money(row.amount - row.paid_amount),
            )
    missed = [r for r in rows if r.status == MISSED]
    grace = timedelta(days=mandate.grace_days)
    if any(today > r.due_date + grace for r in missed):
        _break(session, agreement, ctx, missed, mandate, now)
        report.broken += 1
        return
    schedule = installment_facts(rows, today)
    if _follow_up(session, agreement, ctx, rows, schedule, today, now, report):
        return  # at most one notice per agreement per run
    _remind(session, agreement, ctx, rows, schedule, today, now, mandate, report)


def _break(
    session: Session,
    agreement: Agreement,
    ctx: Context,
    missed: list[Installment],
    mandate: Mandate,
    now: datetime,
) -> None:
    agreement.status = AgreementStatus.broken
    session.add(agreement)
    _audit_agreement(
        session,
        "agreement.broken",
        now,
        agreement,
        rule_ids=[Rule.GRACE_DAYS],
        grace_days=mandate.grace_days,
        missed=[r.number for r in missed],
        outstanding=_money(sum((r.amount - r.paid_amount for r in missed), ZERO)),
    )
    # A person holding the conversation keeps it, an opt-out stays one; otherwise the agent
    # renegotiates from here.
    if ctx.conversation.stage not in (*SILENT_STAGES, Stage.opted_out):
        _set_stage(session, ctx.conversation, Stage.broken_promise, now, reason="agreement.broken")


def _follow_up(
    session: Session,
    agreement: Agreement,
    ctx: Context,
    rows: list[Installment],
    schedule: tuple[InstallmentFacts, ...],
    today: date,
    now: datetime,
    report: SweepReport,
) -> bool:
    """One kind follow-up for the missed installments not followed up yet; True if handled."""
    kinds = ("installment.followup_queued", "installment.followup_skipped")
    pending = [
        r
        for r in rows
        if r.status == MISSED
        and not _recorded(session, kinds, agreement.id or 0, "installment_id", r.id or 0)
    ]
    if not pending:
        return False
    first = pending[0]
    inst = next(i for i in schedule if i.number == first.number)
    facts = _notice_facts(ctx, today, schedule, inst=inst, remaining=_remaining(rows))
    outcome = queue_notice(session, ctx, Notice.followup, facts, now)
    _count(report, outcome, "followups")
    if outcome.status == "deferred":
        _record_notice(session, agreement, "installment.followup", outcome, now)
        return True
    for row in pending:  # one message covers every installment missed since the last one
        _record_notice(
            session,
            agreement,
            "installment.followup",
            outcome,
            now,
            installment_id=row.id,
            number=row.number,
        )
    return True


def _remind(
    session: Session,
    agreement: Agreement,
    ctx: Context,
    rows: list[Installment],
    schedule: tuple[InstallmentFacts, ...],
    today: date,
    now: datetime,
    mandate: Mandate,
    report: SweepReport,
) -> None:
    """A reminder for the next installment due within `reminder_days_before` days (once)."""
    kinds = ("installment.reminder_queued", "installment.reminder_skipped")
    lead = timedelta(days=mandate.reminder_days_before)
    for row in rows:
        if row.status != PENDING or not (row.due_date - lead <= today <= row.due_date):
            continue
        if _recorded(session, kinds, agreement.id or 0, "installment_id", row.id or 0):
            continue
        inst = next(i for i in schedule if i.number == row.number)
        facts = _notice_facts(ctx, today, schedule, inst=inst, remaining=_remaining(rows))
        outcome = queue_notice(session, ctx, Notice.reminder, facts, now)
        _count(report, outcome, "reminders")
        _record_notice(
            session,
            agreement,
            "installment.reminder",
            outcome,
            now,
            installment_id=row.id,
            number=row.number,
        )
        return


def _count(report: SweepReport, outcome: NoticeOutcome, queued_field: str) -> None:
    if outcome.status == "queued":
        setattr(report, queued_field, getattr(report, queued_field) + 1)
    elif outcome.status == "deferred":
        report.deferred += 1
    else:
        report.skipped += 1


def _remaining(rows: Sequence[Installment]) -> Decimal:
    return sum((r.amount - r.paid_amount for r in rows if r.status != PAID), ZERO)


def _local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone or "UTC")).date()


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
