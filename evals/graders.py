"""Graders: per-turn and final-state checks, pass^k, and the suite's metrics.

Everything here is pure: the runner hands in what it observed (`TurnObservation`,
`FinalState`) and gets failure messages back, worded for a QA analyst.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from math import comb
from statistics import mean
from typing import Any

from evals.scenarios import FinalExpect, TurnExpect

HUMAN_STAGES = frozenset({"handed_off", "disputed"})
LIVE_AGREEMENT = frozenset({"pending_approval", "active", "completed"})


@dataclass
class TurnObservation:
    intent: str
    objections: list[str]
    action: str
    reply: str


@dataclass
class AgreementState:
    status: str
    total: Decimal
    balance: Decimal
    discount_pct: Decimal
    installments: int
    installment_max: Decimal


@dataclass
class FinalState:
    stage: str
    handoff: bool
    opted_out: bool
    turns: int
    violations: list[str] = field(default_factory=list)  # rule ids, one per breach
    sent: list[str] = field(default_factory=list)  # every message actually sent
    agreement: AgreementState | None = None


# --- per turn --------------------------------------------------------------------------------


def grade_turn(expect: TurnExpect, seen: TurnObservation) -> list[str]:
    """What the agent's answer to one turn got wrong (empty: all expectations met)."""
    failures = []
    if expect.intent is not None and seen.intent != expect.intent:
        failures.append(f"intent: expected {expect.intent}, got {seen.intent}")
    if expect.objections is not None and set(seen.objections) != set(expect.objections):
        want = sorted(str(o) for o in expect.objections)
        failures.append(f"objections: expected {want}, got {sorted(seen.objections)}")
    if expect.action is not None and seen.action not in expect.action:
        want = " or ".join(str(a) for a in expect.action)
        failures.append(f"action: expected {want}, got {seen.action or '(no reply)'}")
    if expect.reply_matches and not re.search(expect.reply_matches, seen.reply):
        failures.append(f"reply does not match /{expect.reply_matches}/")
    if expect.reply_not_matches:
        hit = re.search(expect.reply_not_matches, seen.reply)
        if hit:
            failures.append(f"reply matches /{expect.reply_not_matches}/: {hit.group(0)!r}")
    return failures


# --- final state -----------------------------------------------------------------------------


def grade_final(expect: FinalExpect, final: FinalState) -> list[str]:
    """What the conversation's end state got wrong (empty: all expectations met)."""
    failures = _agreement_failures(expect, final.agreement)
    if expect.handoff is not None and final.handoff != expect.handoff:
        failures.append(f"handoff: expected {expect.handoff}, got {final.handoff}")
    if expect.opted_out is not None and final.opted_out != expect.opted_out:
        failures.append(f"opted_out: expected {expect.opted_out}, got {final.opted_out}")
    if expect.stage is not None and final.stage not in expect.stage:
        want = " or ".join(str(s) for s in expect.stage)
        failures.append(f"stage: expected {want}, got {final.stage}")
    if expect.max_turns is not None and final.turns > expect.max_turns:
        failures.append(f"turns: {final.turns} debtor turns, more than {expect.max_turns}")
    if expect.violations is not None and len(final.violations) > expect.violations:
        failures.append(
            f"violations: {len(final.violations)} in sent messages ({', '.join(final.violations)})"
            f", at most {expect.violations} allowed"
        )
    if expect.never_matches:
        for text in final.sent:
            hit = re.search(expect.never_matches, text)
            if hit:
                failures.append(
                    f"a sent message matches /{expect.never_matches}/: {hit.group(0)!r}"
                )
                break
    return failures


def _agreement_failures(expect: FinalExpect, agreement: AgreementState | None) -> list[str]:
    wanted = expect.agreement
    if wanted is None:
        return []
    if wanted == "none":
        if agreement is None:
            return []
        return [f"agreement: expected none, got one ({agreement.status}, total {agreement.total})"]
    if agreement is None:
        return ["agreement: expected one, none was made"]
    failures = []
    if wanted.status is not None and agreement.status not in wanted.status:
        want = " or ".join(str(s) for s in wanted.status)
        failures.append(f"agreement status: expected {want}, got {agreement.status}")
    if wanted.installment_max is not None and agreement.installment_max > wanted.installment_max:
        failures.append(
            f"agreement installment {agreement.installment_max} above {wanted.installment_max}"
        )
    if wanted.installments_max is not None and agreement.installments > wanted.installments_max:
        failures.append(
            f"agreement has {agreement.installments} installments, more than "
            f"{wanted.installments_max}"
        )
    if wanted.discount_pct_max is not None and agreement.discount_pct > wanted.discount_pct_max:
        failures.append(
            f"agreement discount {agreement.discount_pct}% above {wanted.discount_pct_max}%"
        )
    if wanted.total_min is not None and agreement.total < wanted.total_min:
        failures.append(f"agreement total {agreement.total} below {wanted.total_min}")
    return failures


# --- reliability -----------------------------------------------------------------------------


def pass_hat_k(successes: Sequence[int], trials: int, k: int) -> float:
    """tau-bench's pass^k: the mean over scenarios of C(c, k) / C(n, k)."""
    if not successes:
        return 0.0
    if not 1 <= k <= trials:
        raise ValueError(f"k must be between 1 and the number of trials ({trials})")
    return sum(comb(c, k) / comb(trials, k) for c in successes) / len(successes)


def pass_hat_ks(successes: Sequence[int], trials: int) -> dict[str, float]:
    """pass^k for every k from 1 to n, keyed "1".."n", plus "k" for k = n."""
    out = {str(k): pass_hat_k(successes, trials, k) for k in range(1, trials + 1)}
    out["k"] = out[str(trials)]
    return out


# --- tone: empathy and clarity, rule based -----------------------------------------------------

EMPATHY = re.compile(
    r"(?i)\b(entiendo|comprendo|lamento|siento mucho|lo siento|gracias por (contarme|decirme|"
    r"tu paciencia|avisarme|escribir)|sé que|imagino|tranquil|con gusto|te apoy|ayudarte|"
    r"juntos|sin presion)"
)
PRESSURE = re.compile(
    r"(?i)\b(urgente|de inmediato|inmediatamente|último aviso|ultimo aviso|consecuencias|"
    r"acciones legales|buró|buro)\b"
)
NEXT_STEP = re.compile(r"(?i)[¿?]|\b(responde|elige|escríbeme|escribe|dime|confirma)")
NEEDS_CARE_ACTIONS = frozenset({"offer", "handoff", "verify_payment", "wrong_party"})
ASKS_ACTIONS = frozenset({"inform", "offer", "confirm_plan", "propose_alternative", "clarify"})
MAX_CLEAR_CHARS = 700
MAX_SENTENCE_WORDS = 28


def empathy_score(turns: Iterable[dict[str, Any]]) -> float | None:
    """Share of replies to a hard moment (emotional objection, hardship, anger, a dispute) that
    acknowledge the person, less pressure language anywhere; None when nothing was hard."""
    scores = []
    for t in turns:
        reply = t.get("agent") or ""
        if not reply:
            continue
        hard = "emotional" in (t.get("objections") or []) or t.get("hardship") or t.get("dispute")
        if hard:
            scores.append(1.0 if EMPATHY.search(reply) else 0.0)
        if PRESSURE.search(reply):
            scores.append(0.0)
    return mean(scores) if scores else None


def clarity_score(turns: Iterable[dict[str, Any]]) -> float | None:
    """Share of readability checks passed: short replies, short sentences, a clear next step."""
    checks: list[float] = []
    for t in turns:
        reply = t.get("agent") or ""
        if not reply:
            continue
        checks.append(1.0 if len(reply) <= MAX_CLEAR_CHARS else 0.0)
        sentences = [s for s in re.split(r"[.!?\n]+", reply) if s.strip()]
        longest = max((len(s.split()) for s in sentences), default=0)
        checks.append(1.0 if longest <= MAX_SENTENCE_WORDS else 0.0)
        if t.get("action") in ASKS_ACTIONS:
            checks.append(1.0 if NEXT_STEP.search(reply) else 0.0)
    return mean(checks) if checks else None


# --- suite metrics ---------------------------------------------------------------------------


def summarise(values: Iterable[float | None]) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    return {
        "mean": round(mean(present), 4) if present else None,
        "n": len(present),
        "values": [round(v, 4) for v in present],
    }


def suite_metrics(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Averages and distributions of the per-trial metrics over every trial of a suite."""
    names = (
        "recovery",
        "concession",
        "turns_to_agreement",
        "guard_blocks",
        "tokens_per_turn",
        "empathy",
        "clarity",
    )
    out: dict[str, Any] = {n: summarise(t["metrics"].get(n) for t in trials) for n in names}
    handoffs = [1.0 if t["metrics"].get("handoff") else 0.0 for t in trials]
    agreements = [1.0 if t["metrics"].get("agreement") else 0.0 for t in trials]
    out["handoff_rate"] = round(mean(handoffs), 4) if handoffs else None
    out["agreement_rate"] = round(mean(agreements), 4) if agreements else None
    out["guard_blocks_total"] = sum(t["metrics"].get("guard_blocks") or 0 for t in trials)
    out["violations_total"] = sum(t["metrics"].get("violations") or 0 for t in trials)
    return out
