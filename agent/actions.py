"""The agent's next actions and the facts a reply is worded from.

`decide` picks an Action deterministically; the drafter words it from ReplyFacts, which hold
only values the policy engine or the account supplied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from agent.understanding.schema import Objection
from policies.plans import Offer, PaymentPlan


class Action(StrEnum):
    verify_identity = "verify_identity"  # ask the debtor to prove who they are (no debt details)
    inform = "inform"  # first disclosure after identity: what is owed, and the options
    offer = "offer"  # acknowledge the objection and present the options
    confirm_plan = "confirm_plan"  # restate one plan and ask for an explicit yes/no
    propose_alternative = "propose_alternative"  # the counter is impossible: closest feasible plan
    agreement_active = "agreement_active"  # the debtor confirmed; agreement in force
    agreement_pending_approval = "agreement_pending_approval"  # confirmed; a supervisor decides
    await_approval = "await_approval"  # holding reply while an approval is pending
    approval_declined = "approval_declined"  # a supervisor said no: the options again
    approval_expired = "approval_expired"  # no decision before the offer expired: options again
    acknowledge = "acknowledge"  # thanks / small talk after an agreement
    verify_payment = "verify_payment"  # debtor says it is paid: a person will check
    handoff = "handoff"  # a person takes over
    confirm_opt_out = "confirm_opt_out"
    wrong_party = "wrong_party"  # apologise; never disclose anything
    clarify = "clarify"  # not understood: ask again, briefly
    media_not_supported = "media_not_supported"  # a sticker, photo, audio...: only text for now


class ReplyFacts(BaseModel):
    """Everything a reply may mention. Numbers come from the account or the policy engine."""

    debtor_first_name: str
    creditor: str
    locale: str = "es_MX"  # Babel locale for money and dates
    currency: str = "MXN"
    account_reference: str = ""  # the creditor's reference for the debt, quoted as-is
    balance: Decimal = Decimal("0")
    principal: Decimal = Decimal("0")
    interest: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    days_past_due: int = 0
    today: date | None = None
    offer: Offer | None = None  # the options being presented
    plan: PaymentPlan | None = None  # the one plan being confirmed / agreed
    plan_option_number: int | None = None
    objections: list[Objection] = Field(default_factory=list)
    hardship: bool = False
    vulnerability: bool = False
    identity_method: str = "document_digits"  # document_digits | name
    identity_confirmed: bool = True  # False until the right party is confirmed: no debt details
    wrong_party: bool = False  # the person is not the debtor: nothing about the debt, ever
    pack: str | None = None  # policy pack code for the debtor's jurisdiction (disclosures)
    identity_attempt: int = 0  # 0 = first ask; 1+ = the previous answer did not match
    handoff_reason: str = ""  # request_human | dispute | vulnerability | identity | guard | other
    counter_rejected_reason: str = ""  # rule id when a counteroffer was infeasible
