"""A supervisor's decision on an agreement beyond the agent's limits, and what it changes.

The graph pauses (a LangGraph interrupt) after storing an agreement that needs approval; the
decision resumes it. Approve: the agreement is active. Reject: it is rejected and the debtor
sees the options the mandate allows again. Counter: it is rejected and the supervisor's terms
become a new plan the debtor is asked to confirm (the supervisor's authority replaces the
agent's limits, so the plan needs no further approval). Every change is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    Approval,
    ApprovalStatus,
    Conversation,
    Debtor,
    Stage,
)
from agent.store.repository import NotFoundError, audit
from policies.offers import installment_plan, single_payment_plan
from policies.plans import Frequency, PaymentPlan

COUNTER_RULE = "supervisor.counter"


class ApprovalError(ValueError):
    """A decision that cannot be applied: its terms do not make a plan."""


class ApprovalConflict(ApprovalError):
    """The agreement is not waiting for this decision (none needed, already decided)."""


class CounterTerms(BaseModel):
    """The supervisor's own terms: one payment of `total`, or `installments` of the balance."""

    kind: Literal["pay_in_full", "installments"]
    first_due: date
    total: Decimal | None = Field(default=None, gt=0)  # pay_in_full: what the debtor pays
    installments: int | None = Field(default=None, ge=2, le=60)
    frequency: Literal["monthly", "biweekly"] = "monthly"

    @model_validator(mode="after")
    def _complete(self) -> CounterTerms:
        if self.kind == "pay_in_full" and self.total is None:
            raise ValueError("a pay_in_full counter needs a total")
        if self.kind == "installments" and self.installments is None:
            raise ValueError("an installments counter needs a number of installments")
        return self


class SupervisorDecision(BaseModel):
    # "expire" is not a person's choice: the daily sweep closes an approval nobody decided
    # before the offer's validity passed (agent.runtime.Negotiator.expire_overdue_approvals).
    decision: Literal["approve", "reject", "counter", "expire"]
    note: str | None = Field(default=None, max_length=1000)
    terms: CounterTerms | None = None
    decided_by: str = "supervisor"

    @model_validator(mode="after")
    def _terms_for_counter(self) -> SupervisorDecision:
        if self.decision == "counter" and self.terms is None:
            raise ValueError("a counter needs terms")
        return self


class DecisionOutcome(BaseModel):
    decision: str
    agreement_id: int
    stage: str
    counter_plan: PaymentPlan | None = None
    announce: bool = True  # False when the conversation left the agent meanwhile


APPROVAL_STATUS = {
    "approve": ApprovalStatus.approved,
    "reject": ApprovalStatus.rejected,
    "counter": ApprovalStatus.rejected,
    "expire": ApprovalStatus.expired,
}

# Where a conversation went while the supervisor decided that keeps the agent quiet.
QUIET_STAGES = {Stage.opted_out, Stage.handed_off, Stage.wrong_party, Stage.disputed}


def pending_approval(session: Session, agreement_id: int) -> tuple[Agreement, Approval]:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFoundError(f"agreement {agreement_id} does not exist")
    approval = session.exec(select(Approval).where(Approval.agreement_id == agreement_id)).first()
    if approval is None:
        raise ApprovalConflict(f"agreement {agreement_id} needs no approval")
    if approval.status != ApprovalStatus.pending:
        raise ApprovalConflict(f"agreement {agreement_id} was already {approval.status}")
    return agreement, approval


def check_decision(decision: SupervisorDecision, agreement: Agreement, today: date) -> None:
    """Refuse what cannot be applied, before the paused run is resumed with it: approving an
    offer whose validity has passed, or a counter that makes no plan."""
    if decision.decision == "approve" and agreement.valid_until < today:
        raise ApprovalConflict(
            f"agreement {agreement.id} expired on {agreement.valid_until}: reject or counter"
        )
    if decision.terms is not None:
        counter_plan(decision.terms, agreement, today)


def counter_plan(terms: CounterTerms, agreement: Agreement, today: date) -> PaymentPlan:
    """The supervisor's terms as a plan over the agreement's balance (valid for a week)."""
    if terms.first_due < today:
        raise ApprovalError("the counter's first due date is in the past")
    valid_until = max(terms.first_due, today)
    try:
        if terms.kind == "pay_in_full":
            assert terms.total is not None
            return single_payment_plan(
                agreement.balance,
                terms.total,
                terms.first_due,
                currency=agreement.currency,
                valid_until=valid_until,
                rule_ids=[COUNTER_RULE],
            )
        assert terms.installments is not None
        return installment_plan(
            agreement.balance,
            terms.installments,
            Frequency(terms.frequency),
            terms.first_due,
            currency=agreement.currency,
            valid_until=valid_until,
            rule_ids=[COUNTER_RULE],
        )
    except ValueError as e:
        raise ApprovalError(f"the counter's terms do not make a plan: {e}") from e


def apply_decision(
    session: Session, agreement_id: int, decision: SupervisorDecision, now: datetime, today: date
) -> DecisionOutcome:
    """Record the decision on the Approval, the Agreement and the Conversation; audit it."""
    agreement, approval = pending_approval(session, agreement_id)
    conversation = session.get(Conversation, agreement.conversation_id)
    assert conversation is not None  # foreign key
    plan = counter_plan(decision.terms, agreement, today) if decision.terms else None
    approval.status = APPROVAL_STATUS[decision.decision]
    approval.decided_at = now
    approval.decided_by = decision.decided_by
    approval.note = decision.note
    announce = conversation.stage not in QUIET_STAGES
    if decision.decision == "approve":
        agreement.status = AgreementStatus.active
        new_stage = Stage.agreement_active
    else:
        agreement.status = (
            AgreementStatus.expired if decision.decision == "expire" else AgreementStatus.rejected
        )
        new_stage = Stage.agreement_pending_confirmation if plan else Stage.negotiating
    if announce:
        conversation.stage = new_stage
    conversation.updated_at = now
    session.add_all([approval, agreement, conversation])
    waited = (now - approval.requested_at).total_seconds()
    audit(
        session,
        f"approval.{approval.status}",
        now,
        conversation,
        agreement_id=agreement.id,
        decided_by=decision.decided_by,
        decision=decision.decision,
        waited_seconds=round(waited),
        counter=plan.model_dump(mode="json") if plan else None,
    )
    audit(
        session,
        "agreement.status_changed",
        now,
        conversation,
        agreement_id=agreement.id,
        status=str(agreement.status),
    )
    return DecisionOutcome(
        decision=decision.decision,
        agreement_id=agreement.id or 0,
        stage=str(conversation.stage),
        counter_plan=plan,
        announce=announce,
    )


def overdue_approvals(session: Session, now: datetime) -> list[int]:
    """Agreements still waiting for a decision whose validity ended before the debtor's today."""
    found = session.exec(
        select(Agreement, Account)
        .join(Approval, col(Approval.agreement_id) == Agreement.id)
        .join(Account, col(Account.id) == Agreement.account_id)
        .where(Approval.status == ApprovalStatus.pending)
        .order_by(col(Agreement.id))
    ).all()
    return [
        agreement.id or 0
        for agreement, account in found
        if agreement.valid_until < now.astimezone(ZoneInfo(account.timezone)).date()
    ]


def waiting_approvals(session: Session) -> list[tuple[Approval, Agreement, Account, Debtor]]:
    """Approvals no one has decided yet, oldest first, with their agreement, account and
    debtor (the supervisors' queue, over HTTP and in the console)."""
    return list(
        session.exec(
            select(Approval, Agreement, Account, Debtor)
            .join(Agreement, col(Agreement.id) == Approval.agreement_id)
            .join(Account, col(Account.id) == Agreement.account_id)
            .join(Debtor, col(Debtor.id) == Account.debtor_id)
            .where(Approval.status == ApprovalStatus.pending)
            .order_by(col(Approval.requested_at))
        ).all()
    )
