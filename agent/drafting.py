"""Offline drafting: words an Action from ReplyFacts with the templates in prompts/replies/.

The policy engine has already decided every number; the templates only phrase them, through
the formatting helpers in `policies.formatting`. Every draft then goes through the guard
(`policies.guard.check`) with a context built from the same facts (`guard_context`); a draft
that does not pass is replaced by the action's safe wording, and, should that fail too, by a
fixed sentence with no figures (`LAST_RESORT_REPLY`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from agent.actions import Action, ReplyFacts
from agent.understanding.schema import Objection
from policies.formatting import format_date, format_money, format_percent
from policies.guard import (
    GuardContext,
    Verdict,
    Violation,
    check,
    has_disclosure,
    required_disclosures,
)
from policies.plans import OfferOption, PaymentPlan, PlanKind
from prompts import PROMPTS_DIR

TEMPLATES_PATH = PROMPTS_DIR / "replies" / "es.yaml"

# Said when even the safe wording fails the guard: no figures, no claims, a path to a human.
LAST_RESORT_REPLY = "Gracias por tu mensaje. Si prefieres hablar con una persona, escribe ASESOR."

_KEYCAPS = {n: f"{n}\ufe0f\u20e3" for n in range(10)} | {10: "\U0001f51f"}


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionTemplates:
    variants: tuple[Template, ...]
    safe: Template


def template_environment() -> Environment:
    """How message templates are read: a missing value is an error, block tags leave no
    blank lines, nothing is HTML-escaped (WhatsApp text)."""
    return Environment(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=False,
    )


@dataclass(frozen=True)
class ReplyTemplates:
    actions: Mapping[Action, ActionTemplates]
    id_documents: Mapping[str, str]
    opt_out_footer: str = "Si no deseas recibir más mensajes, responde BAJA."

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ReplyTemplates:
        env = template_environment()
        partials = data.get("partials") or ""

        def compile_(body: str) -> Template:
            return env.from_string(partials + body)

        actions: dict[Action, ActionTemplates] = {}
        for name, spec in (data.get("actions") or {}).items():
            action = Action(name)
            variants = tuple(compile_(v) for v in spec["variants"])
            if not variants:
                raise ValueError(f"action {name!r} has no variants")
            actions[action] = ActionTemplates(variants=variants, safe=compile_(spec["safe"]))
        missing = [a.value for a in Action if a not in actions]
        if missing:
            raise ValueError(f"templates missing for actions: {', '.join(missing)}")
        return cls(
            actions=actions,
            id_documents=dict(data.get("id_documents") or {}),
            opt_out_footer=str(data.get("opt_out_footer") or cls.opt_out_footer).strip(),
        )

    def for_action(self, action: Action) -> ActionTemplates:
        return self.actions[Action(action)]


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_PATH) -> ReplyTemplates:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return ReplyTemplates.from_mapping(data)


def variant_count(action: Action, templates: ReplyTemplates | None = None) -> int:
    return len((templates or load_templates()).for_action(action).variants)


def variant_index(action: Action, seed: str, count: int) -> int:
    """A stable choice among `count` variants (sha256, never Python's salted hash())."""
    digest = hashlib.sha256(f"{Action(action).value}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render_reply(
    action: Action,
    facts: ReplyFacts,
    seed: str,
    *,
    templates: ReplyTemplates | None = None,
    just_verified: bool = False,
) -> str:
    """The offline wording of an action; the variant is chosen deterministically from seed.

    `just_verified`: this reply answers the message that confirmed the debtor's identity (only
    then may it thank them for confirming).
    """
    tpl = templates or load_templates()
    n = len(tpl.for_action(action).variants)
    index = variant_index(action, seed, n)
    return render_variant(action, facts, index, templates=tpl, just_verified=just_verified)


def render_variant(
    action: Action,
    facts: ReplyFacts,
    index: int,
    *,
    templates: ReplyTemplates | None = None,
    just_verified: bool = False,
) -> str:
    """One specific variant (index modulo the number of variants)."""
    tpl = templates or load_templates()
    variants = tpl.for_action(action).variants
    return _render(variants[index % len(variants)], facts, tpl, just_verified)


def safe_reply(
    action: Action,
    facts: ReplyFacts,
    *,
    templates: ReplyTemplates | None = None,
    just_verified: bool = False,
) -> str:
    """The plainest wording of an action, with no figures.

    Option numbers at most, and the balance on the first disclosure, which must state it.
    """
    tpl = templates or load_templates()
    return _render(tpl.for_action(action).safe, facts, tpl, just_verified)


def _render(
    template: Template, facts: ReplyFacts, templates: ReplyTemplates, just_verified: bool = False
) -> str:
    text = template.render(**_template_vars(facts, templates), just_verified=just_verified)
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.strip().splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _template_vars(facts: ReplyFacts, templates: ReplyTemplates) -> dict[str, Any]:
    name = " ".join((facts.debtor_first_name or "").split())  # see address_name
    offer = facts.offer
    options = list(offer.options) if offer else []
    plan = facts.plan
    if plan is None and offer is not None and facts.plan_option_number is not None:
        chosen = offer.option(facts.plan_option_number)
        plan = chosen.plan if chosen else None
    return {
        "facts": facts,
        "name": name,
        "vname": f", {name}" if name else "",
        "creditor": facts.creditor,
        "ref": facts.account_reference,
        "offer": offer,
        "options": options,
        "plan": plan,
        "option_number": facts.plan_option_number,
        "opening": _opening(facts),
        "discount_option": _discount_option(options),
        "timing_option": _timing_option(options),
        "id_document": templates.id_documents.get(
            facts.locale, templates.id_documents.get("default", "documento de identidad")
        ),
        "money": _money(facts),
        "fdate": _date(facts),
        "pct": _percent(facts),
        "keycap": keycap,
    }


# Legal-form suffixes of companies ("S.A. de C.V.", "S.A.S.", "SpA", "Ltda.", "LLC", ...).
_DE_CV = r"(?:\s+de\s+c\.\s?v\.?|\s+de\s+cv)?"
_LEGAL_FORM_RE = re.compile(
    r"[\s,]+(?:"
    rf"s\.\s?a\.?(?:\s?[bp]\.)?(?:\s?[acsu]\.)?{_DE_CV}"  # S.A., S.A.B. de C.V., S.A.C.
    rf"|s\.\s?de\s+r\.\s?l\.?{_DE_CV}"  # S. de R.L. de C.V.
    r"|s\.\s?r\.\s?l\.?|s\.\s?l\.|s\.\s?c\.|s\.\s?en\s?c\.|e\.\s?i\.\s?r\.\s?l\.?"
    r"|spa|ltda\.?|limitada|c[ií]a\.?|y\s+c[ií]a\.?"
    r"|llc|l\.l\.c\.|inc\.?|corp\.?|ltd\.?|plc|gmbh"
    r")\s*$",
    re.IGNORECASE,
)
# The same forms written without dots, only in capitals ("SA de CV", "SAS", "SRL").
_LEGAL_FORM_CAPS_RE = re.compile(
    r"[\s,]+(?:SA|SAS|SAB|SAC|SAU|SL|SLU|SRL|SC|EIRL)(?:\s+[Dd][Ee]\s+CV)?\s*$"
)


def _legal_form(name: str) -> re.Match[str] | None:
    return _LEGAL_FORM_RE.search(name) or _LEGAL_FORM_CAPS_RE.search(name)


def is_company_name(full_name: str) -> bool:
    """True when a name ends in a company's legal form ("Comercializadora del Norte S.A.")."""
    name = " ".join((full_name or "").split())
    return len(name.split()) > 1 and _legal_form(name) is not None


def address_name(full_name: str, segment: str | None = None) -> str:
    """How replies address the debtor: a person by first name, a company by its name.

    A company (a legal-form suffix, or the corporate segment) is addressed by its name without
    the legal form ("Comercializadora del Norte S.A. de C.V." -> "Comercializadora del Norte"),
    never by the first word of it.
    """
    name = " ".join((full_name or "").split())
    if not name:
        return ""
    if is_company_name(name) or segment == "corporate":
        while (m := _legal_form(name)) and m.start() > 0:
            name = name[: m.start()].rstrip(" ,")
        return name
    return name.split()[0]


def keycap(number: int) -> str:
    """1 -> "1️⃣" (up to 10), larger numbers as "11)"."""
    return _KEYCAPS.get(number, f"{number})")


def _money(facts: ReplyFacts) -> Callable[[Decimal], str]:
    return lambda amount: format_money(Decimal(amount), facts.currency, facts.locale)


def _date(facts: ReplyFacts) -> Callable[[date], str]:
    return lambda d: format_date(d, facts.locale, reference=facts.today)


def _percent(facts: ReplyFacts) -> Callable[[Decimal], str]:
    return lambda value: format_percent(Decimal(value), facts.locale)


def _opening(facts: ReplyFacts) -> str:
    """How an offer opens: empathy first, then the amount, then the timing objection."""
    if facts.hardship or facts.vulnerability or Objection.emotional in facts.objections:
        return "empathy"
    if Objection.amount in facts.objections:
        return "amount"
    if Objection.timing in facts.objections:
        return "timing"
    return "none"


def _discount_option(options: list[OfferOption]) -> OfferOption | None:
    """The pay-in-full option with the largest discount, if any has one."""
    candidates = [
        o for o in options if o.plan.kind == PlanKind.pay_in_full and o.plan.discount_pct > 0
    ]
    return max(candidates, key=lambda o: o.plan.discount_pct, default=None)


def _timing_option(options: list[OfferOption]) -> OfferOption | None:
    """The installment option that spreads the payments the most."""
    candidates = [o for o in options if o.plan.kind == PlanKind.installments and o.plan.count > 1]
    return max(candidates, key=lambda o: (o.plan.count, o.plan.last_due), default=None)


# --------------------------------------------------------------------------------------------
# Guard
# --------------------------------------------------------------------------------------------


def guard_context(facts: ReplyFacts, action: Action | None = None) -> GuardContext:
    """Every figure the facts legitimately allow a reply to mention, and who is listening."""
    amounts: set[Decimal] = {facts.balance, facts.principal, facts.interest, facts.fees}
    percentages: set[Decimal] = set()
    counts: set[int] = {1}
    dates: set[date] = set()
    options: set[int] = set()
    numbers: set[Decimal] = set()

    plans: list[PaymentPlan] = []
    if facts.offer is not None:
        amounts.add(facts.offer.balance)
        dates.add(facts.offer.valid_until)
        for option in facts.offer.options:
            options.add(option.number)
            plans.append(option.plan)
    if facts.plan is not None:
        plans.append(facts.plan)
    if facts.plan_option_number is not None:
        options.add(facts.plan_option_number)
    for plan in plans:
        amounts |= {plan.total, plan.balance, plan.discount_amount}
        amounts |= {s.amount for s in plan.schedule}
        if plan.discount_pct > 0:
            percentages.add(plan.discount_pct)
        counts.add(plan.count)
        dates.add(plan.valid_until)
        dates |= {s.due_date for s in plan.schedule}
    installment_counts = {1} | {plan.count for plan in plans}
    if facts.days_past_due > 0:
        counts.add(facts.days_past_due)
    if facts.identity_method == "document_digits":
        numbers.add(Decimal(4))  # "los últimos 4 dígitos"

    literals = {s for s in (facts.account_reference, facts.creditor, facts.debtor_first_name) if s}
    return GuardContext(
        currency=facts.currency,
        locale=facts.locale,
        today=facts.today,
        allowed_amounts={a for a in amounts if a > 0},
        allowed_percentages=percentages,
        allowed_counts=counts,
        installment_counts=installment_counts,
        allowed_dates=dates,
        allowed_options=options,
        allowed_numbers=numbers,
        allowed_literals=literals,
        pack=facts.pack,
        first_contact=action == Action.inform,  # the message that first discloses the debt
        identity_confirmed=facts.identity_confirmed,
        wrong_party=facts.wrong_party,
        creditor=facts.creditor or None,
    )


def with_required_footer(text: str, context: GuardContext, templates: ReplyTemplates) -> str:
    """Append the opt-out instruction when the pack requires one and the text lacks it.

    The law decides that the sentence is needed (US Regulation F: every message), so it is
    policy, not wording: added here for templates and model drafts alike.
    """
    if not text.strip() or "opt_out_instruction" not in required_disclosures(context):
        return text
    if has_disclosure(text, "opt_out_instruction"):
        return text
    return f"{text}\n\n{templates.opt_out_footer}"


def draft_and_guard(
    action: Action,
    facts: ReplyFacts,
    seed: str,
    *,
    draft: str | None = None,
    templates: ReplyTemplates | None = None,
    just_verified: bool = False,
) -> tuple[str, Verdict, bool]:
    """Draft (or take `draft`, e.g. from an LLM), check it, and fall back when it fails.

    Returns (text to send, verdict of the first draft, whether a fallback was used). The
    fallback is the action's safe wording, checked again; if even that fails, the fixed
    LAST_RESORT_REPLY.
    """
    tpl = templates or load_templates()
    context = guard_context(facts, action)
    try:
        text = (
            draft
            if draft is not None
            else render_reply(action, facts, seed, templates=tpl, just_verified=just_verified)
        )
        text = with_required_footer(text, context, tpl)
        verdict = check(text, context)
    except Exception as exc:  # a broken template must never stop a reply
        text = ""
        verdict = Verdict(
            outcome="redraft",
            violations=[
                Violation(
                    rule_id="drafting.render_error",
                    span=(0, 0),
                    text="",
                    message=f"{type(exc).__name__}: {exc}",
                )
            ],
        )
    if verdict.outcome == "pass":
        return text, verdict, False
    try:
        safe = safe_reply(action, facts, templates=tpl, just_verified=just_verified)
        safe = with_required_footer(safe, context, tpl)
        if check(safe, context).outcome == "pass":
            return safe, verdict, True
    except Exception:  # a broken safe template: fall through to the fixed sentence
        pass
    return LAST_RESORT_REPLY, verdict, True
