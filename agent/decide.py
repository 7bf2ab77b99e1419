"""Decide: the deterministic next action from what the debtor said and where the conversation is.

No numbers are chosen here: when money is involved, decide only says which policy question to
ask (present the options, take option N, evaluate a counteroffer) and the offer step answers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from agent.actions import Action
from agent.state import Effects
from agent.store.models import Stage
from agent.understanding.offline import (
    affirms_identity,
    bare_option_number,
    confirms,
    wants_full_payment,
)
from agent.understanding.schema import Intent, Objection, Period, Understanding
from policies.plans import Counteroffer, Frequency

MAX_IDENTITY_ATTEMPTS = 3
MAX_CLARIFY_STREAK = 2  # a third "I did not understand" hands the conversation to a person

PAY_IN_FULL_OPTION = 1  # compute_offer numbers the pay-in-full plan first

# Stages where a person holds the conversation: the agent stays silent.
HUMAN_STAGES = {Stage.handed_off, Stage.disputed}
SILENT_STAGES = HUMAN_STAGES | {Stage.wrong_party}


class PolicyAsk(StrEnum):
    """The question decide hands to the offer step."""

    options = "options"  # compute the options for the account
    option = "option"  # take option N of the last offer as the plan to confirm
    counteroffer = "counteroffer"  # evaluate what the debtor proposed


@dataclass
class Decision:
    action: Action | None  # None: send nothing (a person holds the conversation)
    effects: Effects = field(default_factory=dict)  # type: ignore[assignment]
    ask: PolicyAsk | None = None
    option: int | None = None
    counteroffer: Counteroffer | None = None
    handoff_reason: str = ""
    keep_pending_plan: bool = False


@dataclass(frozen=True)
class Situation:
    """What decide looks at."""

    stage: Stage
    identity_verified: bool
    identity_method: str  # document_digits | name
    document_last4: str | None
    identity_attempts: int
    has_offer: bool
    offer_numbers: tuple[int, ...]
    has_pending_plan: bool
    pending_plan_needs_approval: bool
    pending_plan_expired: bool
    clarify_streak: int
    last_action: str | None
    text: str


def decide(u: Understanding, s: Situation) -> Decision:
    # Always honoured, whatever the stage.
    if u.intent is Intent.opt_out:
        return Decision(Action.confirm_opt_out, {"stage": Stage.opted_out, "opt_out": True})
    if u.intent is Intent.wrong_person:
        return Decision(Action.wrong_party, {"stage": Stage.wrong_party})
    if u.intent is Intent.request_human:
        if s.stage is Stage.handed_off:
            return Decision(None)  # a person already holds it (or was asked for): they answer
        return _handoff("request_human")

    if s.stage in SILENT_STAGES:
        return Decision(None)
    if s.stage is Stage.opted_out:
        # The debtor wrote again after opting out: that is opting back in; start over safely.
        decision = _identity(u, s) if not s.identity_verified else _verified(u, s)
        decision.effects["opt_in_again"] = True
        return decision

    if not s.identity_verified:
        return _identity(u, s)
    return _verified(u, s)


def _identity(u: Understanding, s: Situation) -> Decision:
    if s.identity_method == "name":
        asked = s.last_action == Action.verify_identity
        if asked and (u.intent is Intent.accept or affirms_identity(s.text)):
            return _verified_now()
        if asked and u.intent in (Intent.reject, Intent.wrong_person):
            return Decision(Action.wrong_party, {"stage": Stage.wrong_party})
        return Decision(Action.verify_identity, {"stage": Stage.identity_pending})

    digits = u.figures.digits or _four_digits(s.text)
    if digits and s.document_last4 and digits[-4:] == s.document_last4:
        return _verified_now()
    if digits:
        attempts = s.identity_attempts + 1
        if attempts >= MAX_IDENTITY_ATTEMPTS:
            return _handoff("identity", extra={"identity_attempts": attempts})
        return Decision(
            Action.verify_identity,
            {"stage": Stage.identity_pending, "identity_attempts": attempts},
        )
    return Decision(Action.verify_identity, {"stage": Stage.identity_pending})


def _verified_now() -> Decision:
    return Decision(
        Action.inform,
        {"stage": Stage.informed, "identity_verified": True, "identity_attempts": 0},
        ask=PolicyAsk.options,
    )


def _verified(u: Understanding, s: Situation) -> Decision:
    if u.dispute:
        return _handoff("dispute", stage=Stage.disputed)
    if u.vulnerability:
        return _handoff("vulnerability")
    if u.intent is Intent.already_paid:
        return Decision(
            Action.verify_payment,
            {"stage": Stage.handed_off, "handoff_reason": "already_paid"},
            handoff_reason="already_paid",
        )
    if s.stage is Stage.agreement_pending_approval:
        return Decision(Action.await_approval)
    if s.stage in (Stage.agreement_active, Stage.settled):
        return Decision(Action.acknowledge)

    if s.stage is Stage.agreement_pending_confirmation and s.has_pending_plan:
        if s.pending_plan_expired:
            return _present(Action.offer)  # the validity passed: fresh options, fresh dates
        if u.intent is Intent.accept and u.figures.option is None:
            if explicit_confirmation(u, s.text):
                return _agree(s)
            if _has_concerns(u):
                return _present(Action.offer)  # acknowledge, then the options again
            return _clarify(s)  # a yes-ish reply without a yes: ask again, plan kept
        if u.intent is Intent.reject:
            return _present(Action.offer)

    picked = u.figures.option
    if picked is None and s.has_offer and u.intent in (Intent.accept, Intent.other):
        picked = bare_option_number(s.text)  # "1" (or option 1's button) with options out
    if picked is None and u.intent is Intent.accept and len(s.offer_numbers) == 1:
        picked = s.offer_numbers[0]  # "sí" when a single option was offered: that one
    if u.intent in (Intent.accept, Intent.counteroffer, Intent.other) and picked:
        if picked in s.offer_numbers:
            return _negotiating(Action.confirm_plan, ask=PolicyAsk.option, option=picked)
        return _clarify(s)
    if u.intent is Intent.pay_now and (s.has_offer or wants_full_payment(s.text)):
        # Option 1 is always the pay-in-full plan (policies.offers.compute_offer): the debtor
        # said what they want, so restate that plan for a yes instead of listing every option.
        return _negotiating(Action.confirm_plan, ask=PolicyAsk.option, option=PAY_IN_FULL_OPTION)

    counter = counteroffer_from(u)
    if counter is not None and u.intent in (Intent.counteroffer, Intent.objection, Intent.accept):
        return _negotiating(Action.confirm_plan, ask=PolicyAsk.counteroffer, counter=counter)

    if u.intent in (Intent.objection, Intent.reject, Intent.pay_now):
        return _present(Action.offer)
    if u.intent is Intent.info_request:
        return _present(Action.inform)
    if u.intent is Intent.accept and s.has_offer:
        return _clarify(s)  # "sí" to several options: ask which one
    if not s.has_offer:
        return _present(Action.inform)
    return _clarify(s)


def explicit_confirmation(u: Understanding, text: str) -> bool:
    """Only an explicit yes moves a restated plan on: an affirmative word, and nothing in the
    same message that puts the plan in doubt ("ya no tengo trabajo" is never a yes).

    Venting alone ("son unos ladrones. sí, acepto") does not undo an explicit yes.
    """
    return not _has_concerns(u) and confirms(text)


def _has_concerns(u: Understanding) -> bool:
    """Hardship, distress, a dispute, or an amount/timing objection: the plan may not hold."""
    doubts = {Objection.amount, Objection.timing}
    return bool(doubts & set(u.objections) or u.hardship or u.vulnerability or u.dispute)


def _agree(s: Situation) -> Decision:
    """An explicit yes to the plan just restated: it becomes an agreement."""
    if s.pending_plan_needs_approval:
        action, stage = Action.agreement_pending_approval, Stage.agreement_pending_approval
    else:
        action, stage = Action.agreement_active, Stage.agreement_active
    return Decision(action, {"stage": stage, "create_agreement": True}, keep_pending_plan=True)


def _present(action: Action) -> Decision:
    return Decision(action, {"stage": Stage.negotiating}, ask=PolicyAsk.options)


def _negotiating(
    action: Action,
    *,
    ask: PolicyAsk,
    option: int | None = None,
    counter: Counteroffer | None = None,
) -> Decision:
    return Decision(
        action,
        {"stage": Stage.agreement_pending_confirmation},
        ask=ask,
        option=option,
        counteroffer=counter,
    )


def _clarify(s: Situation) -> Decision:
    if s.clarify_streak >= MAX_CLARIFY_STREAK:
        return _handoff("not_understood")
    return Decision(Action.clarify, keep_pending_plan=True)


def _handoff(
    reason: str, stage: Stage = Stage.handed_off, extra: Effects | None = None
) -> Decision:
    effects: Effects = {"stage": stage, "handoff_reason": reason}
    effects.update(extra or {})
    return Decision(Action.handoff, effects, handoff_reason=reason)


def counteroffer_from(u: Understanding) -> Counteroffer | None:
    """The debtor's figures as a policy question, or None when they stated none."""
    f = u.figures
    if not (f.amounts or f.installments or f.dates):
        return None
    amount = max(f.amounts) if f.amounts else None
    frequency = None
    if f.period is Period.monthly:
        frequency = Frequency.monthly
    elif f.period is Period.biweekly:
        frequency = Frequency.biweekly
    elif f.period is Period.weekly and amount is not None:
        # Weekly plans are not offered: two weeks of that capacity make a biweekly installment.
        amount, frequency = amount * Decimal(2), Frequency.biweekly
    return Counteroffer(
        amount=amount,
        frequency=frequency,
        count=f.installments,
        pay_date=f.dates[0] if f.dates else None,
    )


def _four_digits(text: str) -> str | None:
    m = re.search(r"(?<!\d)(\d{4,})(?!\d)", text.replace(" ", ""))
    return m.group(1) if m else None
