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
    yes = replace(CONFIRMING, text="sí")
    d = decide(u(Intent.accept), yes)
    assert d.action is Action.agreement_active
    assert d.effects == {"stage": Stage.agreement_active, "create_agreement": True}
    needs = replace(yes, pending_plan_needs_approval=True)
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


# --- only an explicit confirmation moves a plan on -------------------------------------------


@pytest.mark.parametrize("text", ["sí", "sí, de acuerdo", "ok", "confirmo", "👍", "dale, va"])
def test_affirmative_words_confirm_the_plan(text):
    d = decide(u(Intent.accept), replace(CONFIRMING, text=text))
    assert d.action is Action.agreement_active and d.effects.get("create_agreement")


def test_bad_news_read_as_a_yes_never_creates_an_agreement():
    """Even if understanding (offline or a model) calls hardship news "accept"."""
    news = u(Intent.accept, objections=[Objection.emotional], hardship=True)
    d = decide(news, replace(CONFIRMING, text="ya no tengo trabajo, me corrieron"))
    assert d.action is Action.offer and d.ask is PolicyAsk.options
    assert "create_agreement" not in d.effects
    assert d.effects["stage"] == Stage.negotiating


@pytest.mark.parametrize("objection", [Objection.amount, Objection.timing])
def test_a_yes_with_an_objection_re_offers(objection):
    d = decide(u(Intent.accept, objections=[objection]), replace(CONFIRMING, text="sí pero..."))
    assert d.action is Action.offer and "create_agreement" not in d.effects


def test_a_yes_with_hardship_re_offers_and_with_distress_hands_off():
    text = replace(CONFIRMING, text="sí, acepto, aunque me quedé sin trabajo")
    said = u(Intent.accept, objections=[Objection.emotional], hardship=True)
    d = decide(said, text)
    assert d.action is Action.offer and "create_agreement" not in d.effects
    d = decide(said.model_copy(update={"vulnerability": True}), text)
    assert d.action is Action.handoff and "create_agreement" not in d.effects


def test_venting_does_not_undo_an_explicit_yes():
    angry = u(Intent.accept, objections=[Objection.emotional])
    d = decide(angry, replace(CONFIRMING, text="son unos ladrones. sí, acepto"))
    assert d.action is Action.agreement_active


def test_accept_without_an_affirmative_word_asks_again_and_keeps_the_plan():
    d = decide(u(Intent.accept), replace(CONFIRMING, text="mmm bueno no sé"))
    assert d.action is Action.clarify and d.keep_pending_plan
    assert "create_agreement" not in d.effects


def test_hardship_news_while_confirming_is_classified_and_decided_as_no_yes():
    from agent.understanding.offline import classify

    confirm = (
        "Te confirmo los términos:\n• Total: $5,000\n\n¿Confirmas este acuerdo? Responde *SÍ*."
    )
    text = "ya no tengo trabajo, me corrieron"
    news = classify(text, confirm)
    assert news.intent is not Intent.accept and news.hardship
    assert decide(news, replace(CONFIRMING, text=text)).action is Action.offer


# --- picks: bare digits, a single option, pay in full stated up front ---------------------------


def test_a_bare_digit_is_a_pick_when_options_are_on_the_table():
    """After a clarify the options list is gone from the last message: "1" is still a pick."""
    d = decide(u(Intent.other), replace(VERIFIED, last_action="clarify", text="1"))
    assert d.action is Action.confirm_plan and d.ask is PolicyAsk.option and d.option == 1
    assert decide(u(Intent.other), replace(VERIFIED, text="7")).action is Action.clarify


def test_a_bare_digit_without_options_is_not_a_pick():
    no_offer = replace(VERIFIED, has_offer=False, offer_numbers=(), text="1")
    assert decide(u(Intent.other), no_offer).action is Action.inform


def test_a_yes_to_a_single_option_takes_it():
    d = decide(u(Intent.accept), replace(VERIFIED, offer_numbers=(1,), text="sí"))
    assert d.action is Action.confirm_plan and d.option == 1


def test_paying_in_full_stated_up_front_goes_to_its_confirmation():
    first = replace(VERIFIED, stage=Stage.new, has_offer=False, offer_numbers=(), last_action=None)
    d = decide(u(Intent.pay_now), replace(first, text="quiero pagar todo de una vez"))
    assert d.action is Action.confirm_plan and d.ask is PolicyAsk.option and d.option == 1
    assert d.effects["stage"] == Stage.agreement_pending_confirmation
    # asking how to pay, before any option was shown, still lists the options
    d = decide(u(Intent.pay_now), replace(first, text="¿a qué cuenta deposito?"))
    assert d.action is Action.offer and d.ask is PolicyAsk.options
