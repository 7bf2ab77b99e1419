"""Reads and writes of the domain store used by the agent. Small functions, one session each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

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
    ModelUsage,
    Stage,
)
from policies.plans import AccountSnapshot, PaymentPlan

OPEN_STAGES_EXCLUDED = (Stage.settled, Stage.wrong_party)


class NotFoundError(LookupError):
    """An id that names no row: a clear error instead of a crash deep in the graph."""


@dataclass
class Context:
    conversation: Conversation
    account: Account
    debtor: Debtor


@dataclass
class TurnOutcome:
    stage: str
    identity_verified: bool
    agreement_id: int | None = None
    outbound_id: int | None = None


def load_context(session: Session, conversation_id: int) -> Context:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist")
    account = session.get(Account, conversation.account_id)
    assert account is not None  # foreign key
    debtor = session.get(Debtor, account.debtor_id)
    assert debtor is not None
    return Context(conversation, account, debtor)


def account_snapshot(account: Account, today: date) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=account.id or 0,
        creditor=account.creditor,
        currency=account.currency,
        principal=account.principal,
        interest=account.interest,
        fees=account.fees,
        paid=account.paid,
        days_past_due=account.days_past_due(today),
        jurisdiction=account.jurisdiction,
        timezone=account.timezone,
        segment=account.segment,
    )


def open_conversation(session: Session, account_id: int, now: datetime) -> Conversation:
    """The account's current conversation, or a new one."""
    if session.get(Account, account_id) is None:
        raise NotFoundError(f"account {account_id} does not exist")
    current = session.exec(
        select(Conversation)
        .where(Conversation.account_id == account_id)
        .where(col(Conversation.stage).not_in([str(s) for s in OPEN_STAGES_EXCLUDED]))
        .order_by(col(Conversation.id).desc())
    ).first()
    if current is not None:
        return current
    conversation = Conversation(account_id=account_id, created_at=now, updated_at=now)
    session.add(conversation)
    session.flush()
    return conversation


def store_inbound(
    session: Session, conversation_id: int, body: str, now: datetime, wamid: str | None = None
) -> Message:
    """Store a debtor message once; the same wamid again returns the stored row."""
    if wamid is not None:
        existing = session.exec(select(Message).where(Message.wamid == wamid)).first()
        if existing is not None:
            return existing
    message = Message(
        conversation_id=conversation_id,
        direction=Direction.inbound,
        body=body,
        wamid=wamid,
        created_at=now,
    )
    session.add(message)
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None and (
        conversation.last_inbound_at is None or now > conversation.last_inbound_at
    ):
        conversation.last_inbound_at = now  # the debtor wrote: WhatsApp's 24-hour window opens
        session.add(conversation)
    session.flush()
    return message


def reply_to(session: Session, inbound_id: int) -> Message | None:
    return session.exec(select(Message).where(Message.reply_to_id == inbound_id)).first()


def audit(
    session: Session,
    kind: str,
    at: datetime,
    conversation: Conversation | None = None,
    *,
    rule_ids: list[str] | None = None,
    agreement_id: int | None = None,
    **data: Any,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            kind=kind,
            conversation_id=conversation.id if conversation else None,
            account_id=conversation.account_id if conversation else None,
            agreement_id=agreement_id,
            rule_ids=rule_ids or [],
            data=data,
        )
    )


def create_agreement(
    session: Session, conversation: Conversation, plan: PaymentPlan, currency: str, now: datetime
) -> Agreement:
    """Turn a confirmed plan into an Agreement with its Installments (and an Approval if due)."""
    agreement = Agreement(
        account_id=conversation.account_id,
        conversation_id=conversation.id or 0,
        kind=plan.kind.value,
        frequency=plan.frequency.value,
        status=AgreementStatus.pending_approval if plan.needs_approval else AgreementStatus.active,
        currency=currency,
        balance=plan.balance,
        total=plan.total,
        discount_pct=plan.discount_pct,
        discount_amount=plan.discount_amount,
        installments_count=plan.count,
        valid_until=plan.valid_until,
        needs_approval=plan.needs_approval,
        rule_ids=list(plan.rule_ids),
        created_at=now,
        confirmed_at=now,
    )
    session.add(agreement)
    session.flush()
    for p in plan.schedule:
        session.add(
            Installment(
                agreement_id=agreement.id or 0,
                number=p.number,
                due_date=p.due_date,
                amount=p.amount,
            )
        )
    if plan.needs_approval:
        session.add(
            Approval(agreement_id=agreement.id or 0, reasons=list(plan.rule_ids), requested_at=now)
        )
    audit(
        session,
        "agreement.created",
        now,
        conversation,
        rule_ids=list(plan.rule_ids),
        agreement_id=agreement.id,
        status=str(agreement.status),
        total=str(plan.total),
        installments=plan.count,
    )
    return agreement


def record_turn(session: Session, state: dict[str, Any]) -> TurnOutcome:
    """Apply one turn's effects and queue its reply, once per inbound message."""
    conversation = session.get(Conversation, state["conversation_id"])
    inbound = session.get(Message, state["inbound_message_id"])
    if conversation is None or inbound is None:
        raise NotFoundError("turn for a conversation or message that does not exist")
    if inbound.status == "processed":  # a replayed turn: its effects are already stored
        previous = reply_to(session, inbound.id or 0)
        return TurnOutcome(
            str(conversation.stage),
            conversation.identity_verified,
            outbound_id=previous.id if previous else None,
        )

    now = datetime.fromisoformat(state["now"])
    effects = state.get("effects") or {}
    outcome = TurnOutcome(str(conversation.stage), conversation.identity_verified)
    _apply_effects(session, conversation, effects, now)
    if effects.get("create_agreement") and state.get("pending_plan"):
        plan = PaymentPlan.model_validate(state["pending_plan"])
        agreement = create_agreement(session, conversation, plan, state["account"]["currency"], now)
        outcome.agreement_id = agreement.id
    _audit_policy(session, conversation, state, now)

    inbound.status = "processed"
    understanding = state.get("understanding") or {}
    inbound.intent = understanding.get("intent")
    if understanding.get("objections"):  # kept for people reading the transcript
        objections = sorted(understanding["objections"])
        inbound.payload = {**(inbound.payload or {}), "understanding": {"objections": objections}}
    session.add(inbound)
    if state.get("action"):
        outcome.outbound_id = _queue_reply(session, conversation, state, now, inbound.id)
    _record_usage(session, conversation, inbound, state.get("usage"), now)
    conversation.updated_at = now
    session.add(conversation)
    outcome.stage = str(conversation.stage)
    outcome.identity_verified = conversation.identity_verified
    return outcome


def record_announcement(session: Session, state: dict[str, Any]) -> int:
    """Queue a message the agent starts itself (e.g. a supervisor's decision); its id."""
    conversation = session.get(Conversation, state["conversation_id"])
    if conversation is None:
        raise NotFoundError(f"conversation {state['conversation_id']} does not exist")
    now = datetime.fromisoformat(state["now"])
    outbound_id = _queue_reply(session, conversation, state, now, reply_to_id=None)
    _audit_guard_fallback(session, conversation, state, now)
    conversation.updated_at = now
    session.add(conversation)
    return outbound_id


def _queue_reply(
    session: Session,
    conversation: Conversation,
    state: dict[str, Any],
    now: datetime,
    reply_to_id: int | None,
) -> int:
    """The drafted, guarded text of `state` as a queued outbound message; its id."""
    guard = state.get("guard") or {}
    buttons = state.get("buttons")
    payload: dict[str, Any] = {"buttons": buttons} if buttons else {}
    if guard.get("violations"):  # what the guard found in the first draft, for the transcript
        payload["guard"] = {"rule_ids": sorted({v["rule_id"] for v in guard["violations"]})}
    outbound = Message(
        conversation_id=conversation.id or 0,
        direction=Direction.outbound,
        body=state["reply"],
        kind="interactive" if buttons else "text",
        payload=payload,
        reply_to_id=reply_to_id,
        action=state["action"],
        status="queued",
        guard_outcome="fallback" if guard.get("fallback") else guard.get("outcome"),
        created_at=now,
    )
    session.add(outbound)
    session.flush()
    return outbound.id or 0


def _record_usage(
    session: Session,
    conversation: Conversation,
    inbound: Message,
    usage: dict[str, Any] | None,
    now: datetime,
) -> None:
    """The turn's model usage, and the conversation's running totals (offline turns: nothing)."""
    if not usage or usage.get("provider", "offline") == "offline":
        return
    calls = usage.get("calls") or []
    row = ModelUsage(
        conversation_id=conversation.id or 0,
        inbound_message_id=inbound.id or 0,
        provider=usage["provider"],
        model=usage.get("model"),
        calls=len(calls),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        latency_ms=int(usage.get("latency_ms", 0)),
        fallbacks=list(usage.get("fallbacks") or []),
        detail=list(calls),
        created_at=now,
    )
    session.add(row)
    conversation.llm_calls += row.calls
    conversation.llm_prompt_tokens += row.prompt_tokens
    conversation.llm_completion_tokens += row.completion_tokens


def recent_messages(
    session: Session, conversation_id: int, before_id: int, limit: int
) -> list[dict[str, str]]:
    """The last `limit` text messages before message `before_id`, oldest first, for prompts."""
    rows = session.exec(
        select(Message.direction, Message.body)
        .where(Message.conversation_id == conversation_id)
        .where(col(Message.id) < before_id)
        .where(Message.body != "")
        .order_by(col(Message.id).desc())
        .limit(limit)
    ).all()
    return [
        {"role": "debtor" if d == Direction.inbound else "agent", "text": body}
        for d, body in reversed(rows)
    ]


def _apply_effects(
    session: Session, conversation: Conversation, effects: dict[str, Any], now: datetime
) -> None:
    if "stage" in effects:
        conversation.stage = Stage(effects["stage"])
    if effects.get("identity_verified") and not conversation.identity_verified:
        conversation.identity_verified = True
        audit(session, "identity.verified", now, conversation)
    if effects.get("handoff_reason"):
        conversation.handoff_reason = effects["handoff_reason"]
        audit(
            session, "conversation.handed_off", now, conversation, reason=effects["handoff_reason"]
        )
    if effects.get("opt_out") or effects.get("opt_in_again"):
        account = session.get(Account, conversation.account_id)
        debtor = session.get(Debtor, account.debtor_id) if account else None
        if debtor is not None:
            debtor.opted_out_at = now if effects.get("opt_out") else None
            session.add(debtor)
            kind = "contact.opted_out" if effects.get("opt_out") else "contact.opted_in"
            audit(session, kind, now, conversation)


def _audit_policy(
    session: Session, conversation: Conversation, state: dict[str, Any], now: datetime
) -> None:
    """Every turn that touched money or failed the guard leaves its rule ids behind."""
    ask = state.get("ask")
    if ask == "counteroffer":
        audit(
            session,
            "counteroffer.evaluated",
            now,
            conversation,
            rule_ids=[r for r in state.get("counter_reason", "").split(",") if r],
            outcome=state.get("counter_outcome", ""),
        )
    elif ask and state.get("offer"):
        rule_ids = sorted(
            {r for o in state["offer"]["options"] for r in o["plan"].get("rule_ids", [])}
        )
        audit(session, "offer.presented", now, conversation, rule_ids=rule_ids, ask=ask)
    _audit_guard_fallback(session, conversation, state, now)


def _audit_guard_fallback(
    session: Session, conversation: Conversation, state: dict[str, Any], now: datetime
) -> None:
    """A draft the guard refused leaves its rule ids and the pack version behind."""
    guard = state.get("guard") or {}
    if guard.get("fallback"):
        audit(
            session,
            "guard.fallback",
            now,
            conversation,
            rule_ids=sorted({v["rule_id"] for v in guard.get("violations", [])}),
            outcome=guard.get("outcome"),
            pack_version=guard.get("pack"),
        )
