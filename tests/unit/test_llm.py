"""The model layer's pure parts: parsing, trust rules, memory bounds, prompts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agent.actions import Action
from agent.llm.faithfulness import unfaithful
from agent.llm.memory import MEMORY_CHARS, SUMMARY_LINES, memory_text, rolled, summary_line
from agent.llm.prompts import load_prompt
from agent.llm.provider import clean_draft
from agent.llm.understanding import (
    UNDERSTANDING_SCHEMA,
    InvalidModelOutput,
    model_understanding,
    parse_json_object,
)
from agent.understanding.offline import classify
from agent.understanding.schema import Intent, Objection

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Mexico_City"))
TODAY = NOW.date()


def answer(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "intent": "objection",
        "objections": ["amount"],
        "amounts": [],
        "period": None,
        "dates": [],
        "option": None,
        "installments": None,
        "hardship": False,
        "vulnerability": False,
        "dispute": False,
        "confidence": 0.8,
    }
    return base | overrides


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"intent": "accept"}',
        '```json\n{"intent": "accept"}\n```',
        'Claro: {"intent": "accept",} espero que sirva',
        '\n\n  {"intent": "accept", "objections": ["amount",]}  ',
    ],
)
def test_a_json_object_is_found_in_what_models_actually_write(text):
    assert parse_json_object(text)["intent"] == "accept"


@pytest.mark.parametrize("text", ["", "   ", "no sé", "[1, 2]", '{"intent": "accept"'])
def test_no_usable_object_is_a_clear_error(text):
    with pytest.raises(InvalidModelOutput):
        parse_json_object(text)


def test_the_schema_is_strict_mode_ready():
    """Strict structured outputs need every property required and no extra keys."""
    assert UNDERSTANDING_SCHEMA["additionalProperties"] is False
    assert set(UNDERSTANDING_SCHEMA["required"]) == set(UNDERSTANDING_SCHEMA["properties"])


# --- what is trusted from the model ----------------------------------------------------------


def test_the_models_intent_and_objections_are_taken():
    text = "la verdad está muy caro todo"
    offline = classify(text, None, now=NOW)
    u = model_understanding(answer(objections=["amount", "emotional"]), offline, text, TODAY)
    assert u.intent is Intent.objection
    assert u.objections == [Objection.amount, Objection.emotional]


def test_an_opt_out_found_by_the_rules_always_stands():
    text = "no me escriban más"
    offline = classify(text, None, now=NOW)
    assert offline.intent is Intent.opt_out
    u = model_understanding(answer(intent="other", objections=[]), offline, text, TODAY)
    assert u.intent is Intent.opt_out


def test_vulnerability_is_the_union_of_both_readings():
    text = "me quiero morir, ya no aguanto"
    offline = classify(text, None, now=NOW)
    u = model_understanding(answer(vulnerability=False), offline, text, TODAY)
    assert u.vulnerability is offline.vulnerability is True
    calm = classify("hola", None, now=NOW)
    assert model_understanding(answer(vulnerability=True), calm, "hola", TODAY).vulnerability


def test_figures_the_debtor_did_not_write_are_dropped():
    text = "no me alcanza, de verdad"
    offline = classify(text, None, now=NOW)
    invented = answer(intent="counteroffer", amounts=["300"], installments=6, period="weekly")
    u = model_understanding(invented, offline, text, TODAY)
    assert u.figures.amounts == [] and u.figures.installments is None and u.figures.period is None
    assert u.intent is offline.intent  # a counteroffer needs a figure


def test_figures_the_debtor_wrote_in_words_are_taken_when_the_rules_missed_them():
    text = "lo puedo pagar en seis partes cada quincena"
    offline = classify(text, None, now=NOW)
    data = answer(intent="counteroffer", installments=6, period="biweekly", option=2)
    u = model_understanding(data, offline, text, TODAY)
    assert u.figures.installments == 6
    assert u.figures.period is not None and u.figures.period.value == "biweekly"
    assert u.figures.option is None  # "2" was never written


def test_the_offline_extractor_wins_on_figures():
    text = "puedo dar dos mil quinientos"
    offline = classify(text, None, now=NOW)
    assert offline.figures.amounts == [Decimal("2500")]
    u = model_understanding(answer(amounts=["25000"], period="monthly"), offline, text, TODAY)
    assert u.figures.amounts == [Decimal("2500")]
    assert u.figures.period is None  # no word for a period in the text


def test_model_dates_outside_a_sane_range_and_bad_values_are_ignored():
    text = "le pago luego"
    offline = classify(text, None, now=NOW)
    data = answer(dates=["2020-01-01", "mañana", "2026-04-15"], option=99, confidence=7)
    u = model_understanding(data, offline, text, TODAY)
    assert u.figures.dates == [date(2026, 4, 15)]
    assert u.figures.option is None
    assert u.confidence == 1.0


def test_an_unknown_intent_is_invalid_output():
    offline = classify("hola", None, now=NOW)
    with pytest.raises(InvalidModelOutput):
        model_understanding(answer(intent="pagar"), offline, "hola", TODAY)


# --- drafts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Hola, Ana"', "Hola, Ana"),
        ("Mensaje: Hola, Ana", "Hola, Ana"),
        ("# Respuesta\nHola, Ana", "Hola, Ana"),
        ("“Hola, Ana”", "Hola, Ana"),
        ("   ", ""),
    ],
)
def test_a_draft_is_cleaned_of_wrapping(raw, expected):
    assert clean_draft(raw) == expected


# --- memory ----------------------------------------------------------------------------------


def test_the_summary_keeps_only_the_newest_lines():
    summary: list[str] = []
    for i in range(50):
        summary = rolled(summary, f"línea {i}")
    assert len(summary) == SUMMARY_LINES and summary[-1] == "línea 49"


def test_memory_is_bounded_however_long_the_conversation():
    summary = [summary_line({"intent": "objection", "objections": ["amount"]}, "offer")] * 40
    history = [{"role": "debtor", "text": "x" * 5000}, {"role": "agent", "text": "y" * 5000}] * 30
    text = memory_text(summary, history, turns_before=400)
    assert len(text) <= MEMORY_CHARS
    assert "Cliente:" in text and "Asistente:" in text


def test_a_summary_line_says_what_happened_in_spanish():
    line = summary_line(
        {"intent": "counteroffer", "objections": ["amount"], "hardship": True}, "confirm_plan"
    )
    assert line == (
        "El cliente hizo una contrapropuesta (monto), con dificultades económicas o de salud; "
        "pedimos confirmar un plan."
    )


# --- prompts ---------------------------------------------------------------------------------


def test_every_action_has_an_instruction_and_every_segment_a_tone():
    prompt = load_prompt("draft")
    assert set(prompt.extra["instructions"]) == {a.value for a in Action}
    assert set(prompt.extra["tones"]) == {
        "good_history",
        "new",
        "hardship",
        "corporate",
        "standard",
    }
    assert prompt.version.startswith("draft-")


def test_the_understanding_prompt_spells_out_the_keys_for_plain_json_endpoints():
    prompt = load_prompt("understand")
    plain = prompt.messages(today="2026-03-10", last_agent_message="", text="hola", plain_json=True)
    strict = prompt.messages(
        today="2026-03-10", last_agent_message="", text="hola", plain_json=False
    )
    assert '"installments"' in plain[1]["content"]
    assert '"installments"' not in strict[1]["content"]


# --- faithfulness ----------------------------------------------------------------------------

REFERENCE = (
    "Para confirmar, Ana:\n• 5 cuotas mensuales de $960\n• Del 17 de marzo al 17 de julio\n"
    "• Total: $4,800\n¿Confirmas este plan? Responde SÍ o NO."
)


def test_a_rewording_with_the_same_figures_is_faithful():
    draft = (
        "Ana, te confirmo el plan: 5 cuotas mensuales de $960, del 17 de marzo al 17 de julio, "
        "por un total de $4.800. ¿Lo confirmas? Responde SÍ o NO."
    )
    assert unfaithful(draft, REFERENCE) == []


def test_a_swapped_or_dropped_figure_is_unfaithful():
    swapped = "Ana, confirmamos tu pago único de $4,320, del 17 de marzo al 17 de julio."
    reasons = unfaithful(swapped, REFERENCE)
    assert any("4320" in r for r in reasons)  # not in the reference
    assert any("960" in r for r in reasons)  # dropped


def test_prompt_echoes_loops_and_rambling_are_unfaithful():
    figures_ok = "5 cuotas de $960 del 17 de marzo al 17 de julio, total $4,800."
    assert unfaithful("Según el mensaje de referencia: " + figures_ok, REFERENCE)
    loop = (figures_ok + "\nTe ayudo con gusto a resolverlo hoy mismo.") * 2
    assert "Hay frases repetidas." in unfaithful(loop, REFERENCE)
    assert "Es demasiado largo: acórtalo." in unfaithful(figures_ok + " bla" * 400, REFERENCE)


def test_the_account_reference_digits_are_not_figures():
    reference = "Tu cuenta AUR-MX-0001 tiene un saldo de $4,800."
    assert unfaithful("Ana, tu saldo es de $4,800.", reference, ("AUR-MX-0001",)) == []
