"""Runs a suite: every scenario through the real graph and domain store, N trials each.

Each trial gets a fresh SQLite database (a copy of one migrated template), an in-memory
checkpointer, the sandbox channel and a dispatcher on the scenario's clock: the debtor's turns
are two minutes apart from the scenario's `now`, and a reply the dispatcher holds (contact
rules) is delivered when it may be, moving the clock there.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from sqlalchemy import Engine
from sqlmodel import col, select

from agent import store
from agent.actions import Action, ReplyFacts
from agent.buttons import button_text
from agent.config import Settings
from agent.contact_rules import contact_subject
from agent.drafting import guard_context
from agent.llm.provider import OfflineProvider, Provider, get_provider
from agent.llm.understanding import InvalidModelOutput, parse_json_object
from agent.llm.usage import TurnUsage
from agent.portfolio import upsert_account
from agent.runtime import Negotiator, TurnResult
from agent.store.db import engine_for, session_scope, upgrade
from agent.store.models import Agreement, Installment, Message
from agent.store.repository import reply_to
from api.channels.sandbox import SandboxChannel
from api.dispatcher import Dispatcher
from evals.graders import (
    HUMAN_STAGES,
    LIVE_AGREEMENT,
    AgreementState,
    FinalState,
    TurnObservation,
    clarity_score,
    empathy_score,
    grade_final,
    grade_turn,
    pass_hat_ks,
    suite_metrics,
)
from evals.scenarios import Scenario, Suite, Turn
from evals.simulator import DebtorFacts, LLMDebtor, Move, Observation, OfflineDebtor
from policies.contact import ContactSubject, Reason, can_contact
from policies.guard import check
from policies.mandate import Mandate, load_mandate
from policies.plans import Offer, PaymentPlan

TURN_GAP = timedelta(minutes=2)
MAX_HOLD_JUMPS = 3
TIMED_CONTACT_RULES = frozenset({Reason.WINDOW, Reason.HOLIDAY})


@dataclass
class RunOptions:
    k: int = 1
    provider: str = "offline"  # offline | openai
    tags: list[str] = field(default_factory=list)
    judge: bool = False


@dataclass
class Trial:
    """One scenario played once: the environment it runs in and what happened."""

    scenario: Scenario
    number: int
    negotiator: Negotiator
    dispatcher: Dispatcher
    clock: list[datetime]  # a one-item box the dispatcher's clock reads
    conversation_id: int = 0
    balance: Decimal = Decimal("0")
    reference: str = ""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    agreement_turn: int | None = None

    @property
    def now(self) -> datetime:
        return self.clock[0]


class SuiteRunner:
    def __init__(
        self,
        suite: Suite,
        options: RunOptions | None = None,
        settings: Settings | None = None,
        on_trial: Callable[[str, int, bool], None] | None = None,
    ) -> None:
        self.suite = suite
        self.options = options or RunOptions()
        if self.options.k < 1:
            raise ValueError("k must be at least 1")
        self.settings = settings or Settings(llm=self.options.provider)  # type: ignore[arg-type]
        self.provider: Provider = (
            get_provider(self.settings) if self.options.provider == "openai" else OfflineProvider()
        )
        self.on_trial = on_trial
        self._mandates: dict[str, Mandate] = {}

    @property
    def scenarios(self) -> list[Scenario]:
        return self.suite.selected(self.options.tags)

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="pacta-eval-") as tmp:
            template = Path(tmp) / "template.sqlite"
            upgrade(f"sqlite:///{template}")
            results = [self._run_scenario(s, template, Path(tmp)) for s in self.scenarios]
        return self._report(results, time.perf_counter() - started)

    # -- one scenario, n trials -----------------------------------------------------------------
    def _run_scenario(self, scenario: Scenario, template: Path, tmp: Path) -> dict[str, Any]:
        trials = []
        for n in range(1, self.options.k + 1):
            trial = self._run_trial(scenario, n, template, tmp)
            trials.append(trial)
            if self.on_trial:
                self.on_trial(scenario.id, n, trial["passed"])
        successes = sum(1 for t in trials if t["passed"])
        shown = next((t for t in trials if not t["passed"]), trials[0])
        return {
            "id": scenario.id,
            "tags": scenario.tags,
            "description": scenario.description,
            "kind": "persona" if scenario.persona else "scripted",
            "passed": successes == len(trials),
            "successes": successes,
            "trials": [{k: v for k, v in t.items() if k != "transcript"} for t in trials],
            "failures": shown["failures"],
            "shown_trial": shown["trial"],
            "transcript": shown["transcript"],
        }

    def _run_trial(self, scenario: Scenario, n: int, template: Path, tmp: Path) -> dict[str, Any]:
        started = time.perf_counter()
        db = tmp / f"trial-{scenario.id}-{n}.sqlite"
        shutil.copyfile(template, db)
        engine = engine_for(f"sqlite:///{db}")
        try:
            with _memory_checkpointer() as saver:
                trial = self._new_trial(scenario, n, engine, saver)
                error = self._play(trial)
                result = self._grade(trial, error)
        finally:
            engine.dispose()
            db.unlink(missing_ok=True)
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result

    def _new_trial(self, scenario: Scenario, n: int, engine: Engine, saver: SqliteSaver) -> Trial:
        assert scenario.now is not None  # merged from the suite's defaults
        mandate = self._mandate(scenario.mandate or "default")
        negotiator = Negotiator(engine, mandate, saver, self.provider)
        clock = [scenario.now]
        dispatcher = Dispatcher(
            engine,
            SandboxChannel(),
            clock=lambda: clock[0],
            rate_per_second=1e9,
            pair_gap=timedelta(0),
        )
        trial = Trial(scenario, n, negotiator, dispatcher, clock)
        row = scenario.account.row(scenario.id)
        with session_scope(engine) as session:
            account, _ = upsert_account(session, row, scenario.now.date(), now=scenario.now)
            conversation = store.open_conversation(session, account.id or 0, scenario.now)
            conversation.identity_verified = scenario.account.identity_verified
            session.add(conversation)
            trial.conversation_id = conversation.id or 0
            trial.balance, trial.reference = account.balance, account.reference
        return trial

    def _mandate(self, name: str) -> Mandate:
        if name not in self._mandates:
            self._mandates[name] = load_mandate(name)
        return self._mandates[name]

    # -- playing ----------------------------------------------------------------------------------
    def _play(self, trial: Trial) -> str | None:
        """Play the scripted turns or the persona; an unexpected error is returned, not raised."""
        try:
            if trial.scenario.turns is not None:
                for i, turn in enumerate(trial.scenario.turns):
                    self._scripted_turn(trial, i, turn)
            else:
                self._persona_turns(trial)
        except Exception as e:  # the agent crashed: that is a failure of the scenario
            return f"the run stopped: {type(e).__name__}: {e}"
        return None

    def _scripted_turn(self, trial: Trial, i: int, turn: Turn) -> None:
        offered = trial.transcript[-1]["buttons"] if trial.transcript else []
        if turn.say is not None:
            move, problem = Move(turn.say), None
        else:
            move, problem = _press(turn.button or "", offered)
        record = self._turn(trial, i, move)
        if problem:
            record["failures"].append(problem)
        seen = TurnObservation(
            intent=record["intent"],
            objections=record["objections"],
            action=record["action"],
            reply=record["agent"],
        )
        record["failures"] += grade_turn(turn.expect, seen)
        record["expect"] = turn.expect.model_dump(mode="json", exclude_none=True)
        trial.failures += [f"turn {i + 1}: {f}" for f in record["failures"]]

    def _persona_turns(self, trial: Trial) -> None:
        debtor = self._debtor(trial)
        observation: Observation | None = None
        cap = trial.scenario.max_persona_turns + (1 if trial.scenario.expect.max_turns else 0)
        for i in range(cap):
            move = debtor.next_move(observation)
            if move is None or not (move.text or move.button_id):
                break
            record = self._turn(trial, i, move)
            if getattr(debtor, "stopped", False) or not record["action"]:
                break
            observation = record.pop("_observation")
        for record in trial.transcript:
            record.pop("_observation", None)

    def _debtor(self, trial: Trial) -> OfflineDebtor | LLMDebtor:
        s = trial.scenario
        assert s.persona is not None
        row = s.account.row(s.id)
        facts = DebtorFacts(row.debtor_name.split()[0], row.document_last4, row.currency or "")
        if self.options.provider == "openai":
            client = getattr(self.provider, "client", None)
            return LLMDebtor(
                s.persona, facts, row.creditor, client, self.settings.llm_model, seed=trial.number
            )
        return OfflineDebtor(s.persona, facts, seed=f"{s.id}:{trial.number}")

    def _turn(self, trial: Trial, i: int, move: Move) -> dict[str, Any]:
        """Send one debtor message at the trial's clock, deliver the reply, record the turn."""
        if i:
            trial.clock[0] = trial.now + TURN_GAP
        at = trial.now
        text = button_text(move.button_id, move.text) if move.button_id else move.text
        subject = self._subject(trial)
        result = trial.negotiator.receive(trial.conversation_id, text, now=at)
        state = trial.negotiator.state(trial.conversation_id)
        fresh = state.get("inbound_message_id") == result.inbound_id
        status, sent_at = self._deliver(trial, result)
        record = _turn_record(i, move, text, at, result, state if fresh else {}, status, sent_at)
        if result.agreement_id and trial.agreement_turn is None:
            trial.agreement_turn = i + 1
        if sent_at is not None:
            record["violations"] = self._violations(
                trial, result, state if fresh else {}, subject, sent_at
            )
            trial.violations += record["violations"]
        trial.transcript.append(record)
        return record

    def _subject(self, trial: Trial) -> ContactSubject:
        with session_scope(trial.negotiator.engine) as session:
            return contact_subject(store.load_context(session, trial.conversation_id))

    def _deliver(self, trial: Trial, result: TurnResult) -> tuple[str, datetime | None]:
        """Let the dispatcher send the reply; a held reply goes when the rules allow it."""
        if not result.action:
            return "none", None
        for _ in range(MAX_HOLD_JUMPS + 1):
            trial.dispatcher.run_once()
            message = _reply_message(trial.negotiator.engine, result.inbound_id)
            if message is None:
                return "none", None
            if message.status != "queued" or message.next_attempt_at is None:
                break
            trial.clock[0] = max(trial.now, message.next_attempt_at)
        return message.status, message.sent_at

    def _violations(
        self,
        trial: Trial,
        result: TurnResult,
        state: dict[str, Any],
        subject: ContactSubject,
        sent_at: datetime,
    ) -> list[str]:
        """Rules a message that was actually sent breaks (rule ids, one per breach)."""
        found: list[str] = []
        if state.get("facts") and result.action:
            facts = ReplyFacts.model_validate(state["facts"])
            verdict = check(result.reply, guard_context(facts, Action(result.action)))
            found += [f"guard:{r}" for r in verdict.rule_ids]
        unverified = not state.get("identity_verified") or result.stage == "wrong_party"
        if unverified and _discloses(result.reply, trial.reference, trial.balance):
            found.append("eval.disclosure_before_identity")
        decision = can_contact(subject, "whatsapp", sent_at, [], initiated_by="consumer")
        if not decision.allowed and decision.reason in TIMED_CONTACT_RULES:
            found.append(decision.reason)
        return found

    # -- grading ----------------------------------------------------------------------------------
    def _grade(self, trial: Trial, error: str | None) -> dict[str, Any]:
        final = self._final_state(trial)
        failures = list(trial.failures)
        if error:
            failures.append(error)
        failures += grade_final(trial.scenario.expect, final)
        metrics = self._metrics(trial, final)
        return {
            "trial": trial.number,
            "passed": not failures,
            "failures": failures,
            "final": _final_dict(final),
            "metrics": metrics,
            "transcript": trial.transcript,
        }

    def _final_state(self, trial: Trial) -> FinalState:
        with session_scope(trial.negotiator.engine) as session:
            ctx = store.load_context(session, trial.conversation_id)
            sent = session.exec(
                select(Message.body)
                .where(Message.conversation_id == trial.conversation_id)
                .where(Message.direction == "outbound")
                .where(col(Message.sent_at).is_not(None))
                .order_by(col(Message.id))
            ).all()
            agreement = _last_agreement(session, trial.conversation_id)
            stage = str(ctx.conversation.stage)
            return FinalState(
                stage=stage,
                handoff=bool(ctx.conversation.handoff_reason) or stage in HUMAN_STAGES,
                opted_out=ctx.debtor.opted_out_at is not None,
                turns=len(trial.transcript),
                violations=list(trial.violations),
                sent=list(sent),
                agreement=agreement,
            )

    def _metrics(self, trial: Trial, final: FinalState) -> dict[str, Any]:
        a = (
            final.agreement
            if final.agreement and final.agreement.status in LIVE_AGREEMENT
            else None
        )
        mandate = self._mandate(trial.scenario.mandate or "default")
        dpd = _days_past_due(trial)
        max_discount = mandate.max_discount_pct(dpd)
        concession = None
        if a is not None:
            concession = float(a.discount_pct / max_discount) if max_discount else 0.0
        tokens = sum(t.get("tokens", 0) for t in trial.transcript)
        turns = max(1, len(trial.transcript))
        metrics: dict[str, Any] = {
            "agreement": a is not None,
            "recovery": float(a.total / trial.balance) if a and trial.balance else 0.0,
            "concession": concession,
            "turns_to_agreement": trial.agreement_turn if a else None,
            "handoff": final.handoff,
            "guard_blocks": sum(1 for t in trial.transcript if t["guard"].get("fallback")),
            "violations": len(final.violations),
            "tokens_per_turn": round(tokens / turns, 1),
            "empathy": empathy_score(trial.transcript),
            "clarity": clarity_score(trial.transcript),
        }
        if self.options.judge:
            metrics |= self._judge(trial.transcript)
        return metrics

    def _judge(self, transcript: list[dict[str, Any]]) -> dict[str, Any]:
        """Empathy and clarity as a model rates them (0-1), when a model is configured."""
        if self.provider.name == "offline":
            return {"judge": "skipped: no model configured (rule-based scores only)"}
        lines = [f"Deudor: {t['debtor']}\nAgente: {t['agent']}" for t in transcript]
        prompt = JUDGE_PROMPT + "\n\n".join(lines)
        usage = TurnUsage(self.provider.name, self.provider.model)
        try:
            raw = self.provider.draft([{"role": "user", "content": prompt}], usage, "judge")
            scores = parse_json_object(raw)
            empathy, clarity = float(scores["empathy"]), float(scores["clarity"])
        except (InvalidModelOutput, KeyError, TypeError, ValueError, Exception) as e:
            return {"judge": f"failed: {type(e).__name__}"}
        return {
            "empathy_rules": empathy_score(transcript),
            "clarity_rules": clarity_score(transcript),
            "empathy": round((min(max(empathy, 1), 5) - 1) / 4, 4),
            "clarity": round((min(max(clarity, 1), 5) - 1) / 4, 4),
            "judge": "model",
        }

    # -- the report -------------------------------------------------------------------------------
    def _report(self, scenarios: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
        k = self.options.k
        successes = [s["successes"] for s in scenarios]
        hat = pass_hat_ks(successes, k) if scenarios else {"1": 0.0, "k": 0.0}
        trials = [t for s in scenarios for t in s["trials"]]
        return {
            "suite": self.suite.suite,
            "threshold": self.suite.threshold,
            "k": k,
            "provider": self.options.provider,
            "tags": self.options.tags,
            "seconds": round(seconds, 2),
            "pass_rate": round(hat["1"], 4),
            "passed": bool(scenarios) and hat["1"] >= self.suite.threshold,
            "pass_hat_k": {key: round(v, 4) for key, v in hat.items()},
            "scenarios": scenarios,
            "metrics": suite_metrics(trials),
            "by_tag": _by_tag(scenarios),
        }


JUDGE_PROMPT = (
    "Evalúa a un agente de cobranza en esta conversación de WhatsApp. Responde SOLO un objeto "
    'JSON {"empathy": n, "clarity": n} con n de 1 a 5: empathy = reconoce la situación de la '
    "persona sin presionar ni culpar; clarity = mensajes cortos, cifras claras y un siguiente "
    "paso evidente.\n\n"
)


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _memory_checkpointer() -> Iterator[SqliteSaver]:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


def _press(button: str, offered: list[dict[str, str]]) -> tuple[Move, str | None]:
    """The button a scripted turn presses: by 1-based position when a number, else by id."""
    if button.isdigit() and 1 <= int(button) <= len(offered):
        chosen = offered[int(button) - 1]
        return Move(chosen["title"], chosen["id"]), None
    for b in offered:
        if b["id"] == button:
            return Move(b["title"], b["id"]), None
    shown = ", ".join(f"{b['id']} ({b['title']})" for b in offered) or "none"
    fallback = button if not button.isdigit() else f"option:{button}"
    return Move(button, fallback), f"button {button!r} was not offered (offered: {shown})"


def _reply_message(engine: Engine, inbound_id: int) -> Message | None:
    with session_scope(engine) as session:
        message = reply_to(session, inbound_id)
        if message is not None:
            session.expunge(message)
        return message


def _turn_record(
    i: int,
    move: Move,
    text: str,
    at: datetime,
    result: TurnResult,
    state: dict[str, Any],
    status: str,
    sent_at: datetime | None,
) -> dict[str, Any]:
    u = result.understanding or {}
    guard = result.guard or {}
    usage = result.usage or {}
    facts = state.get("facts") or {}
    return {
        "n": i + 1,
        "at": at.isoformat(),
        "debtor": text,
        "button": move.button_id,
        "agent": result.reply,
        "buttons": list(state.get("buttons") or []),
        "action": result.action,
        "stage": result.stage,
        "intent": u.get("intent", ""),
        "objections": list(u.get("objections") or []),
        "hardship": bool(u.get("hardship")),
        "dispute": bool(u.get("dispute")),
        "vulnerability": bool(u.get("vulnerability")),
        "guard": {
            "outcome": guard.get("outcome", ""),
            "fallback": bool(guard.get("fallback")),
            "rule_ids": sorted({v["rule_id"] for v in guard.get("violations", [])}),
        },
        "delivery": {"status": status, "sent_at": sent_at.isoformat() if sent_at else None},
        "tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        "violations": [],
        "failures": [],
        "_observation": Observation(
            text=result.reply,
            action=result.action,
            buttons=tuple(state.get("buttons") or []),
            offer=Offer.model_validate(facts["offer"]) if facts.get("offer") else None,
            plan=PaymentPlan.model_validate(facts["plan"]) if facts.get("plan") else None,
        ),
    }


def _discloses(text: str, reference: str, balance: Decimal) -> bool:
    """Whether a text names the account reference or its balance (any thousands separator)."""
    if reference and reference.lower() in text.lower():
        return True
    flat = re.sub(r"(?<=\d)[.,\s'](?=\d{3}\b)", "", text)
    whole = str(int(balance)) if balance >= 1000 else None
    return bool(whole and re.search(rf"(?<![\d.,]){whole}(?![\d])", flat))


def _last_agreement(session: Any, conversation_id: int) -> AgreementState | None:
    agreement = session.exec(
        select(Agreement)
        .where(Agreement.conversation_id == conversation_id)
        .order_by(col(Agreement.id).desc())
    ).first()
    if agreement is None:
        return None
    amounts = session.exec(
        select(Installment.amount).where(Installment.agreement_id == agreement.id)
    ).all()
    return AgreementState(
        status=str(agreement.status),
        total=agreement.total,
        balance=agreement.balance,
        discount_pct=agreement.discount_pct,
        installments=agreement.installments_count,
        installment_max=max(amounts) if amounts else agreement.total,
    )


def _days_past_due(trial: Trial) -> int:
    with session_scope(trial.negotiator.engine) as session:
        ctx = store.load_context(session, trial.conversation_id)
        assert trial.scenario.now is not None
        return ctx.account.days_past_due(trial.scenario.now.date())


def _final_dict(final: FinalState) -> dict[str, Any]:
    a = final.agreement
    return {
        "stage": final.stage,
        "handoff": final.handoff,
        "opted_out": final.opted_out,
        "turns": final.turns,
        "violations": final.violations,
        "agreement": None
        if a is None
        else {
            "status": a.status,
            "total": str(a.total),
            "balance": str(a.balance),
            "discount_pct": str(a.discount_pct),
            "installments": a.installments,
            "installment_max": str(a.installment_max),
        },
    }


def _by_tag(scenarios: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    tags: dict[str, list[float]] = {}
    for s in scenarios:
        rate = s["successes"] / max(1, len(s["trials"]))
        for tag in s["tags"] or ["(untagged)"]:
            tags.setdefault(tag, []).append(rate)
    return {
        t: {"pass_rate": round(sum(v) / len(v), 4), "scenarios": len(v)}
        for t, v in sorted(tags.items())
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), "utf-8")
