"""Reply buttons: offered with options and confirmations, read back as what the debtor meant.

WhatsApp allows at most three reply buttons with titles of at most 20 characters.
"""

from __future__ import annotations

from agent.actions import Action, ReplyFacts
from policies.plans import Frequency, PlanKind

MAX_BUTTONS = 3
MAX_TITLE = 20
CONFIRM_YES = "confirm:yes"
CONFIRM_NO = "confirm:no"

_CONFIRMING = {Action.confirm_plan, Action.propose_alternative}
PRESENTING_ACTIONS = {
    Action.inform,
    Action.offer,
    Action.clarify,
    Action.approval_declined,
    Action.approval_expired,
}
_FREQUENCY_WORD = {Frequency.monthly: "mensuales", Frequency.biweekly: "quincenales"}


def reply_buttons(action: Action, facts: ReplyFacts) -> list[dict[str, str]]:
    """The buttons that go with a reply, or none."""
    if action in _CONFIRMING and facts.plan is not None:
        return [
            {"id": CONFIRM_YES, "title": "Sí, confirmo"},
            {"id": CONFIRM_NO, "title": "No, otra opción"},
        ]
    if action in PRESENTING_ACTIONS and facts.offer and 0 < len(facts.offer.options) <= MAX_BUTTONS:
        return [
            {"id": f"option:{o.number}", "title": _option_title(o.number, o.plan)}
            for o in facts.offer.options
        ]
    return []


def _option_title(number: int, plan) -> str:  # type: ignore[no-untyped-def]
    if plan.kind is PlanKind.pay_in_full:
        title = f"{number}. Pago único"
    else:
        title = f"{number}. {plan.count} {_FREQUENCY_WORD.get(plan.frequency, 'cuotas')}"
    return title[:MAX_TITLE]


def button_text(button_id: str, title: str = "") -> str:
    """What a pressed button says, as the debtor would have typed it."""
    if button_id == CONFIRM_YES:
        return "sí"
    if button_id == CONFIRM_NO:
        return "no"
    kind, _, value = button_id.partition(":")
    if kind == "option" and value.isdigit():
        return value
    return title or button_id
