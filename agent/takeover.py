"""Human takeover: a supervisor takes a conversation from the agent, writes to the debtor, and
hands it back.

While a person holds the conversation its stage is `handed_off` with the handoff reason
`supervisor`, so decide answers nothing (debtor messages are still understood and stored). The
stage the conversation had before is kept in the `conversation.taken_over` audit event, and hand
back restores it. A supervisor's text goes through the same guard as the agent's replies, but a
person is not stopped by it: what the guard found comes back as warnings and is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from agent.actions import ReplyFacts
from agent.decide import HUMAN_STAGES
from agent.drafting import address_name, guard_context
from agent.store.models import (
    Account,
    Agreement,
    AgreementStatus,
    AuditEvent,
    Conversation,
    Debtor,
    Direction,
    Installment,
    Message,
    Stage,
)
from agent.store.repository import NotFoundError, account_snapshot, audit, load_context
from policies.formatting import locale_for
from policies.guard import GuardContext, check
from policies.packs import pack_code_for

SUPERVISOR_REASON = "supervisor"  # Conversation.handoff_reason while a person holds it
SUPERVISOR_ACTION = "supervisor_reply"  # Message.action of what a supervisor writes
MAX_REPLY_CHARS = 4096  # WhatsApp's limit for a text body
LIST_LIMIT = 100

# A person may not take these over: the debtor asked not to be contacted, or is not the debtor.
NO_CONTACT_STAGES = {Stage.opted_out, Stage.wrong_party}
# Agreements whose figures a supervisor may quote without a warning.
QUOTABLE_AGREEMENTS = (
    AgreementStatus.pending_confirmation,
    AgreementStatus.pending_approval,
    AgreementStatus.active,
    AgreementStatus.broken,
)


class TakeoverConflict(Exception):
    """The conversation is not in a state that allows the request (HTTP 409)."""


class InvalidReplyError(ValueError):
    """A supervisor's text that cannot be sent: empty or too long (HTTP 422)."""


@dataclass(frozen=True)
class GuardWarning:
    rule: str
    message: str
    text: str


@dataclass
class ReplyOutcome:
    message_id: int
    guard_outcome: str  # pass | redraft | block (queued whatever it is)
    warnings: list[GuardWarning] = field(default_factory=list)


def is_held(conversation: Conversation) -> bool:
    """Whether a person (not the agent) holds the conversation."""
    return (
        conversation.stage == Stage.handed_off and conversation.handoff_reason == SUPERVISOR_REASON
    )


def take_over(
    session: Session, conversation_id: int, now: datetime, by: str, note: str | None = None
) -> Conversation:
    """A person takes the conversation; the agent goes quiet until it is handed back."""
    conversation = _conversation(session, conversation_id)
    if is_held(conversation):
        raise TakeoverConflict(f"conversation {conversation_id} is already held by a person")
    if conversation.stage in NO_CONTACT_STAGES:
        raise TakeoverConflict(
            f"conversation {conversation_id} is {conversation.stage}: the debtor may not be "
            "contacted"
        )
    previous, previous_reason = str(conversation.stage), conversation.handoff_reason
    conversation.stage = Stage.handed_off
    conversation.handoff_reason = SUPERVISOR_REASON
    conversation.updated_at = now
    session.add(conversation)
    audit(
        session,
        "conversation.taken_over",
        now,
        conversation,
        previous_stage=previous,
        previous_handoff_reason=previous_reason,
        by=by,
        note=note,
    )
    session.flush()
    return conversation


def hand_back(session: Session, conversation_id: int, now: datetime, by: str) -> Conversation:
    """The agent takes the conversation back, in the stage it had before the takeover."""
    conversation = _conversation(session, conversation_id)
    if not is_held(conversation):
        raise TakeoverConflict(f"conversation {conversation_id} is not held by a person")
    restored = _stage_to_restore(session, conversation)
    conversation.stage = restored
    conversation.handoff_reason = None
    conversation.updated_at = now
    session.add(conversation)
    audit(session, "conversation.handed_back", now, conversation, stage=str(restored), by=by)
    session.flush()
    return conversation


def supervisor_reply(
    session: Session, conversation_id: int, text: str, now: datetime, by: str
) -> ReplyOutcome:
    """Queue a supervisor's text for the debtor; the guard warns but never stops a person."""
    if not text or not text.strip():
        raise InvalidReplyError("the text is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidReplyError(f"the text is longer than {MAX_REPLY_CHARS} characters")
    conversation = _conversation(session, conversation_id)
    if not is_held(conversation):
        raise TakeoverConflict(
            f"conversation {conversation_id} is not held by a person: take it over first"
        )
    verdict = check(text, supervisor_guard_context(session, conversation, now))
    outbound = Message(
        conversation_id=conversation.id or 0,
        direction=Direction.outbound,
        body=text,
        kind="text",
        action=SUPERVISOR_ACTION,
        status="queued",
        guard_outcome=verdict.outcome,
        payload={"guard": {"rule_ids": verdict.rule_ids}} if verdict.violations else {},
        created_at=now,
    )
    session.add(outbound)
    session.flush()
    warnings = [GuardWarning(v.rule_id, v.message, v.text) for v in verdict.violations]
    if warnings:
        audit(
            session,
            "supervisor.guard_warning",
            now,
            conversation,
            rule_ids=verdict.rule_ids,
            outcome=verdict.outcome,
            message_id=outbound.id,
            by=by,
        )
    audit(session, "supervisor.replied", now, conversation, message_id=outbound.id, by=by)
    conversation.updated_at = now
    session.add(conversation)
    session.flush()
    return ReplyOutcome(outbound.id or 0, verdict.outcome, warnings)


def supervisor_guard_context(
    session: Session, conversation: Conversation, now: datetime
) -> GuardContext:
    """What the conversation's latest facts allow a message to say, as for the agent's replies.

    Built from the account, the identity check and the conversation's current agreement, so a
    supervisor quoting the balance or the agreed installments is not warned about it.
    """
    ctx = load_context(session, conversation.id or 0)
    account = ctx.account
    today = now.astimezone(ZoneInfo(account.timezone)).date()
    snapshot = account_snapshot(account, today)
    facts = ReplyFacts(
        debtor_first_name=address_name(ctx.debtor.name, account.segment),
        creditor=account.creditor,
        locale=locale_for(account.jurisdiction),
        currency=account.currency,
        account_reference=account.reference,
        balance=snapshot.balance,
        principal=snapshot.principal,
        interest=snapshot.interest,
        fees=snapshot.fees,
        days_past_due=snapshot.days_past_due,
        today=today,
        identity_method="document_digits" if ctx.debtor.document_last4 else "name",
        identity_confirmed=conversation.identity_verified,
        pack=pack_code_for(account.jurisdiction),
    )
    context = guard_context(facts)
    agreement = _current_agreement(session, conversation)
    if agreement is not None:
        installments = session.exec(
            select(Installment).where(Installment.agreement_id == agreement.id)
        ).all()
        amounts = {agreement.total, agreement.balance, agreement.discount_amount}
        amounts |= {i.amount for i in installments}
        context.allowed_amounts |= {a for a in amounts if a > 0}
        if agreement.discount_pct > 0:
            context.allowed_percentages.add(agreement.discount_pct)
        context.allowed_counts.add(agreement.installments_count)
        context.installment_counts.add(agreement.installments_count)
        context.allowed_dates |= {agreement.valid_until} | {i.due_date for i in installments}
    return context


def transcript(session: Session, conversation_id: int) -> dict[str, Any]:
    """The conversation for a person to read: its stage and every message, oldest first."""
    ctx = load_context(session, conversation_id)
    conversation = ctx.conversation
    messages = session.exec(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    return {
        "conversation_id": conversation_id,
        "account": ctx.account.reference,
        "debtor_first_name": address_name(ctx.debtor.name, ctx.account.segment),
        "stage": str(conversation.stage),
        "handoff_reason": conversation.handoff_reason,
        "held_by_person": is_held(conversation),
        "identity_verified": conversation.identity_verified,
        "updated_at": conversation.updated_at,
        "messages": [
            {
                "id": m.id or 0,
                "direction": str(m.direction),
                "body": m.body,
                "action": m.action,
                "intent": m.intent,
                "guard_outcome": m.guard_outcome,
                "status": m.status,
                "reply_to_id": m.reply_to_id,
                "created_at": m.created_at,
            }
            for m in messages
        ],
        "turns": [
            {"message_id": m.id or 0, "intent": m.intent, "created_at": m.created_at}
            for m in messages
            if m.direction == Direction.inbound
        ],
    }


def list_conversations(
    session: Session, stage: Stage | None = None, limit: int = LIST_LIMIT
) -> list[dict[str, Any]]:
    """Conversations, newest activity first (optionally only those in one stage)."""
    query = (
        select(Conversation, Account, Debtor)
        .join(Account, col(Account.id) == Conversation.account_id)
        .join(Debtor, col(Debtor.id) == Account.debtor_id)
    )
    if stage is not None:
        query = query.where(Conversation.stage == str(stage))
    query = query.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    return [
        {
            "conversation_id": conversation.id or 0,
            "account": account.reference,
            "debtor_first_name": address_name(debtor.name, account.segment),
            "stage": str(conversation.stage),
            "handoff_reason": conversation.handoff_reason,
            "updated_at": conversation.updated_at,
        }
        for conversation, account, debtor in session.exec(query.limit(limit)).all()
    ]


# --------------------------------------------------------------------------------------------


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist")
    return conversation


def _stage_to_restore(session: Session, conversation: Conversation) -> Stage:
    """The stage recorded at the last takeover; a safe working stage when it is unknown or was
    itself a person's stage (the agent is being asked to carry on)."""
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.conversation_id == conversation.id)
        .where(AuditEvent.kind == "conversation.taken_over")
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    ).first()
    previous = (event.data or {}).get("previous_stage") if event is not None else None
    try:
        stage = Stage(previous) if previous else None
    except ValueError:
        stage = None
    if stage is None or stage in HUMAN_STAGES or stage in NO_CONTACT_STAGES:
        return Stage.negotiating if conversation.identity_verified else Stage.identity_pending
    return stage


def _current_agreement(session: Session, conversation: Conversation) -> Agreement | None:
    return session.exec(
        select(Agreement)
        .where(Agreement.conversation_id == conversation.id)
        .where(col(Agreement.status).in_([str(s) for s in QUOTABLE_AGREEMENTS]))
        .order_by(col(Agreement.id).desc())
    ).first()
