from dataclasses import replace
from decimal import Decimal

import pytest

from agent.actions import Action
from agent.decide import PolicyAsk, Situation, counteroffer_from, decide
from agent.store.models import Stage
from agent.understanding.schema import Figures, Intent, Objection, Period, Understanding
from policies.plans import Frequency

VERIFIED = Situation(
    stage=Stage.negotiating,
    identity_verified=True,
    identity_method="document_digits",
    document_last4="4821",
    identity_attempts=0,
    has_offer=True,
    offer_numbers=(1, 2, 3),
    has_pending_plan=False,
    pending_plan_needs_approval=False,
    pending_plan_expired=False,
    clarify_streak=0,
    last_action="offer",
    text="",
)
UNVERIFIED = replace(
    VERIFIED, stage=Stage.new, identity_verified=False, has_offer=False, offer_numbers=()
)
CONFIRMING = replace(VERIFIED, stage=Stage.agreement_pending_confirmation, has_pending_plan=True)


def u(intent: Intent, **kw) -> Understanding:
    return Understanding(intent=intent, **kw)


@pytest.mark.parametrize(
    "situation", [UNVERIFIED, VERIFIED, CONFIRMING, replace(VERIFIED, stage=Stage.handed_off)]
)
def test_opt_out_is_always_honoured(situation):
    d = decide(u(Intent.opt_out), situation)
    assert d.action is Action.confirm_opt_out
    assert d.effects["stage"] == Stage.opted_out and d.effects["opt_out"]


@pytest.mark.parametrize("situation", [UNVERIFIED, VERIFIED, CONFIRMING])
def test_wrong_person_and_human_requests_are_always_honoured(situation):
    assert decide(u(Intent.wrong_person), situation).effects["stage"] == Stage.wrong_party
    d = decide(u(Intent.request_human), situation)
    assert d.action is Action.handoff
    assert d.effects == {"stage": Stage.handed_off, "handoff_reason": "request_human"}


def test_nothing_is_disclosed_before_identity():
    for intent in (Intent.info_request, Intent.objection, Intent.pay_now, Intent.other):
        d = decide(u(intent), UNVERIFIED)
        assert d.action is Action.verify_identity
        assert d.ask is None  # no offer computed, so no figures can reach the reply


def test_matching_digits_verify_and_inform():
    d = decide(u(Intent.other, figures=Figures(digits="4821")), UNVERIFIED)
    assert d.action is Action.inform and d.ask is PolicyAsk.options
    assert d.effects["identity_verified"] is True


def test_digits_found_in_text_when_understanding_missed_them():
    d = decide(u(Intent.other), replace(UNVERIFIED, text="es 4 8 2 1"))
    assert d.action is Action.inform


def test_wrong_digits_count_attempts_then_hand_off():
    wrong = u(Intent.other, figures=Figures(digits="1111"))
    d = decide(wrong, UNVERIFIED)
    assert d.action is Action.verify_identity and d.effects["identity_attempts"] == 1
    d = decide(wrong, replace(UNVERIFIED, identity_attempts=2))
    assert d.action is Action.handoff and d.effects["handoff_reason"] == "identity"


def test_name_check_when_no_document_on_file():
    s = replace(UNVERIFIED, identity_method="name", document_last4=None)
    assert decide(u(Intent.other), s).action is Action.verify_identity
    asked = replace(s, last_action="verify_identity")
    assert decide(u(Intent.accept), asked).action is Action.inform
    assert decide(u(Intent.other), replace(asked, text="sí, soy yo")).action is Action.inform
    assert decide(u(Intent.other), replace(asked, text="hola")).action is Action.verify_identity
    assert decide(u(Intent.reject), asked).action is Action.wrong_party


@pytest.mark.parametrize(
    "flags,reason,stage",
    [
        ({"dispute": True}, "dispute", Stage.disputed),
        ({"vulnerability": True}, "vulnerability", Stage.handed_off),
    ],
)
def test_dispute_and_vulnerability_go_to_a_person(flags, reason, stage):
    d = decide(u(Intent.objection, objections=[Objection.amount], **flags), VERIFIED)
    assert d.action is Action.handoff
    assert d.effects == {"stage": stage, "handoff_reason": reason}


def test_objection_presents_options():
    d = decide(u(Intent.objection, objections=[Objection.timing]), VERIFIED)
    assert d.action is Action.offer and d.ask is PolicyAsk.options


def test_option_pick_asks_for_confirmation_of_that_option():
    d = decide(u(Intent.accept, figures=Figures(option=2)), VERIFIED)
    assert d.action is Action.confirm_plan
    assert (d.ask, d.option) == (PolicyAsk.option, 2)
    assert d.effects["stage"] == Stage.agreement_pending_confirmation


def test_option_that_was_not_offered_is_clarified():
    d = decide(u(Intent.accept, figures=Figures(option=7)), VERIFIED)
    assert d.action is Action.clarify


def test_counteroffer_goes_to_policy():
    said = u(Intent.counteroffer, figures=Figures(amounts=[Decimal("500")], period=Period.monthly))
    d = decide(said, VERIFIED)
    assert d.ask is PolicyAsk.counteroffer
    assert d.counteroffer.amount == Decimal("500")
    assert d.counteroffer.frequency is Frequency.monthly


def test_weekly_capacity_becomes_biweekly():
    c = counteroffer_from(
        u(Intent.counteroffer, figures=Figures(amounts=[Decimal("250")], period=Period.weekly))
    )
    assert (c.amount, c.frequency) == (Decimal("500"), Frequency.biweekly)


def test_no_figures_no_counteroffer():
    assert counteroffer_from(u(Intent.counteroffer)) is None


def test_explicit_yes_creates_the_agreement():
    d = decide(u(Intent.accept), CONFIRMING)
    assert d.action is Action.agreement_active
    assert d.effects == {"stage": Stage.agreement_active, "create_agreement": True}
    needs = replace(CONFIRMING, pending_plan_needs_approval=True)
    d = decide(u(Intent.accept), needs)
    assert d.action is Action.agreement_pending_approval
    assert d.effects["stage"] == Stage.agreement_pending_approval


def test_yes_to_an_expired_plan_gets_fresh_options():
    d = decide(u(Intent.accept), replace(CONFIRMING, pending_plan_expired=True))
    assert d.action is Action.offer and "create_agreement" not in d.effects


def test_no_to_the_plan_shows_the_options_again():
    d = decide(u(Intent.reject), CONFIRMING)
    assert d.action is Action.offer and "create_agreement" not in d.effects


def test_a_bare_yes_to_several_options_asks_which():
    assert decide(u(Intent.accept), VERIFIED).action is Action.clarify


def test_repeated_misunderstanding_hands_off():
    d = decide(u(Intent.other), replace(VERIFIED, clarify_streak=2))
    assert d.action is Action.handoff and d.effects["handoff_reason"] == "not_understood"


def test_silence_while_a_person_holds_the_conversation():
    for stage in (Stage.handed_off, Stage.disputed, Stage.wrong_party):
        assert decide(u(Intent.objection), replace(VERIFIED, stage=stage)).action is None


def test_pending_approval_gets_a_holding_reply():
    s = replace(VERIFIED, stage=Stage.agreement_pending_approval)
    assert decide(u(Intent.info_request), s).action is Action.await_approval


def test_writing_after_opting_out_opts_back_in():
    s = replace(VERIFIED, stage=Stage.opted_out)
    d = decide(u(Intent.info_request), s)
    assert d.effects.get("opt_in_again") is True
    assert d.action is Action.inform


def test_pressed_buttons_read_as_typed_answers():
    from agent.buttons import button_text

    assert button_text("option:3", "3. 6 quincenales") == "3"
    assert button_text("confirm:yes") == "sí"
    assert button_text("confirm:no") == "no"
    assert button_text("something-else", "Hablar con asesor") == "Hablar con asesor"
