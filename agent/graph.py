"""The negotiation graph: load_context, understand, decide, (offer), draft, guard, respond.

Each node is a small method of `TurnNodes`, which holds the dependencies (database engine,
mandate). State is checkpointed per conversation thread, so a new process picks a
half-finished negotiation up where it was.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt
from sqlalchemy import Engine

from agent import store
from agent.actions import Action, ReplyFacts
from agent.approvals import SupervisorDecision, apply_decision
from agent.buttons import PRESENTING_ACTIONS, reply_buttons
from agent.decide import PolicyAsk, Situation, decide
from agent.drafting import address_name, draft_and_guard, render_reply
from agent.llm import steps as llm_steps
from agent.llm.memory import RECENT_MESSAGES, rolled, summary_line
from agent.llm.provider import OfflineProvider, Provider
from agent.llm.steps import ExampleSource
from agent.llm.usage import TurnUsage
from agent.state import ConversationState
from agent.store.db import session_scope
from agent.store.models import Stage
from agent.understanding.offline import classify
from agent.understanding.schema import Understanding
from policies.formatting import locale_for
from policies.mandate import Mandate, UnsupportedCurrencyError
from policies.offers import NothingToSettleError, compute_offer, evaluate_counteroffer
from policies.packs import load_pack, pack_code_for
from policies.plans import (
    AccountSnapshot,
    Counteroffer,
    CounterofferOutcome,
    Offer,
    PaymentPlan,
)


class TurnNodes:
    def __init__(
        self,
        engine: Engine,
        mandate: Mandate,
        provider: Provider | None = None,
        examples: ExampleSource | None = None,
    ) -> None:
        self.engine = engine
        self.mandate = mandate
        self.provider: Provider = provider or OfflineProvider()
        self.examples = examples

    @property
    def uses_model(self) -> bool:
        return self.provider.name != "offline"

    # -- load_context ------------------------------------------------------------------
    def load_context(self, state: ConversationState) -> dict[str, Any]:
        with session_scope(self.engine) as session:
            ctx = store.load_context(session, state["conversation_id"])
            history = (
                store.recent_messages(
                    session, state["conversation_id"], state["inbound_message_id"], RECENT_MESSAGES
                )
                if self.uses_model
                else []
            )
        today = _today(state["now"], ctx.account.timezone)
        snapshot = store.account_snapshot(ctx.account, today)
        return {
            "usage": TurnUsage(self.provider.name, self.provider.model).as_dict(),
            "history": history,
            "account": snapshot.model_dump(mode="json"),
            "debtor_first_name": address_name(ctx.debtor.name, ctx.account.segment),
            "account_reference": ctx.account.reference,
            "identity_method": "document_digits" if ctx.debtor.document_last4 else "name",
            "document_last4": ctx.debtor.document_last4,
            "stage": str(ctx.conversation.stage),
            "identity_verified": ctx.conversation.identity_verified,
        }

    # -- understand --------------------------------------------------------------------
    def understand(self, state: ConversationState) -> dict[str, Any]:
        now = _local_now(state["now"], state["account"]["timezone"])
        u = classify(state["inbound"], state.get("last_agent_message"), now=now)
        if not self.uses_model:
            return {"understanding": u.model_dump(mode="json")}
        usage = TurnUsage.from_dict(state.get("usage"))
        u = llm_steps.understand(
            self.provider, state["inbound"], state.get("last_agent_message"), now, u, usage
        )
        return {"understanding": u.model_dump(mode="json"), "usage": usage.as_dict()}

    # -- decide ------------------------------------------------------------------------
    def decide(self, state: ConversationState) -> dict[str, Any]:
        u = Understanding.model_validate(state["understanding"])
        offer = _offer(state)
        pending = _pending_plan(state)
        today = _today(state["now"], state["account"]["timezone"])
        situation = Situation(
            stage=Stage(state["stage"]),
            identity_verified=state["identity_verified"],
            identity_method=state["identity_method"],
            document_last4=state.get("document_last4"),
            identity_attempts=state.get("identity_attempts", 0),
            has_offer=offer is not None,
            offer_numbers=tuple(o.number for o in offer.options) if offer else (),
            has_pending_plan=pending is not None,
            pending_plan_needs_approval=bool(pending and pending.needs_approval),
            pending_plan_expired=bool(pending and pending.valid_until < today),
            clarify_streak=state.get("clarify_streak", 0),
            last_action=state.get("last_action"),
            text=state["inbound"],
        )
        d = decide(u, situation)
        update: dict[str, Any] = {
            "action": d.action.value if d.action else "",
            "effects": {k: v.value if isinstance(v, Enum) else v for k, v in d.effects.items()},
            "handoff_reason": d.handoff_reason,
            "counter_reason": "",
            "counter_outcome": "",
            # Per-turn outputs start empty: nothing of the previous turn may leak into this one.
            "draft": None,
            "model_draft": None,
            "approval": None,
            "buttons": [],
            "guard": {},
            "reply": "",
            "ask": d.ask.value if d.ask else "",
            "ask_option": d.option,
            "ask_counter": d.counteroffer.model_dump(mode="json") if d.counteroffer else None,
        }
        if not d.keep_pending_plan and d.ask is None:
            update["pending_plan"] = None
        return update

    # -- offer -------------------------------------------------------------------------
    def offer(self, state: ConversationState) -> dict[str, Any]:
        try:
            return self._ask_policy(state)
        except (NothingToSettleError, UnsupportedCurrencyError) as e:
            # Nothing the mandate lets the agent offer (paid up, unknown currency): a person checks.
            reason = "nothing_to_settle" if isinstance(e, NothingToSettleError) else "no_mandate"
            return {
                "action": Action.handoff.value,
                "handoff_reason": reason,
                "effects": {"stage": Stage.handed_off.value, "handoff_reason": reason},
                "pending_plan": None,
            }

    def _ask_policy(self, state: ConversationState) -> dict[str, Any]:
        account = AccountSnapshot.model_validate(state["account"])
        today = _today(state["now"], account.timezone)
        offer = _offer(state)
        if offer is None or offer.valid_until < today or state["ask"] == PolicyAsk.options:
            offer = compute_offer(account, self.mandate, today)
        update: dict[str, Any] = {"offer": offer.model_dump(mode="json"), "pending_plan": None}
        ask = PolicyAsk(state["ask"])
        if ask is PolicyAsk.option:
            option = offer.option(state["ask_option"] or 1)
            if option is None:
                return update | {"action": Action.clarify.value, "effects": {}}
            update |= {"pending_plan": option.plan.model_dump(mode="json")}
            update["pending_option"] = option.number
        elif ask is PolicyAsk.counteroffer:
            verdict = evaluate_counteroffer(
                account, self.mandate, today, Counteroffer.model_validate(state["ask_counter"])
            )
            plan = verdict.plan if verdict.outcome is not CounterofferOutcome.infeasible else None
            if plan is None and verdict.closest is not None:
                update["action"] = Action.propose_alternative.value
                plan = verdict.closest
            if plan is None:  # nothing feasible near what they asked: show the options
                update |= {"action": Action.offer.value, "effects": {"stage": "negotiating"}}
            else:
                update["pending_plan"] = plan.model_dump(mode="json")
            update["pending_option"] = None
            update["counter_reason"] = ",".join(verdict.reasons)
            update["counter_outcome"] = verdict.outcome.value
        return update

    # -- draft -------------------------------------------------------------------------
    def draft(self, state: ConversationState) -> dict[str, Any]:
        action = Action(state["action"])
        facts = self._facts(state, action)
        try:
            draft: str | None = render_reply(
                action, facts, _seed(state), just_verified=_just_verified(state)
            )
        except Exception:  # a broken template: the guard step records it and falls back
            draft = None
        update: dict[str, Any] = {
            "facts": facts.model_dump(mode="json"),
            "draft": draft,
            "buttons": reply_buttons(action, facts),
        }
        if self.uses_model and draft is not None:
            update |= self._model_draft(state, action, facts, draft)
        return update

    def _model_draft(
        self, state: ConversationState, action: Action, facts: ReplyFacts, reference: str
    ) -> dict[str, Any]:
        """The model's wording of the template `reference`, when it passes the guard."""
        usage = TurnUsage.from_dict(state.get("usage"))
        inputs = llm_steps.DraftInputs(
            inbound=state["inbound"],
            segment=state["account"].get("segment", "standard"),
            summary=state.get("summary", []),
            history=state.get("history", []),
            turns_before=state.get("turns", 0),
        )
        result = llm_steps.draft(
            self.provider, action, facts, reference, inputs, usage, self.examples
        )
        model = {
            "used": result.text is not None,
            "retried": result.retried,
            "first_outcome": result.first_verdict.outcome if result.first_verdict else None,
            "first_rules": [v.rule_id for v in result.first_verdict.violations]
            if result.first_verdict
            else [],
        }
        update: dict[str, Any] = {"usage": usage.as_dict(), "model_draft": model}
        if result.text is not None:
            update["draft"] = result.text
        return update

    def _facts(self, state: ConversationState, action: Action) -> ReplyFacts:
        account = AccountSnapshot.model_validate(state["account"])
        u = Understanding.model_validate(state["understanding"])
        today = _today(state["now"], account.timezone)
        return ReplyFacts(
            debtor_first_name=state["debtor_first_name"],
            creditor=account.creditor,
            locale=locale_for(account.jurisdiction),
            currency=account.currency,
            account_reference=state["account_reference"],
            balance=account.balance,
            principal=account.principal,
            interest=account.interest,
            fees=account.fees,
            days_past_due=account.days_past_due,
            today=today,
            offer=_offer(state),
            plan=_pending_plan(state),
            # "the terms of option 2" only means something to a debtor who saw the options
            plan_option_number=state.get("pending_option")
            if state.get("last_action") in PRESENTING_ACTIONS
            else None,
            objections=u.objections,
            hardship=u.hardship,
            vulnerability=u.vulnerability,
            identity_method=state["identity_method"],
            identity_confirmed=bool(
                state["identity_verified"] or state.get("effects", {}).get("identity_verified")
            ),
            wrong_party=action == Action.wrong_party or state["stage"] == Stage.wrong_party,
            pack=pack_code_for(account.jurisdiction),
            identity_attempt=state.get("effects", {}).get("identity_attempts", 0),
            handoff_reason=state.get("handoff_reason", ""),
            counter_rejected_reason=state.get("counter_reason", ""),
        )

    # -- guard -------------------------------------------------------------------------
    def guard(self, state: ConversationState) -> dict[str, Any]:
        action = Action(state["action"])
        facts = ReplyFacts.model_validate(state["facts"])
        reply, verdict, fallback = draft_and_guard(
            action,
            facts,
            _seed(state),
            draft=state.get("draft"),
            just_verified=_just_verified(state),
        )
        pack = load_pack(facts.pack).version if facts.pack else None
        guard = {**verdict.model_dump(mode="json"), "fallback": fallback, "pack": pack}
        if state.get("model_draft"):
            guard["model"] = state["model_draft"]
        return {"guard": guard, "reply": reply}

    # -- respond -----------------------------------------------------------------------
    def respond(self, state: ConversationState) -> dict[str, Any]:
        with session_scope(self.engine) as session:
            outcome = store.record_turn(session, state)
        update: dict[str, Any] = {
            "agreement_id": outcome.agreement_id,
            "stage": outcome.stage,
            "identity_verified": outcome.identity_verified,
            "identity_attempts": state.get("effects", {}).get(
                "identity_attempts", state.get("identity_attempts", 0)
            ),
        }
        action = state.get("action")
        if action:
            update |= {
                "summary": rolled(
                    state.get("summary", []), summary_line(state["understanding"], action)
                ),
                "turns": state.get("turns", 0) + 1,
                "last_agent_message": state["reply"],
                "last_action": action,
                "clarify_streak": state.get("clarify_streak", 0) + 1
                if action == Action.clarify
                else 0,
            }
        else:
            update["reply"] = ""
        if outcome.agreement_id is not None:
            update["pending_plan"] = None
            plan = _pending_plan(state)
            if plan is not None and plan.needs_approval:
                pending = {"agreement_id": outcome.agreement_id, "plan": state["pending_plan"]}
                update["approval"] = pending
        return update

    # -- supervisor --------------------------------------------------------------------
    def supervisor(self, state: ConversationState) -> dict[str, Any]:
        """Pause until a supervisor decides; then apply the decision and word it for the debtor.

        The turn that created the agreement is already stored (and its holding reply queued):
        this run waits in the checkpointer, across restarts, for `Command(resume=...)`.
        """
        pending = state["approval"] or {}
        resumed = interrupt(
            {
                "kind": "agreement_approval",
                "agreement_id": pending.get("agreement_id"),
                "conversation_id": state["conversation_id"],
            }
        )
        decision = SupervisorDecision.model_validate(resumed["decision"])
        now = datetime.fromisoformat(resumed["now"])
        today = _today(resumed["now"], state["account"]["timezone"])
        with session_scope(self.engine) as session:
            outcome = apply_decision(session, pending["agreement_id"], decision, now, today)
        update: dict[str, Any] = {
            "approval": None,
            "announcing": True,
            "now": now.isoformat(),
            "inbound": "",
            "stage": outcome.stage,
            "effects": {},
            "ask": "",
            "model_draft": None,
            "usage": TurnUsage(self.provider.name, self.provider.model).as_dict(),
            "understanding": {"intent": "other"},
        }
        if not outcome.announce:
            return update | {"action": ""}
        if decision.decision == "approve":
            approved = {"action": Action.agreement_active.value, "pending_plan": pending["plan"]}
            return update | approved
        if outcome.counter_plan is not None:
            plan = outcome.counter_plan.model_dump(mode="json")
            return update | {
                "action": Action.confirm_plan.value,
                "pending_plan": plan,
                "pending_option": None,
            }
        declined = (
            Action.approval_expired if decision.decision == "expire" else Action.approval_declined
        )
        return update | {
            "action": declined.value,
            "pending_plan": None,
            "ask": PolicyAsk.options.value,
        }

    # -- announce ----------------------------------------------------------------------
    def announce(self, state: ConversationState) -> dict[str, Any]:
        """Queue a message the agent starts (a decision's outcome), not a reply to the debtor."""
        if state.get("action"):
            with session_scope(self.engine) as session:
                store.record_announcement(session, state)
        update: dict[str, Any] = {"announcing": False}
        if state.get("action"):
            update |= {
                "last_agent_message": state["reply"],
                "last_action": state["action"],
                "summary": rolled(
                    state.get("summary", []), summary_line({"intent": "other"}, state["action"])
                ),
            }
        if state.get("action") == Action.agreement_active:
            update["pending_plan"] = None
        return update


def _route_after_respond(state: ConversationState) -> str:
    return "supervisor" if state.get("approval") else END


def _route_after_supervisor(state: ConversationState) -> str:
    if not state.get("action"):
        return "announce"
    return "offer" if state.get("ask") else "draft"


def _route_after_guard(state: ConversationState) -> str:
    return "announce" if state.get("announcing") else "respond"


def _route_after_decide(state: ConversationState) -> str:
    if not state.get("action"):
        return "respond"
    return "offer" if state.get("ask") else "draft"


def build_graph(
    engine: Engine,
    mandate: Mandate,
    checkpointer: BaseCheckpointSaver | None,
    provider: Provider | None = None,
    examples: ExampleSource | None = None,
) -> CompiledStateGraph:
    return compile_graph(TurnNodes(engine, mandate, provider, examples), checkpointer)


def compile_graph(nodes: TurnNodes, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    g = StateGraph(ConversationState)
    g.add_node("load_context", nodes.load_context)
    g.add_node("understand", nodes.understand)
    g.add_node("decide", nodes.decide)
    g.add_node("offer", nodes.offer)
    g.add_node("draft", nodes.draft)
    g.add_node("guard", nodes.guard)
    g.add_node("respond", nodes.respond)
    g.add_node("supervisor", nodes.supervisor)
    g.add_node("announce", nodes.announce)
    g.add_edge(START, "load_context")
    g.add_edge("load_context", "understand")
    g.add_edge("understand", "decide")
    g.add_conditional_edges("decide", _route_after_decide, ["offer", "draft", "respond"])
    g.add_edge("offer", "draft")
    g.add_edge("draft", "guard")
    g.add_conditional_edges("guard", _route_after_guard, ["respond", "announce"])
    g.add_conditional_edges("respond", _route_after_respond, ["supervisor", END])
    g.add_conditional_edges("supervisor", _route_after_supervisor, ["offer", "draft", "announce"])
    g.add_edge("announce", END)
    return g.compile(checkpointer=checkpointer)


def _seed(state: ConversationState) -> str:
    """Variant choice: stable per message, different across turns and conversations."""
    return f"{state['conversation_id']}:{state['inbound_message_id']}"


def _just_verified(state: ConversationState) -> bool:
    """This turn is the one that confirmed the debtor's identity."""
    return bool(state.get("effects", {}).get("identity_verified")) and not state.get(
        "identity_verified"
    )


def _offer(state: ConversationState) -> Offer | None:
    raw = state.get("offer")
    return Offer.model_validate(raw) if raw else None


def _pending_plan(state: ConversationState) -> PaymentPlan | None:
    raw = state.get("pending_plan")
    return PaymentPlan.model_validate(raw) if raw else None


def _local_now(now_iso: str, tz: str) -> datetime:
    return datetime.fromisoformat(now_iso).astimezone(ZoneInfo(tz))


def _today(now_iso: str, tz: str) -> date:
    return _local_now(now_iso, tz).date()
