"""The two model steps of a turn, each with its way back to the offline engine.

`understand` asks the model for the understanding schema and merges the answer with the
offline reading; `draft` asks it to reword the offline reference message for this debtor,
checks that the result carries exactly the reference's figures (`faithfulness`) and then the
guard, gives it one retry with the violations as feedback on a
`redraft`, and otherwise leaves the offline template to be sent (the guard node checks
whichever text goes out). Every call and every
fallback is written into the turn's TurnUsage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from agent.actions import Action, ReplyFacts
from agent.drafting import guard_context, load_templates, with_required_footer
from agent.llm.faithfulness import figures, unfaithful
from agent.llm.memory import is_identity_answer, masked, memory_text
from agent.llm.prompts import load_prompt
from agent.llm.provider import ModelFailure, Provider
from agent.llm.understanding import InvalidModelOutput, model_understanding
from agent.llm.usage import TurnUsage
from agent.understanding.schema import Understanding
from policies.formatting import format_date, format_money, format_percent
from policies.guard import Verdict, Violation, check
from policies.plans import PaymentPlan, PlanKind

log = logging.getLogger("pacta.llm")

DRAFT_MAX_CHARS = 700  # what the prompt asks for; the guard's own limit is WhatsApp's 4096
MAX_INBOUND_CHARS = 1000  # of the debtor's message, in a prompt

# (query, action, segment) -> approved example texts, best first
ExampleSource = Callable[[str, str, str], list[str]]


def understand(
    provider: Provider,
    text: str,
    last_agent_message: str | None,
    now: datetime,
    offline: Understanding,
    usage: TurnUsage,
) -> Understanding:
    """The model's reading merged with the offline one; the offline one on any failure.

    An identity answer (only digits) is not sent: the offline reading of digits is exact and
    the model has no business seeing them.
    """
    if is_identity_answer(text):
        return offline
    prompt = load_prompt("understand")
    values = {
        "today": now.date().isoformat(),
        "last_agent_message": (last_agent_message or "")[:MAX_INBOUND_CHARS],
        "text": text[:MAX_INBOUND_CHARS],
    }
    start = len(usage.calls)
    try:
        data = provider.understand(
            prompt.messages(**values, plain_json=False),
            prompt.messages(**values, plain_json=True),
            usage,
        )
        return model_understanding(data, offline, text, now.date())
    except ModelFailure as e:
        usage.fell_back("understand", e.reason)
    except InvalidModelOutput:
        if usage.calls:
            usage.calls[-1].outcome = "invalid"
        usage.fell_back("understand", "invalid")
    finally:
        usage.label_since(start, prompt.version)
    return offline


@dataclass(frozen=True)
class DraftInputs:
    """What the drafting prompt is built from, besides the facts."""

    inbound: str
    segment: str
    summary: list[str]
    history: list[dict[str, str]]
    turns_before: int = 0


@dataclass(frozen=True)
class ModelDraft:
    """A model draft that passed the guard, or None: the caller sends the offline template."""

    text: str | None
    first_verdict: Verdict | None  # of the model's first draft, when there was one
    retried: bool  # the model got a second try after the guard asked for a redraft


def draft(
    provider: Provider,
    action: Action,
    facts: ReplyFacts,
    reference: str,
    inputs: DraftInputs,
    usage: TurnUsage,
    examples: ExampleSource | None = None,
) -> ModelDraft:
    """Ask the model to reword `reference`; guard it; one retry on a redraft (see module doc)."""
    prompt = load_prompt("draft")
    values = _draft_values(prompt.extra, action, facts, reference, inputs, examples)
    messages = prompt.messages(**values)
    context = guard_context(facts, action)
    templates = load_templates()
    first: Verdict | None = None
    step = "draft"
    for attempt in range(2):
        start = len(usage.calls)
        try:
            text = with_required_footer(provider.draft(messages, usage, step), context, templates)
        except ModelFailure as e:
            usage.fell_back(step, e.reason)
            break
        finally:
            usage.label_since(start, prompt.version)
        verdict = check(text, context)
        reasons = unfaithful(text, reference, (facts.account_reference, facts.creditor))
        if reasons and verdict.outcome != "block":  # a threat is never retried
            verdict = _with_reasons(verdict, reasons)
        first = first or verdict
        if verdict.outcome == "pass":
            return ModelDraft(text, first, retried=attempt > 0)
        if verdict.outcome != "redraft" or attempt == 1:
            usage.fell_back(step, "unfaithful" if reasons else "guard")
            break
        feedback = prompt.render("retry", violations=[v.message for v in verdict.violations])
        messages = [
            *messages,
            {"role": "assistant", "content": text},
            {"role": "user", "content": feedback},
        ]
        step = "redraft"
    return ModelDraft(None, first, retried=step == "redraft")


def _with_reasons(verdict: Verdict, reasons: list[str]) -> Verdict:
    """The guard's verdict plus the faithfulness reasons, as a redraft."""
    unfaithful_ = [
        Violation(rule_id="model.unfaithful", span=(0, 0), text="", message=reason)
        for reason in reasons
    ]
    return Verdict(outcome="redraft", violations=[*unfaithful_, *verdict.violations])


def _draft_values(
    extra: dict[str, object],
    action: Action,
    facts: ReplyFacts,
    reference: str,
    inputs: DraftInputs,
    examples: ExampleSource | None,
) -> dict[str, object]:
    instructions = extra.get("instructions") or {}
    tones = extra.get("tones") or {}
    assert isinstance(instructions, dict) and isinstance(tones, dict)
    found: list[str] = []
    if examples is not None:
        try:
            found = examples(inputs.inbound, action.value, inputs.segment)[:3]
        except Exception:  # retrieval is a help, never a reason not to reply
            log.warning("playbook search failed; drafting without examples", exc_info=True)
    return {
        "terms": policy_terms(facts, reference),
        "creditor": facts.creditor,
        "name": facts.debtor_first_name,
        "tone": tones.get(inputs.segment) or tones.get("standard", ""),
        "max_chars": DRAFT_MAX_CHARS,
        "instruction": instructions.get(action.value, ""),
        "memory": memory_text(inputs.summary, inputs.history, inputs.turns_before),
        "examples": found,
        "inbound": " ".join(masked(inputs.inbound).split())[:MAX_INBOUND_CHARS],
        "reference": reference,
    }


def policy_terms(facts: ReplyFacts, reference: str) -> list[str]:
    """The policy engine's plans as data lines, limited to those the reference states.

    The same figures as the reference, in a form a model cannot misread ("Opción 2: 3 cuotas
    mensuales de $1,600..."); a plan the reference does not mention is left out, so the data
    never invites a figure the faithfulness check would refuse.
    """
    plans: list[tuple[str, PaymentPlan]] = []
    if facts.offer is not None:
        plans += [(f"Opción {o.number}", o.plan) for o in facts.offer.options]
    if facts.plan is not None:
        plans.append(("Plan a confirmar", facts.plan))
    meant = set(figures(reference))
    lines = [f"{label}: {_plan_terms(plan, facts)}" for label, plan in plans]
    return [line for line in lines if set(figures(line.split(":", 1)[1])) <= meant]


def _plan_terms(plan: PaymentPlan, facts: ReplyFacts) -> str:
    def money(amount: Decimal) -> str:
        return format_money(amount, facts.currency, facts.locale)

    def when(d: date) -> str:
        return format_date(d, facts.locale, reference=facts.today)

    discount = (
        f", con {format_percent(plan.discount_pct, facts.locale)} de descuento"
        if plan.discount_pct > 0
        else ""
    )
    if plan.kind == PlanKind.pay_in_full:
        return f"pago único de {money(plan.total)} hasta el {when(plan.first_due)}{discount}"
    return (
        f"{plan.count} cuotas de {money(plan.installment_amount)}, del {when(plan.first_due)} "
        f"al {when(plan.last_due)}, total {money(plan.total)}{discount}"
    )
