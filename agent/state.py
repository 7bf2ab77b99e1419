"""The conversation state LangGraph checkpoints, one thread per conversation.

Values are JSON-friendly (pydantic models are stored as dumps) so that any checkpointer can
hold them and a new process can read them back.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Effects(TypedDict, total=False):
    """What a turn changes in the domain store; applied by the respond node in one transaction."""

    stage: str
    identity_verified: bool
    identity_attempts: int
    opt_out: bool
    opt_in_again: bool
    handoff_reason: str
    create_agreement: bool  # from the pending plan


class ConversationState(TypedDict, total=False):
    # Turn input
    conversation_id: int
    inbound: str
    inbound_message_id: int
    now: str  # ISO 8601 with offset

    # Context loaded each turn from the store
    account: dict[str, Any]  # AccountSnapshot dump
    debtor_first_name: str
    account_reference: str
    identity_method: str  # document_digits | name
    document_last4: str | None
    stage: str
    identity_verified: bool

    # Negotiation memory carried across turns
    last_agent_message: str
    last_action: str
    offer: dict[str, Any] | None  # Offer dump: the options last presented
    pending_plan: dict[str, Any] | None  # PaymentPlan dump awaiting an explicit yes
    pending_option: int | None
    identity_attempts: int
    clarify_streak: int
    summary: list[str]  # one line per turn, newest last, bounded (agent.llm.memory)
    turns: int  # turns answered so far

    # Turn outputs
    understanding: dict[str, Any]
    action: str  # "" when nothing is sent (a person holds the conversation)
    ask: str  # the policy question for the offer step ("" for none)
    ask_option: int | None
    ask_counter: dict[str, Any] | None  # Counteroffer dump
    counter_outcome: str
    handoff_reason: str
    counter_reason: str
    effects: Effects
    facts: dict[str, Any]  # ReplyFacts dump
    draft: str | None
    model_draft: dict[str, Any] | None  # how the model's draft fared (with a model only)
    usage: dict[str, Any]  # TurnUsage dump: model calls, tokens, fallbacks of this turn
    history: list[dict[str, str]]  # the last messages before this one (with a model only)
    buttons: list[dict[str, str]]  # reply buttons sent with the reply
    guard: dict[str, Any]
    reply: str
    agreement_id: int | None
    approval: dict[str, Any] | None  # {"agreement_id", "plan"}: waiting for a supervisor
    announcing: bool  # the message being drafted is the agent's own (a decision's outcome)
