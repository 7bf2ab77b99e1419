"""Guard checks that depend on the conversation: identity, disclosures, promises, format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.actions import Action, ReplyFacts
from agent.drafting import draft_and_guard, guard_context
from policies.guard import GuardContext, check, required_disclosures


def ctx(**overrides: object) -> GuardContext:
    base: dict[str, object] = {
        "currency": "MXN",
        "locale": "es_MX",
        "allowed_amounts": {Decimal("4800"), Decimal("4080")},
        "allowed_percentages": {Decimal("15")},
        "allowed_literals": {"Financiera Aurora", "Lucía"},
        "creditor": "Financiera Aurora",
        "pack": "mx",
    }
    return GuardContext(**(base | overrides))


FIRST = (
    "Gracias por confirmar, Lucía. Le escribimos de Financiera Aurora: tiene un saldo "
    "pendiente de $4,800.00. Puede pagar en sucursal o por transferencia."
)


def test_a_complete_first_contact_passes() -> None:
    assert check(FIRST, ctx(first_contact=True)).outcome == "pass"


@pytest.mark.parametrize(
    ("draft", "missing"),
    [
        (FIRST.replace("Le escribimos de Financiera Aurora: tiene", "Tiene"), "creditor_identity"),
        (FIRST.replace("de $4,800.00", "con nosotros"), "amount"),
        (FIRST.replace(" Puede pagar en sucursal o por transferencia.", ""), "how_to_pay"),
    ],
)
def test_first_contact_must_carry_each_disclosure(draft: str, missing: str) -> None:
    verdict = check(draft, ctx(first_contact=True))
    assert verdict.outcome == "redraft"
    assert verdict.rule_ids == [f"disclosure.{missing}"]
    assert check(draft, ctx()).outcome == "pass"  # a later message need not repeat them


def test_the_us_pack_asks_for_an_opt_out_in_every_message() -> None:
    us = ctx(pack="us", currency="USD", locale="es_US")
    assert required_disclosures(us) == ["opt_out_instruction"]
    assert check("Gracias, Lucía. ¿Le ayudo con algo más?", us).rule_ids == [
        "disclosure.opt_out_instruction"
    ]
    text = "Gracias, Lucía. ¿Le ayudo con algo más? Responda STOP para no recibir más mensajes."
    assert check(text, us).outcome == "pass"


def test_refusals_and_true_statements_pass() -> None:
    for draft in (
        "Lucía, no puedo condonar la deuda ni quitar intereses, pero sí ofrecerle un 15% menos.",
        "No vamos a tomar ninguna acción legal en este momento.",
        "Al terminar de pagar, informaremos a las centrales de riesgo que su cuenta está al día.",
        "Puede pagar en una sola exhibición de $4,080.",
    ):
        assert check(draft, ctx()).outcome == "pass", draft


def test_no_interest_is_allowed_only_when_the_offer_says_so() -> None:
    draft = "Son 3 pagos de $1,600 sin intereses."
    plan = ctx(allowed_amounts={Decimal("1600")}, allowed_counts={3})
    assert "promise.no_interest" in check(draft, plan).rule_ids
    assert check(draft, plan.model_copy(update={"interest_free": True})).outcome == "pass"


def test_whatsapp_button_limits() -> None:
    fine = ctx(button_titles=["Opción 1", "Opción 2", "Hablar con asesor"])
    assert check("Elige una opción.", fine).outcome == "pass"
    verdict = check("Elige.", ctx(button_titles=["a", "b", "c", "Una opción con título largo"]))
    assert verdict.rule_ids == ["format.button_title", "format.too_many_buttons"]


def test_the_drafter_adds_the_opt_out_footer_where_the_pack_requires_it() -> None:
    facts = ReplyFacts(debtor_first_name="Ana", creditor="Financiera Aurora", pack="us")
    text, verdict, fallback = draft_and_guard(Action.clarify, facts, "seed")
    assert verdict.outcome == "pass" and not fallback
    assert text.endswith("Si no deseas recibir más mensajes, responde BAJA.")
    mx, _, _ = draft_and_guard(Action.clarify, facts.model_copy(update={"pack": "mx"}), "seed")
    assert "BAJA" not in mx


def test_identity_prompts_reveal_nothing() -> None:
    facts = ReplyFacts(
        debtor_first_name="Ana",
        creditor="Financiera Aurora",
        balance=Decimal("4500"),
        identity_confirmed=False,
        pack="mx",
    )
    assert not guard_context(facts).identity_confirmed
    for attempt in range(3):
        text, verdict, fallback = draft_and_guard(
            Action.verify_identity,
            facts.model_copy(update={"identity_attempt": attempt}),
            f"seed-{attempt}",
        )
        assert verdict.outcome == "pass" and not fallback, text
