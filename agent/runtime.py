"""The agent runtime: stores a debtor message and runs the graph on its conversation thread."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from sqlalchemy import Engine

from agent import store
from agent.approvals import (
    ApprovalConflict,
    SupervisorDecision,
    check_decision,
    overdue_approvals,
    pending_approval,
)
from agent.config import Settings, get_settings
from agent.graph import TurnNodes, compile_graph
from agent.llm.provider import OfflineProvider, Provider, get_provider
from agent.llm.steps import ExampleSource
from agent.playbook import Playbook
from agent.store.db import engine_for, prepare_sqlite, session_scope
from agent.store.models import Account
from policies.mandate import Mandate, load_mandate

log = logging.getLogger("pacta.runtime")

MAX_TEXT_CHARS = 4096  # WhatsApp's own limit for a text body


class InvalidMessageError(ValueError):
    """A debtor message the agent cannot take (empty, not text)."""


@dataclass
class TurnResult:
    conversation_id: int
    inbound_id: int
    reply: str
    action: str
    stage: str
    understanding: dict[str, Any] = field(default_factory=dict)
    agreement_id: int | None = None
    guard: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)  # model calls and tokens of the turn


def thread_config(conversation_id: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": f"conversation:{conversation_id}"}}


class Negotiator:
    """Runs turns for any number of conversations; one graph, one checkpointer."""

    def __init__(
        self,
        engine: Engine,
        mandate: Mandate,
        checkpointer: SqliteSaver,
        provider: Provider | None = None,
        examples: ExampleSource | None = None,
    ) -> None:
        self.engine = engine
        self.mandate = mandate
        self.checkpointer = checkpointer
        self.provider = provider or OfflineProvider()
        self.nodes = TurnNodes(engine, mandate, self.provider, examples)
        self.graph = compile_graph(self.nodes, checkpointer)

    def open_conversation(self, account_id: int, now: datetime | None = None) -> int:
        with session_scope(self.engine) as session:
            conversation = store.open_conversation(session, account_id, now or datetime.now(UTC))
            return conversation.id or 0

    def receive(
        self,
        conversation_id: int,
        text: str,
        now: datetime | None = None,
        wamid: str | None = None,
    ) -> TurnResult:
        """Store one inbound text and answer it."""
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not text or not text.strip():
            raise InvalidMessageError("empty message: nothing to answer")
        with session_scope(self.engine) as session:
            store.load_context(session, conversation_id)  # fails clearly on an unknown id
            message = store.store_inbound(session, conversation_id, text, now, wamid)
            message_id = message.id or 0
        return self.process(conversation_id, message_id, text, now)

    def process(
        self, conversation_id: int, message_id: int, text: str, now: datetime
    ) -> TurnResult:
        """Run the graph for a stored inbound message (safe to repeat: effects apply once).

        The checkpoint is written when the turn ends ("exit" durability): a turn is one unit
        whose input is already stored and whose effects commit in one transaction, so a crash
        mid-turn simply replays the turn from the previous checkpoint. Checkpointing every
        step cost a third of the turn's time for no extra safety.
        """
        turn = {
            "conversation_id": conversation_id,
            "inbound": text[:MAX_TEXT_CHARS],
            "inbound_message_id": message_id,
            "now": now.isoformat(),
        }
        if self.awaiting_supervisor(conversation_id):
            state = self._turn_beside_the_pause(turn)
        else:
            state = self.graph.invoke(turn, thread_config(conversation_id), durability="exit")
        return TurnResult(
            conversation_id=conversation_id,
            inbound_id=message_id,
            reply=state.get("reply", ""),
            action=state.get("action", ""),
            stage=state.get("stage", ""),
            understanding=state.get("understanding", {}),
            agreement_id=state.get("agreement_id"),
            guard=state.get("guard", {}),
            usage=state.get("usage", {}),
        )

    def awaiting_supervisor(self, conversation_id: int) -> bool:
        """Whether the conversation's run is paused for a supervisor's decision."""
        snapshot = self.graph.get_state(thread_config(conversation_id))
        return bool(snapshot.interrupts) or "supervisor" in snapshot.next

    def _turn_beside_the_pause(self, turn: dict[str, Any]) -> dict[str, Any]:
        """Answer a message while the run waits for a supervisor, without touching the run.

        New input to an interrupted thread would start a fresh run and drop the pending
        interrupt, so the same nodes run here outside the graph on a copy of the paused state:
        the message is understood and stored, an opt-out or a request for a person is honoured,
        and otherwise the debtor gets the holding reply. The paused run is left as it was.
        """
        state: dict[str, Any] = {**self.state(turn["conversation_id"]), **turn}
        nodes = self.nodes
        for step in (nodes.load_context, nodes.understand, nodes.decide):
            state |= step(state)  # type: ignore[arg-type]
        if state.get("action"):
            if state.get("ask"):
                state |= nodes.offer(state)  # type: ignore[arg-type]
            state |= nodes.draft(state)  # type: ignore[arg-type]
            state |= nodes.guard(state)  # type: ignore[arg-type]
        state["approval"] = None  # nothing new to approve from here
        return state | nodes.respond(state)  # type: ignore[arg-type]

    def decide_approval(
        self, agreement_id: int, decision: SupervisorDecision, now: datetime | None = None
    ) -> TurnResult:
        """Resume the paused run with a supervisor's decision; the debtor is told the outcome."""
        now = now or datetime.now(UTC)
        with session_scope(self.engine) as session:
            agreement, _ = pending_approval(session, agreement_id)
            conversation_id = agreement.conversation_id
            # Checked before resuming: a resume value the paused node then fails on stays in
            # the checkpoint, and every later resume would read it again.
            account = session.get(Account, agreement.account_id)
            assert account is not None  # foreign key
            check_decision(decision, agreement, now.astimezone(ZoneInfo(account.timezone)).date())
        if not self.awaiting_supervisor(conversation_id):
            raise ApprovalConflict(f"conversation {conversation_id} is not waiting for a decision")
        resume = {"decision": decision.model_dump(mode="json"), "now": now.isoformat()}
        state = self.graph.invoke(
            Command(resume=resume), thread_config(conversation_id), durability="exit"
        )
        return TurnResult(
            conversation_id=conversation_id,
            inbound_id=state.get("inbound_message_id", 0),
            reply=state.get("reply", "") if state.get("action") else "",
            action=state.get("action", ""),
            stage=state.get("stage", ""),
            agreement_id=agreement_id,
            guard=state.get("guard", {}),
            usage=state.get("usage", {}),
        )

    def expire_overdue_approvals(self, now: datetime | None = None) -> list[TurnResult]:
        """Close the approvals nobody decided before their offer's validity passed.

        Each paused run resumes with an "expire" decision: the agreement and its approval
        become expired, the debtor is told and sees the options in force today.
        """
        now = now or datetime.now(UTC)
        with session_scope(self.engine) as session:
            overdue = overdue_approvals(session, now)
        expire = SupervisorDecision(decision="expire", decided_by="system:offer_validity")
        return [self.decide_approval(agreement_id, expire, now) for agreement_id in overdue]

    def state(self, conversation_id: int) -> dict[str, Any]:
        return dict(self.graph.get_state(thread_config(conversation_id)).values)


@contextmanager
def open_negotiator(settings: Settings | None = None) -> Iterator[Negotiator]:
    """A Negotiator on the configured database, mandate and durable checkpointer."""
    settings = settings or get_settings()
    settings.checkpoints.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(settings.checkpoints), check_same_thread=False)
    prepare_sqlite(conn)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        provider = get_provider(settings)
        examples = playbook_examples(settings) if provider.name != "offline" else None
        yield Negotiator(
            engine_for(settings.database_url),
            load_mandate(settings.mandate),
            saver,
            provider,
            examples,
        )
    finally:
        conn.close()


def playbook_examples(settings: Settings) -> ExampleSource | None:
    """The playbook's example search for the drafter, indexed first if the files changed.

    Retrieval only helps the wording: when it cannot be had, drafts go without examples.
    """
    try:
        playbook = Playbook.shared(settings)
        stats = playbook.sync()
    except Exception:
        log.warning("playbook unavailable: drafting without examples", exc_info=True)
        return None
    log.info("playbook: %d entries (%d written)", stats.total, stats.written)
    return playbook.examples
