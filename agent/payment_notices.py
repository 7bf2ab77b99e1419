"""Wording of payment notices: thank-you, reminder and missed-payment follow-up.

The templates live in `prompts/replies/payments_es.yaml`; every figure goes through the
formatting helpers of `policies.formatting`, and every rendered text is checked by the guard
(`policies.guard.check`) with a context built by `agent.drafting.guard_context` plus the
figures of the payment and the agreement's installments. A `text` that fails falls back to the
notice's `safe` wording; a template body (or a safe wording) that fails is never sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template

from agent.actions import ReplyFacts
from agent.drafting import (
    guard_context,
    load_templates,
    template_environment,
    with_required_footer,
)
from policies.formatting import format_date, format_money
from policies.guard import GuardContext, check
from prompts import PROMPTS_DIR

NOTICES_PATH = PROMPTS_DIR / "replies" / "payments_es.yaml"

# Meta's template languages for Spanish: the regional ones it offers, plain "es" otherwise.
TEMPLATE_LANGUAGES = frozenset({"es_AR", "es_ES", "es_MX"})


class Notice(StrEnum):
    thank_you_progress = "thank_you_progress"  # a payment applied, installments still open
    thank_you_completed = "thank_you_completed"  # the payment completed the agreement
    reminder = "reminder"  # an installment falls due soon
    followup = "followup"  # an installment was missed

    @property
    def first_contact(self) -> bool:
        """Reminders and follow-ups open a contact: the pack's every-contact disclosures apply."""
        return self in (Notice.reminder, Notice.followup)


@dataclass(frozen=True)
class InstallmentFacts:
    number: int
    due_date: date
    amount: Decimal
    outstanding: Decimal  # amount - paid_amount
    overdue: bool = False  # its due date has passed

    @property
    def partial(self) -> bool:
        return Decimal(0) < self.outstanding < self.amount


@dataclass(frozen=True)
class NoticeFacts:
    """Everything a payment notice may mention. Numbers come from the store, never the model."""

    name: str  # the debtor's first name
    creditor: str
    reference: str  # the account's reference
    currency: str
    locale: str
    pack: str | None
    today: date
    installments: tuple[InstallmentFacts, ...] = ()  # the agreement's schedule
    inst: InstallmentFacts | None = None  # the installment the notice is about
    amount: Decimal = Decimal(0)  # the payment
    remaining: Decimal = Decimal(0)  # what is left of the agreement
    surplus: Decimal = Decimal(0)  # paid beyond the agreement


@dataclass(frozen=True)
class RenderedNotice:
    text: str  # the free-form message (inside the 24-hour window)
    text_fallback: bool  # `text` is the safe wording: the first draft failed the guard
    template_name: str
    template_language: str
    template_parameters: tuple[str, ...]
    template_body: str  # what the registered template reads with the parameters filled in


class NoticeGuardError(ValueError):
    """A notice's safe wording or template body failed the guard: it must not be sent."""


@dataclass(frozen=True)
class _NoticeTemplates:
    text: Template
    safe: Template
    template_name: str
    parameters: tuple[Template, ...]
    body: Template


@dataclass(frozen=True)
class NoticeTemplates:
    notices: Mapping[Notice, _NoticeTemplates] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> NoticeTemplates:
        env = template_environment()
        notices: dict[Notice, _NoticeTemplates] = {}
        for name, spec in (data.get("notices") or {}).items():
            template = spec["template"]
            notices[Notice(name)] = _NoticeTemplates(
                text=env.from_string(spec["text"]),
                safe=env.from_string(spec["safe"]),
                template_name=str(template["name"]),
                parameters=tuple(env.from_string(str(p)) for p in template["parameters"]),
                body=env.from_string(template["body"]),
            )
        missing = [n.value for n in Notice if n not in notices]
        if missing:
            raise ValueError(f"payment notices missing: {', '.join(missing)}")
        return cls(notices=notices)


@lru_cache(maxsize=4)
def load_notice_templates(path: Path = NOTICES_PATH) -> NoticeTemplates:
    return NoticeTemplates.from_mapping(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def notice_guard_context(facts: NoticeFacts, notice: Notice) -> GuardContext:
    """The drafting guard context of the account, plus the payment's and schedule's figures."""
    reply_facts = ReplyFacts(
        debtor_first_name=facts.name,
        creditor=facts.creditor,
        locale=facts.locale,
        currency=facts.currency,
        account_reference=facts.reference,
        balance=facts.remaining,
        today=facts.today,
        identity_confirmed=True,  # agreements exist only after the debtor was identified
        pack=facts.pack,
    )
    base = guard_context(reply_facts)
    schedule = [*facts.installments, *([facts.inst] if facts.inst else [])]
    amounts = {facts.amount, facts.remaining, facts.surplus}
    amounts |= {i.amount for i in schedule} | {i.outstanding for i in schedule}
    return base.model_copy(
        update={
            "allowed_amounts": base.allowed_amounts | {a for a in amounts if a > 0},
            "allowed_dates": base.allowed_dates | {i.due_date for i in schedule},
            "allowed_counts": base.allowed_counts | {len(facts.installments) or 1},
            "installment_counts": base.installment_counts | {len(facts.installments) or 1},
            "first_contact": notice.first_contact,
        }
    )


def render_notice(
    notice: Notice, facts: NoticeFacts, *, templates: NoticeTemplates | None = None
) -> RenderedNotice:
    """Both wordings of a notice, guarded. Raises NoticeGuardError when one must not be sent."""
    spec = (templates or load_notice_templates()).notices[notice]
    context = notice_guard_context(facts, notice)
    variables = _variables(facts)
    footer_templates = load_templates()

    text = with_required_footer(_tidy(spec.text.render(**variables)), context, footer_templates)
    fallback = not check(text, context).passed
    if fallback:
        text = with_required_footer(_tidy(spec.safe.render(**variables)), context, footer_templates)
        _require_pass(text, context, f"{notice.value} safe wording")

    parameters = tuple(_tidy(p.render(**variables)) for p in spec.parameters)
    body = _tidy(spec.body.render(**variables, p=parameters))
    body = with_required_footer(body, context, footer_templates)
    _require_pass(body, context, f"{notice.value} template {spec.template_name}")
    return RenderedNotice(
        text=text,
        text_fallback=fallback,
        template_name=spec.template_name,
        template_language=facts.locale if facts.locale in TEMPLATE_LANGUAGES else "es",
        template_parameters=parameters,
        template_body=body,
    )


def _require_pass(text: str, context: GuardContext, what: str) -> None:
    verdict = check(text, context)
    if not verdict.passed:
        raise NoticeGuardError(f"{what} fails the guard: {', '.join(verdict.rule_ids)}")


def _variables(facts: NoticeFacts) -> dict[str, Any]:
    return {
        "name": facts.name,
        "vname": f", {facts.name}" if facts.name else "",
        "creditor": facts.creditor,
        "ref": facts.reference,
        "amount": facts.amount,
        "remaining": facts.remaining,
        "surplus": facts.surplus,
        "inst": facts.inst,
        "money": lambda amount: format_money(Decimal(amount), facts.currency, facts.locale),
        "fdate": lambda d: _date(d, facts),
    }


def _date(d: date, facts: NoticeFacts) -> str:
    """ "12 de abril"; a past date keeps its year ("12 de abril de 2026"), as a reader (and the
    guard) takes a date without a year for the next one to come."""
    return format_date(d, facts.locale, reference=facts.today if d >= facts.today else None)


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def installment_facts(
    rows: Sequence[Any], today: date
) -> tuple[InstallmentFacts, ...]:  # rows: Installment
    """The schedule as notices see it, in due order."""
    return tuple(
        InstallmentFacts(
            number=r.number,
            due_date=r.due_date,
            amount=r.amount,
            outstanding=max(Decimal(0), r.amount - r.paid_amount),
            overdue=r.due_date < today,
        )
        for r in sorted(rows, key=lambda r: (r.due_date, r.number))
    )
