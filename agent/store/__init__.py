"""Domain store: SQLModel tables, migrations and the reads/writes the agent makes."""

from agent.store.repository import (
    Context,
    NotFoundError,
    TurnOutcome,
    account_snapshot,
    load_context,
    open_conversation,
    recent_messages,
    record_announcement,
    record_turn,
    store_inbound,
)

__all__ = [
    "Context",
    "NotFoundError",
    "TurnOutcome",
    "account_snapshot",
    "load_context",
    "open_conversation",
    "recent_messages",
    "record_announcement",
    "record_turn",
    "store_inbound",
]
