"""What the console pages show, read from the domain store (no HTTP, no HTML here)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from agent.approvals import waiting_approvals
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    Approval,
    AuditEvent,
    Conversation,
    Debtor,
    Direction,
    Installment,
    Message,
    Payment,
    Stage,
)
from policies.mandate import Mandate, Rule

LIST_LIMIT = 200

# Agreements that count as a promise to pay (the debtor confirmed terms that stood).
PROMISE_STATUSES = {
    AgreementStatus.pending_approval,
    AgreementStatus.active,
    AgreementStatus.completed,
    AgreementStatus.broken,
    AgreementStatus.renegotiated,
}
HANDOFF_EVENTS = ("conversation.handed_off", "conversation.taken_over")


# --- approval queue ----------------------------------------------------------------------------


@dataclass
class Limit:
    """One proposed term beside the mandate's limit for the agent."""

    label: str
    proposed: str
    limit: str
    over: bool


@dataclass
class ApprovalRow:
    agreement_id: int
    conversation_id: int
    debtor_name: str
    account: str
    jurisdiction: str
    currency: str
    balance: Decimal
    total: Decimal
    discount_pct: Decimal
    installments: int
    installment_amount: Decimal
    first_due: date | None
    last_due: date | None
    frequency: str
    valid_until: date
    reasons: list[str]
    limits: list[Limit]
    requested_at: datetime
    waiting: timedelta
    expired: bool


def approval_queue(session: Session, mandate: Mandate, now: datetime) -> list[ApprovalRow]:
    """Agreements waiting for a supervisor, oldest first, with their terms against the mandate."""
    rows = []
    for approval, agreement, account, debtor in waiting_approvals(session):
        schedule = _installments(session, agreement.id or 0)
        rows.append(_approval_row(approval, agreement, account, debtor, schedule, mandate, now))
    return rows


def _approval_row(
    approval: Approval,
    agreement: Agreement,
    account: Account,
    debtor: Debtor,
    schedule: list[Installment],
    mandate: Mandate,
    now: datetime,
) -> ApprovalRow:
    first_due = schedule[0].due_date if schedule else None
    last_due = schedule[-1].due_date if schedule else None
    return ApprovalRow(
        agreement_id=agreement.id or 0,
        conversation_id=agreement.conversation_id,
        debtor_name=debtor.name,
        account=account.reference,
        jurisdiction=account.jurisdiction,
        currency=agreement.currency,
        balance=agreement.balance,
        total=agreement.total,
        discount_pct=agreement.discount_pct,
        installments=agreement.installments_count,
        installment_amount=schedule[0].amount if schedule else agreement.total,
        first_due=first_due,
        last_due=last_due,
        frequency=agreement.frequency,
        valid_until=agreement.valid_until,
        reasons=list(approval.reasons),
        limits=mandate_limits(agreement, last_due, mandate, approval.requested_at.date()),
        requested_at=approval.requested_at,
        waiting=now - approval.requested_at,
        expired=agreement.valid_until < now.date(),
    )


def mandate_limits(
    agreement: Agreement, last_due: date | None, mandate: Mandate, asked_on: date
) -> list[Limit]:
    """Discount, installments and term of an agreement beside what the agent may approve."""
    auto = mandate.auto_approval
    limits = [
        Limit(
            "Descuento",
            f"{agreement.discount_pct.normalize():f} %",
            f"{auto.max_discount_pct.normalize():f} %",
            agreement.discount_pct > auto.max_discount_pct,
        )
    ]
    max_count = next(
        (n for f, n in auto.max_installments.items() if str(f) == agreement.frequency), None
    )
    if max_count is not None:
        limits.append(
            Limit(
                "Cuotas",
                str(agreement.installments_count),
                str(max_count),
                agreement.installments_count > max_count,
            )
        )
    if last_due is not None:
        term = (last_due - asked_on).days
        limits.append(
            Limit("Plazo", f"{term} días", f"{auto.max_term_days} días", term > auto.max_term_days)
        )
    return limits


REASON_TEXT = {
    Rule.AUTO_DISCOUNT: "El descuento supera lo que el agente puede aprobar",
    Rule.AUTO_INSTALLMENTS: "Más cuotas de las que el agente puede aprobar",
    Rule.AUTO_TERM: "El plazo supera lo que el agente puede aprobar",
}


def reason_text(rule_id: str) -> str | None:
    """The supervisor-facing sentence for a rule that asked for approval (None: a detail)."""
    return REASON_TEXT.get(rule_id)  # type: ignore[call-overload]


def _installments(session: Session, agreement_id: int) -> list[Installment]:
    return list(
        session.exec(
            select(Installment)
            .where(Installment.agreement_id == agreement_id)
            .order_by(col(Installment.number))
        ).all()
    )


# --- conversations -----------------------------------------------------------------------------


@dataclass
class TranscriptLine:
    id: int
    direction: str
    kind: str
    body: str
    at: datetime
    intent: str | None = None
    objections: list[str] = field(default_factory=list)
    action: str | None = None
    guard_outcome: str | None = None
    guard_rules: list[str] = field(default_factory=list)
    status: str = ""
    buttons: list[str] = field(default_factory=list)


@dataclass
class ConversationView:
    conversation: Conversation
    account: Account
    debtor: Debtor
    lines: list[TranscriptLine]
    agreements: list[Agreement]
    events: list[AuditEvent]


def conversation_view(session: Session, conversation_id: int) -> ConversationView | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    account = session.get(Account, conversation.account_id)
    debtor = session.get(Debtor, account.debtor_id) if account else None
    assert account is not None and debtor is not None  # foreign keys
    messages = session.exec(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    agreements = session.exec(
        select(Agreement)
        .where(Agreement.conversation_id == conversation_id)
        .order_by(col(Agreement.id).desc())
    ).all()
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.conversation_id == conversation_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(LIST_LIMIT)
    ).all()
    lines = [transcript_line(m) for m in messages]
    return ConversationView(conversation, account, debtor, lines, list(agreements), list(events))


def transcript_line(message: Message) -> TranscriptLine:
    """A message with the labels stored beside it: understanding inbound, guard outbound."""
    payload = message.payload or {}
    understanding = payload.get("understanding") or {}
    guard = payload.get("guard") or {}
    return TranscriptLine(
        id=message.id or 0,
        direction=str(message.direction),
        kind=message.kind,
        body=message.body,
        at=message.created_at,
        intent=message.intent,
        objections=list(understanding.get("objections") or []),
        action=message.action,
        guard_outcome=message.guard_outcome,
        guard_rules=list(guard.get("rule_ids") or []),
        status=message.status,
        buttons=[b.get("title", "") for b in payload.get("buttons") or [] if isinstance(b, dict)],
    )


@dataclass
class ConversationRow:
    conversation_id: int
    debtor_name: str
    account: str
    jurisdiction: str
    stage: str
    handoff_reason: str | None
    updated_at: datetime
    messages: int


def conversation_rows(
    session: Session, stage: str | None = None, search: str | None = None
) -> list[ConversationRow]:
    """Conversations, most recently active first, optionally in one stage or matching a name
    or account reference."""
    counts = (
        select(Message.conversation_id, func.count().label("n"))
        .group_by(col(Message.conversation_id))
        .subquery()
    )
    query = (
        select(Conversation, Account, Debtor, counts.c.n)
        .join(Account, col(Account.id) == Conversation.account_id)
        .join(Debtor, col(Debtor.id) == Account.debtor_id)
        .outerjoin(counts, counts.c.conversation_id == Conversation.id)
    )
    if stage:
        query = query.where(Conversation.stage == stage)
    if search:
        like = f"%{search.strip()}%"
        query = query.where(col(Debtor.name).ilike(like) | col(Account.reference).ilike(like))
    query = query.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    return [
        ConversationRow(
            conversation_id=c.id or 0,
            debtor_name=d.name,
            account=a.reference,
            jurisdiction=a.jurisdiction,
            stage=str(c.stage),
            handoff_reason=c.handoff_reason,
            updated_at=c.updated_at,
            messages=n or 0,
        )
        for c, a, d, n in session.exec(query.limit(LIST_LIMIT)).all()
    ]


# --- portfolio ---------------------------------------------------------------------------------


@dataclass
class AccountRow:
    account_id: int
    reference: str
    debtor_name: str
    creditor: str
    jurisdiction: str
    segment: str
    currency: str
    balance: Decimal
    days_past_due: int
    stage: str
    conversation_id: int | None
    agreement_status: str | None


@dataclass
class Portfolio:
    rows: list[AccountRow]
    by_stage: Counter[str]
    by_status: Counter[str]
    balance_by_currency: dict[str, Decimal]
    jurisdictions: list[str]
    segments: list[str]


def portfolio(
    session: Session,
    today: date,
    *,
    stage: str | None = None,
    status: str | None = None,
    jurisdiction: str | None = None,
    segment: str | None = None,
) -> Portfolio:
    """Accounts with their latest conversation stage and agreement status, counted and filtered.

    The counts describe the whole portfolio; the rows are the accounts the filters keep.
    """
    accounts = session.exec(
        select(Account, Debtor).join(Debtor, col(Debtor.id) == Account.debtor_id)
    ).all()
    latest_conv = _latest_by_account(session, Conversation)
    latest_agreement = _latest_by_account(session, Agreement)
    all_rows = []
    for account, debtor in accounts:
        conv = latest_conv.get(account.id or 0)
        agreement = latest_agreement.get(account.id or 0)
        all_rows.append(
            AccountRow(
                account_id=account.id or 0,
                reference=account.reference,
                debtor_name=debtor.name,
                creditor=account.creditor,
                jurisdiction=account.jurisdiction,
                segment=account.segment,
                currency=account.currency,
                balance=account.balance,
                days_past_due=account.days_past_due(today),
                stage=str(conv.stage) if conv else "no_contact",
                conversation_id=conv.id if conv else None,
                agreement_status=str(agreement.status) if agreement else None,
            )
        )
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for row in all_rows:
        balances[row.currency] += row.balance
    kept = [
        r
        for r in all_rows
        if (not stage or r.stage == stage)
        and (not status or (r.agreement_status or "none") == status)
        and (not jurisdiction or r.jurisdiction == jurisdiction)
        and (not segment or r.segment == segment)
    ]
    kept.sort(key=lambda r: (-r.days_past_due, r.reference))
    return Portfolio(
        rows=kept[:LIST_LIMIT],
        by_stage=Counter(r.stage for r in all_rows),
        by_status=Counter(r.agreement_status or "none" for r in all_rows),
        balance_by_currency=dict(sorted(balances.items())),
        jurisdictions=sorted({r.jurisdiction for r in all_rows}),
        segments=sorted({r.segment for r in all_rows}),
    )


def _latest_by_account(session: Session, table: Any) -> dict[int, Any]:
    latest: dict[int, Any] = {}
    for row in session.exec(select(table).order_by(col(table.id))).all():
        latest[row.account_id] = row
    return latest


# --- payments and audit ------------------------------------------------------------------------


@dataclass
class PaymentRow:
    reference: str
    account: str
    debtor_name: str
    currency: str
    amount: Decimal
    paid_at: datetime
    received_at: datetime


def recent_payments(session: Session, limit: int = 50) -> list[PaymentRow]:
    found = session.exec(
        select(Payment, Account, Debtor)
        .join(Account, col(Account.id) == Payment.account_id)
        .join(Debtor, col(Debtor.id) == Account.debtor_id)
        .order_by(col(Payment.created_at).desc(), col(Payment.id).desc())
        .limit(limit)
    ).all()
    return [
        PaymentRow(p.reference, a.reference, d.name, a.currency, p.amount, p.paid_at, p.created_at)
        for p, a, d in found
    ]


def audit_events(
    session: Session, kind: str | None = None, conversation_id: int | None = None
) -> list[AuditEvent]:
    """The latest audit events, newest first; `kind` matches a prefix ("approval." etc.)."""
    query = select(AuditEvent)
    if kind:
        query = query.where(col(AuditEvent.kind).startswith(kind))
    if conversation_id:
        query = query.where(AuditEvent.conversation_id == conversation_id)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    return list(session.exec(query.limit(LIST_LIMIT)).all())


def audit_kinds(session: Session) -> list[str]:
    return sorted(session.exec(select(AuditEvent.kind).distinct()).all())


# --- dashboard ---------------------------------------------------------------------------------


@dataclass
class Series:
    """One value per day (None where the day has nothing to measure)."""

    days: list[date]
    values: list[Decimal | None]

    @property
    def total(self) -> Decimal:
        return sum((v for v in self.values if v is not None), Decimal(0))


@dataclass
class Dashboard:
    start: date
    end: date
    conversations: int
    engaged: int
    promised: int
    handed_off: int
    installments_due: int
    installments_kept: int
    promise_rate: Series
    kept_rate: Series
    handoff_rate: Series
    recovered: dict[str, Series]  # per currency
    guard_blocks: Series
    guard_blocks_by_rule: list[tuple[str, int]]

    @staticmethod
    def ratio(part: int, whole: int) -> Decimal | None:
        return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else None


def dashboard(session: Session, today: date, days: int = 30) -> Dashboard:
    """The console's figures over the last `days` days (UTC), day by day.

    - promise-to-pay rate: of the conversations started that day in which the debtor wrote at
      least once, the share that reached an agreement the debtor confirmed;
    - kept rate: of the installments due that day (up to today), the share paid;
    - handoff rate: of those engaged conversations, the share handed to a person;
    - recovered: payments received per day, per currency;
    - guard blocks: agent drafts the guard refused (replaced by a safe wording), per rule.
    """
    start = today - timedelta(days=days - 1)
    day_list = [start + timedelta(days=i) for i in range(days)]
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)

    cohort = _conversation_cohort(session, since)
    engaged_by_day: Counter[date] = Counter()
    promised_by_day: Counter[date] = Counter()
    handoff_by_day: Counter[date] = Counter()
    for day, engaged, promised, handed in cohort:
        if engaged:
            engaged_by_day[day] += 1
            promised_by_day[day] += promised
            handoff_by_day[day] += handed

    due_by_day: Counter[date] = Counter()
    kept_by_day: Counter[date] = Counter()
    for due, status in session.exec(
        select(Installment.due_date, Installment.status)
        .join(Agreement, col(Agreement.id) == Installment.agreement_id)
        .where(Installment.due_date >= start)
        .where(Installment.due_date <= today)
        .where(col(Agreement.status).in_([str(s) for s in PROMISE_STATUSES]))
    ).all():
        due_by_day[due] += 1
        kept_by_day[due] += status == "paid"

    recovered: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for amount, created, currency in session.exec(
        select(Payment.amount, Payment.created_at, Account.currency)
        .join(Account, col(Account.id) == Payment.account_id)
        .where(Payment.created_at >= since)
    ).all():
        recovered[currency][created.date()] += amount

    blocks_by_day: Counter[date] = Counter()
    by_rule: Counter[str] = Counter()
    for at, rule_ids in session.exec(
        select(AuditEvent.at, AuditEvent.rule_ids)
        .where(AuditEvent.kind == "guard.fallback")
        .where(AuditEvent.at >= since)
    ).all():
        blocks_by_day[at.date()] += 1
        by_rule.update(rule_ids or ["(sin regla)"])

    def rate(part: Counter[date], whole: Counter[date]) -> Series:
        return Series(day_list, [Dashboard.ratio(part[d], whole[d]) for d in day_list])

    return Dashboard(
        start=start,
        end=today,
        conversations=len(cohort),
        engaged=sum(engaged_by_day.values()),
        promised=sum(promised_by_day.values()),
        handed_off=sum(handoff_by_day.values()),
        installments_due=sum(due_by_day.values()),
        installments_kept=sum(kept_by_day.values()),
        promise_rate=rate(promised_by_day, engaged_by_day),
        kept_rate=rate(kept_by_day, due_by_day),
        handoff_rate=rate(handoff_by_day, engaged_by_day),
        recovered={
            currency: Series(day_list, [per_day.get(d, Decimal(0)) for d in day_list])
            for currency, per_day in sorted(recovered.items())
        },
        guard_blocks=Series(day_list, [Decimal(blocks_by_day[d]) for d in day_list]),
        guard_blocks_by_rule=by_rule.most_common(12),
    )


def _conversation_cohort(session: Session, since: datetime) -> list[tuple[date, bool, bool, bool]]:
    """(start day, engaged, promised, handed off) for each conversation started since `since`."""
    conversations = session.exec(
        select(Conversation.id, Conversation.created_at).where(Conversation.created_at >= since)
    ).all()
    ids = [cid for cid, _ in conversations]
    if not ids:
        return []
    engaged = set(
        session.exec(
            select(Message.conversation_id)
            .where(col(Message.conversation_id).in_(ids))
            .where(Message.direction == Direction.inbound)
            .distinct()
        ).all()
    )
    promised = set(
        session.exec(
            select(Agreement.conversation_id)
            .where(col(Agreement.conversation_id).in_(ids))
            .where(col(Agreement.status).in_([str(s) for s in PROMISE_STATUSES]))
        ).all()
    )
    handed = set(
        session.exec(
            select(AuditEvent.conversation_id)
            .where(col(AuditEvent.conversation_id).in_(ids))
            .where(col(AuditEvent.kind).in_(HANDOFF_EVENTS))
        ).all()
    )
    return [
        (created.date(), cid in engaged, cid in promised, cid in handed)
        for cid, created in conversations
    ]


STAGE_TEXT: dict[str, str] = {
    Stage.new: "Nueva",
    Stage.identity_pending: "Verificando identidad",
    Stage.informed: "Informada",
    Stage.negotiating: "Negociando",
    Stage.agreement_pending_confirmation: "Acuerdo por confirmar",
    Stage.agreement_pending_approval: "Acuerdo por aprobar",
    Stage.agreement_active: "Acuerdo activo",
    Stage.settled: "Pagada",
    Stage.broken_promise: "Promesa incumplida",
    Stage.handed_off: "Con una persona",
    Stage.opted_out: "No contactar",
    Stage.wrong_party: "Persona equivocada",
    Stage.disputed: "En disputa",
    "no_contact": "Sin conversación",
}
INTENT_TEXT = {
    "opt_out": "no contactar",
    "wrong_person": "persona equivocada",
    "request_human": "pide una persona",
    "already_paid": "dice que ya pagó",
    "counteroffer": "contraoferta",
    "objection": "objeción",
    "pay_now": "quiere pagar",
    "accept": "acepta",
    "reject": "rechaza",
    "info_request": "pide información",
    "other": "otro",
}
OBJECTION_TEXT = {"amount": "monto", "timing": "plazo", "emotional": "emocional"}
GUARD_TEXT = {
    "pass": "aprobada",
    "redraft": "a redactar de nuevo",
    "block": "bloqueada",
    "fallback": "reemplazada por texto seguro",
}
STATUS_TEXT: dict[str, str] = {
    AgreementStatus.proposed: "Propuesto",
    AgreementStatus.pending_confirmation: "Por confirmar",
    AgreementStatus.pending_approval: "Por aprobar",
    AgreementStatus.active: "Activo",
    AgreementStatus.completed: "Completado",
    AgreementStatus.rejected: "Rechazado",
    AgreementStatus.expired: "Vencido",
    AgreementStatus.broken: "Incumplido",
    AgreementStatus.renegotiated: "Renegociado",
    "none": "Sin acuerdo",
}
