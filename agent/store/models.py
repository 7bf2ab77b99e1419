"""The domain store: SQLModel tables (SQLite by default, nothing SQLite-only)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from agent.store.types import Money, UTCDateTime, utcnow


def _money(**kw: Any) -> Any:
    return Field(sa_type=Money, **kw)


def _when(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Stage(StrEnum):
    new = "new"
    identity_pending = "identity_pending"
    informed = "informed"
    negotiating = "negotiating"
    agreement_pending_confirmation = "agreement_pending_confirmation"
    agreement_pending_approval = "agreement_pending_approval"
    agreement_active = "agreement_active"
    settled = "settled"
    broken_promise = "broken_promise"
    handed_off = "handed_off"
    opted_out = "opted_out"
    wrong_party = "wrong_party"
    disputed = "disputed"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class AgreementStatus(StrEnum):
    proposed = "proposed"
    pending_confirmation = "pending_confirmation"
    pending_approval = "pending_approval"
    active = "active"
    completed = "completed"
    rejected = "rejected"
    expired = "expired"
    broken = "broken"
    renegotiated = "renegotiated"


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"  # the offer's validity passed before anyone decided


class Debtor(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    phone: str = Field(index=True, unique=True)  # E.164
    document_last4: str | None = None  # only what identity checks need, never the full ID
    email: str | None = Field(default=None, max_length=254)  # lower-cased, optional
    wa_user_id: str | None = Field(default=None, index=True)  # WhatsApp business-scoped user id
    whatsapp_opt_in_at: datetime | None = _when(default=None)  # required for business-initiated
    # "import" when a portfolio import recorded the opt-in (the creditor's attestation); None when
    # the debtor gave it on WhatsApp. A later import may withdraw only its own kind.
    whatsapp_opt_in_source: str | None = Field(default=None, max_length=16)
    opted_out_at: datetime | None = _when(default=None)
    created_at: datetime = _when(default_factory=utcnow)


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    debtor_id: int = Field(foreign_key="debtor.id", index=True)
    reference: str = Field(index=True, unique=True)  # the creditor's own reference
    creditor: str
    currency: str = Field(max_length=3)
    principal: Decimal = _money()
    interest: Decimal = _money(default=Decimal("0"))
    fees: Decimal = _money(default=Decimal("0"))
    paid: Decimal = _money(default=Decimal("0"))
    due_date: date
    jurisdiction: str = Field(default="MX", max_length=2)
    timezone: str = "America/Mexico_City"
    segment: str = "standard"
    created_at: datetime = _when(default_factory=utcnow)

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest + self.fees - self.paid

    def days_past_due(self, today: date) -> int:
        return max(0, (today - self.due_date).days)


class Conversation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    channel: str = "whatsapp"
    stage: Stage = Field(default=Stage.new, sa_type=String(40), index=True)
    identity_verified: bool = False
    handoff_reason: str | None = None
    last_inbound_at: datetime | None = _when(default=None)  # opens WhatsApp's 24-hour window
    media_notice_sent: bool = False  # "only text for now" is said once per conversation
    # Model usage summed over the conversation's turns (each turn's detail is a ModelUsage row).
    llm_calls: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    llm_prompt_tokens: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    llm_completion_tokens: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: Direction = Field(sa_type=String(16))
    kind: str = "text"  # text | button | interactive | reaction | image | audio | ... | template
    body: str
    # Structured parts: reply buttons offered, the button pressed, template name and params...
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    wamid: str | None = Field(default=None, unique=True)  # WhatsApp message id, when known
    reply_to_id: int | None = Field(default=None, foreign_key="message.id", unique=True)
    action: str | None = None  # outbound: the action it words
    intent: str | None = None  # inbound: what understanding made of it
    # inbound: received | processing | processed
    # outbound: queued | sending | sent | delivered | read | failed | undeliverable | dead_letter
    status: str = Field(default="received", index=True)
    guard_outcome: str | None = None
    attempts: int = 0
    claimed_at: datetime | None = _when(default=None)  # a worker's lease on the message
    next_attempt_at: datetime | None = _when(default=None, index=True)
    sent_at: datetime | None = _when(default=None)
    error_code: int | None = None
    error: str | None = None
    created_at: datetime = _when(default_factory=utcnow)


class Agreement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    kind: str  # pay_in_full | installments
    frequency: str  # once | monthly | biweekly
    status: AgreementStatus = Field(
        default=AgreementStatus.proposed, sa_type=String(32), index=True
    )
    currency: str = Field(max_length=3)
    balance: Decimal = _money()
    total: Decimal = _money()
    discount_pct: Decimal = _money(default=Decimal("0"))
    discount_amount: Decimal = _money(default=Decimal("0"))
    installments_count: int
    valid_until: date
    needs_approval: bool = False
    rule_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(default_factory=utcnow)
    confirmed_at: datetime | None = _when(default=None)


class Installment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    number: int
    due_date: date
    amount: Decimal = _money()
    paid_amount: Decimal = _money(default=Decimal("0"))
    status: str = "pending"  # pending | paid | missed


class Approval(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True, unique=True)
    status: ApprovalStatus = Field(default=ApprovalStatus.pending, sa_type=String(16), index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    requested_at: datetime = _when(default_factory=utcnow)
    decided_at: datetime | None = _when(default=None)
    decided_by: str | None = None
    note: str | None = None


class Payment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: Decimal = _money()
    paid_at: datetime = _when()
    reference: str = Field(unique=True)
    created_at: datetime = _when(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(default_factory=utcnow, index=True)
    kind: str = Field(index=True)  # e.g. offer.computed, guard.fallback, agreement.created
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id")
    rule_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MessageStatusEvent(SQLModel, table=True):
    """A status webhook for an outbound message (sent, delivered, read, failed), stored as seen."""

    __table_args__ = (UniqueConstraint("wamid", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    wamid: str = Field(index=True)
    status: str
    at: datetime = _when()
    error_code: int | None = None
    error_title: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class UnmatchedInbound(SQLModel, table=True):
    """An inbound message from a sender no account matches: kept, never dropped."""

    id: int | None = Field(default=None, primary_key=True)
    wamid: str = Field(unique=True)
    sender: str  # phone (E.164) or WhatsApp user id, as received
    kind: str
    body: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = _when(default_factory=utcnow)


class ModelUsage(SQLModel, table=True):
    """What the model cost in one turn: calls, tokens, time, and the steps that fell back."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    inbound_message_id: int = Field(foreign_key="message.id", unique=True)
    provider: str  # offline | openai
    model: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    fallbacks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # one entry per call: step, structured-output mode, outcome, latency, tokens
    detail: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = _when(default_factory=utcnow)


class CadenceSend(SQLModel, table=True):
    """One cadence step handed to the outbox for one account: never twice (issue 8).

    The unique key (account, step, due date) makes the scheduler idempotent across restarts; a
    new due date (a new billing period) starts the cadence again. `held` rows wait for the
    contact rules' next allowed moment (`send_at`), with the rule ids that refused them.
    """

    __table_args__ = (UniqueConstraint("account_id", "step_id", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    step_id: str = Field(max_length=64, index=True)
    due_date: date
    cadence_id: str = Field(max_length=64)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    template: str | None = Field(default=None, max_length=512)
    category: str = Field(default="utility", max_length=16)
    kind: str = Field(default="template", max_length=16)  # template | text (24-hour window)
    held: bool = False
    reason: str = Field(default="contact.ok", max_length=64)
    rule_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pack_version: str | None = Field(default=None, max_length=32)
    planned_at: datetime = _when(default_factory=utcnow, index=True)
    send_at: datetime = _when()  # when the outbox may send it (next allowed moment if held)


class ContactStop(SQLModel, table=True):
    """A stop condition recorded for a debtor (or one of their accounts): no outbound contact.

    `reason` is a policy-pack stop condition id: debtor_has_lawyer, lawsuit_served, insolvency,
    deceased, vulnerable_recipient, dispute_open. `account_id` None: every account.
    """

    id: int | None = Field(default=None, primary_key=True)
    debtor_id: int = Field(foreign_key="debtor.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    reason: str = Field(max_length=32)
    note: str | None = None
    since: datetime = _when(default_factory=utcnow)
    lifted_at: datetime | None = _when(default=None)
