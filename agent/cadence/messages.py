"""The words of a cadence step: template parameters from the account, rendered and guarded.

Every figure comes from the store (balance, due date, reference) and is formatted by
`policies.formatting` for the account's locale. The rendered text (what the debtor reads,
footer included) goes through the guard as a first contact of the debtor's policy pack: the
template is sent to the opted-in number the creditor holds for the debtor, and it is the
message that first states the debt, so it carries the pack's first-contact disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from agent.actions import ReplyFacts
from agent.cadence.templates import WhatsAppTemplate
from agent.drafting import guard_context
from policies.formatting import format_date, format_money
from policies.guard import GuardContext, Verdict, check


@dataclass(frozen=True, slots=True)
class DueFacts:
    """What a due-date step may say about one account."""

    first_name: str
    creditor: str
    reference: str
    currency: str
    locale: str
    pack: str | None
    balance: Decimal
    due_date: date
    today: date  # the debtor's local date when the message goes out

    @property
    def days_past_due(self) -> int:
        return max(0, (self.today - self.due_date).days)


@dataclass(frozen=True, slots=True)
class RenderedStep:
    template: str
    language: str
    parameters: tuple[str, ...]
    text: str  # body and footer, as the phone shows it


class StepGuardError(ValueError):
    """A rendered step fails the guard: it must never be sent."""

    def __init__(self, template: str, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__(f"template {template} fails the guard: {', '.join(verdict.rule_ids)}")


def parameter_values(template: WhatsAppTemplate, facts: DueFacts) -> tuple[str, ...]:
    """The template's parameters, in order, from the facts."""
    # A past date keeps its year: the guard (and a reader) takes a date without one as the next.
    reference = facts.today if facts.due_date >= facts.today else None
    values = {
        "first_name": facts.first_name or "hola",
        "creditor": facts.creditor,
        "reference": facts.reference,
        "amount": format_money(facts.balance, facts.currency, facts.locale),
        "due_date": format_date(facts.due_date, facts.locale, reference=reference),
    }
    return tuple(values[name] for name in template.parameter_names)


def step_guard_context(facts: DueFacts) -> GuardContext:
    """The figures this account allows, checked as the first contact of its pack."""
    reply = ReplyFacts(
        debtor_first_name=facts.first_name,
        creditor=facts.creditor,
        locale=facts.locale,
        currency=facts.currency,
        account_reference=facts.reference,
        balance=facts.balance,
        days_past_due=facts.days_past_due,
        today=facts.today,
        identity_confirmed=True,
        pack=facts.pack,
    )
    base = guard_context(reply)
    return base.model_copy(
        update={
            "allowed_dates": base.allowed_dates | {facts.due_date},
            "first_contact": True,
            "max_chars": 1024 + 2 + 60,  # body and footer limits of a template
        }
    )


def render_step(template: WhatsAppTemplate, facts: DueFacts) -> RenderedStep:
    """Fill the template for this account and guard it; StepGuardError when it must not go."""
    values = parameter_values(template, facts)
    text = template.render(values)
    verdict = check(text, step_guard_context(facts))
    if not verdict.passed:
        raise StepGuardError(template.name, verdict)
    return RenderedStep(
        template=template.name,
        language=template.language_for(facts.locale),
        parameters=values,
        text=text,
    )
