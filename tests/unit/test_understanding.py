"""Table-driven tests for the offline understanding classifier."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.understanding.normalize import normalize
from agent.understanding.offline import classify, read_agent_message
from agent.understanding.schema import Intent, Objection, Period

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Mexico_City"))  # a Tuesday
TODAY = NOW.date()

OPTIONS = (
    "Tu saldo es de $12,400. Tengo estas opciones:\n"
    "1) Pago único de $9,900 con 20% de descuento\n"
    "2) 3 cuotas mensuales de $4,300\n"
    "3) 6 cuotas quincenales de $2,200\n"
    "¿Cuál te conviene más?"
)
OPTIONS_KEYCAP = (
    "Te propongo:\n1️⃣ Pago de contado de $1.480.000\n2️⃣ 4 cuotas mensuales de $480.000\n"
    "3️⃣ 8 cuotas quincenales de $245.000\n¿Cuál prefieres?"
)
CONFIRM = (
    "Quedaría así: 3 cuotas mensuales de $4,300, la primera el 15 de marzo. ¿Confirmas el plan?"
)
ALTERNATIVE = "No puedo aceptar $200 al mes, pero puedo ofrecerte 8 cuotas de $1,050. ¿Te parece?"
DIGITS = "Por seguridad, ¿me confirmas los últimos 4 dígitos de tu documento de identidad?"
NAME = "Hola, buenas tardes. ¿Hablo con María Fernanda López?"
INTRO = "Hola Juan, te escribo de Crédito Ágil por un saldo pendiente. ¿Tienes un momento?"
AGREED = "¡Listo! Tu acuerdo quedó registrado. Te enviaré un recordatorio."


def c(text: str, last: str | None = None):
    return classify(text, last, now=NOW)


# --- intents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "last", "intent"),
    [
        ("perdí mi trabajo y este mes no puedo pagar", None, Intent.objection),
        ("es demasiado, no tengo tanto", None, Intent.objection),
        ("puedo 500 al mes", None, Intent.counteroffer),
        ("pago el 15", None, Intent.counteroffer),
        ("¿puedo pagarlo en 6 cuotas?", OPTIONS, Intent.counteroffer),
        ("la próxima semana le pago", None, Intent.counteroffer),
        ("ya pagué la semana pasada", None, Intent.already_paid),
        ("ya te transferí esta mañana", None, Intent.already_paid),
        ("eso ya está liquidado, revisen", None, Intent.already_paid),
        ("no soy esa persona", None, Intent.wrong_person),
        ("número equivocado", None, Intent.wrong_person),
        ("no conozco a ningún Juan Pérez", None, Intent.wrong_person),
        ("quiero hablar con un asesor", None, Intent.request_human),
        ("pásame con una persona", None, Intent.request_human),
        ("quiero hablar con un humano", None, Intent.request_human),
        ("no me escriban más", None, Intent.opt_out),
        ("BAJA", None, Intent.opt_out),
        ("STOP", None, Intent.opt_out),
        ("deja de molestarme", None, Intent.opt_out),
        ("¿cuánto debo?", None, Intent.info_request),
        ("¿de qué es esta deuda?", None, Intent.info_request),
        ("¿quién habla?", None, Intent.info_request),
        ("quiero pagar todo ya", None, Intent.pay_now),
        ("cómo pago?", None, Intent.pay_now),
        ("pásame la cuenta", None, Intent.pay_now),
        ("no, gracias", OPTIONS, Intent.reject),
        ("no me interesa", None, Intent.reject),
        ("no acepto", CONFIRM, Intent.reject),
        ("no estoy de acuerdo", CONFIRM, Intent.reject),
        ("hola", None, Intent.other),
        ("buenas tardes", None, Intent.other),
        ("gracias", AGREED, Intent.other),
        ("jajaja", None, Intent.other),
        ("acepto la propuesta", None, Intent.accept),
    ],
)
def test_intents(text: str, last: str | None, intent: Intent) -> None:
    assert c(text, last).intent == intent


@pytest.mark.parametrize(
    ("text", "intent", "objections"),
    [
        (
            "perdí mi trabajo y este mes no puedo pagar",
            Intent.objection,
            [Objection.emotional, Objection.timing],
        ),
        ("es demasiado, no tengo tanto", Intent.objection, [Objection.amount]),
        ("ahorita no tengo lana", Intent.objection, [Objection.timing]),
        ("me da mucha vergüenza esta situación 😢", Intent.objection, [Objection.emotional]),
        ("me pueden hacer un descuento?", Intent.objection, [Objection.amount]),
        ("dame chance hasta que me paguen", Intent.objection, [Objection.timing]),
        (
            "no me alcanza, puedo 300 a la quincena",
            Intent.counteroffer,
            [Objection.amount],
        ),
        ("ahorita no tengo, pero el 30 le pago", Intent.counteroffer, [Objection.timing]),
        ("puedo 500 al mes", Intent.counteroffer, []),
        ("no tengo dinero, no me escriban más", Intent.opt_out, [Objection.timing]),
    ],
)
def test_objections(text: str, intent: Intent, objections: list[Objection]) -> None:
    u = c(text)
    assert u.intent == intent
    assert u.objections == objections


def test_objections_are_sorted_and_unique() -> None:
    u = c("qué abuso, son unos ladrones, no tengo tanto y ahorita no puedo, estoy desesperado")
    assert u.objections == sorted(set(u.objections))
    assert set(u.objections) == {Objection.amount, Objection.emotional, Objection.timing}


# --- flags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hardship", "vulnerability", "dispute"),
    [
        ("perdí mi trabajo y este mes no puedo pagar", True, False, False),
        ("me bajaron el sueldo, no me alcanza", True, False, False),
        ("tuve un accidente y no he podido trabajar", True, False, False),
        ("falleció mi esposo el mes pasado", True, True, False),
        ("mi mamá está en el hospital", True, True, False),
        ("ya no aguanto, me quiero morir", False, True, False),
        ("no reconozco esa deuda", False, False, True),
        ("yo nunca pedí ese préstamo", False, False, True),
        ("me están cobrando de más", False, False, True),
        ("es demasiado, no tengo tanto", False, False, False),
        ("hola, buenas tardes", False, False, False),
    ],
)
def test_flags(text: str, hardship: bool, vulnerability: bool, dispute: bool) -> None:
    u = c(text)
    assert (u.hardship, u.vulnerability, u.dispute) == (hardship, vulnerability, dispute)


def test_dispute_is_an_amount_objection() -> None:
    u = c("ese cobro está mal, yo debía mucho menos")
    assert u.intent == Intent.objection
    assert u.dispute is True
    assert Objection.amount in u.objections


def test_too_much_is_not_a_dispute() -> None:
    u = c("es mucho dinero, no me alcanza")
    assert Objection.amount in u.objections
    assert u.dispute is False


# --- figures: amounts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("puedo 500", [Decimal("500")]),
        ("puedo pagar $1,500", [Decimal("1500")]),
        ("puedo pagar 1.500", [Decimal("1500")]),
        ("puedo pagar 1500.50", [Decimal("1500.50")]),
        ("puedo pagar 1.500,50", [Decimal("1500.50")]),
        ("puedo dar 2 mil", [Decimal("2000")]),
        ("puedo dar dos mil", [Decimal("2000")]),
        ("puedo dar 1.5k", [Decimal("1500")]),
        ("te doy mil quinientos", [Decimal("1500")]),
        ("te doy dos mil quinientos", [Decimal("2500")]),
        ("te doy 500 pesos", [Decimal("500")]),
        ("te paso 50 lucas", [Decimal("50000")]),
        ("te paso una luca", [Decimal("1000")]),
        ("le pago 2 palos", [Decimal("2000000")]),
        ("le pago medio palo", [Decimal("500000")]),
        ("le pago 1.5 millones", [Decimal("1500000")]),
        ("le consigno $1.850.000", [Decimal("1850000")]),
        ("le pago 3 mil 500", [Decimal("3500")]),
    ],
)
def test_amounts(text: str, amounts: list[Decimal]) -> None:
    u = c(text)
    assert u.figures.amounts == amounts
    assert all(isinstance(a, Decimal) for a in u.figures.amounts)


@pytest.mark.parametrize(
    "text",
    [
        "pago el 15",  # a date
        "en 6 cuotas",  # a count
        "cada 15 días",  # a period
        "mil gracias",
        "tengo 3 hijos",
        "hace 2 meses",
        "20% de descuento",
    ],
)
def test_not_amounts(text: str) -> None:
    assert c(text).figures.amounts == []


def test_option_is_not_an_amount() -> None:
    u = c("la 2", OPTIONS)
    assert u.figures.amounts == []
    assert u.figures.option == 2


# --- figures: periods and counts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("500 al mes", Period.monthly),
        ("500 mensuales", Period.monthly),
        ("500 cada mes", Period.monthly),
        ("500 por mes", Period.monthly),
        ("500 x mes", Period.monthly),
        ("300 quincenal", Period.biweekly),
        ("300 cada quincena", Period.biweekly),
        ("300 por quincena", Period.biweekly),
        ("300 a la quincena", Period.biweekly),
        ("300 cada 15 días", Period.biweekly),
        ("200 semanales", Period.weekly),
        ("200 por semana", Period.weekly),
        ("200 cada semana", Period.weekly),
        ("puedo pagar 500", None),
    ],
)
def test_periods(text: str, period: Period | None) -> None:
    assert c(text).figures.period == period


@pytest.mark.parametrize(
    ("text", "installments"),
    [
        ("en 6 cuotas", 6),
        ("a 3 meses", 3),
        ("6 pagos", 6),
        ("en tres partes", 3),
        ("en 12 mensualidades", 12),
        ("10 pagos de mil", 10),
    ],
)
def test_installments(text: str, installments: int) -> None:
    u = c(text)
    assert u.figures.installments == installments
    assert Decimal(installments) not in u.figures.amounts


def test_count_and_amount_together() -> None:
    u = c("¿puedo en 6 pagos de 2 mil?")
    assert u.intent == Intent.counteroffer
    assert u.figures.installments == 6
    assert u.figures.amounts == [Decimal("2000")]


# --- figures: dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pago el 15", date(2026, 3, 15)),
        ("pago el 5", date(2026, 4, 5)),  # the 5th has passed this month
        ("pago el 10", date(2026, 3, 10)),  # today counts
        ("pago el 15 de marzo", date(2026, 3, 15)),
        ("pago el 5 de marzo", date(2027, 3, 5)),  # already past this year
        ("pago el 15/03", date(2026, 3, 15)),
        ("pago el 2 de mayo", date(2026, 5, 2)),
        ("pago el 1ro de abril", date(2026, 4, 1)),
        ("pago el viernes", date(2026, 3, 13)),
        ("pago el martes", date(2026, 3, 17)),  # today is Tuesday: the next one
        ("te pago mañana", date(2026, 3, 11)),
        ("te pago pasado mañana", date(2026, 3, 12)),
        ("la próxima semana le pago", date(2026, 3, 16)),  # next Monday
        ("la semana que viene le pago", date(2026, 3, 16)),
        ("pago a fin de mes", date(2026, 3, 31)),
        ("en la quincena le abono", date(2026, 3, 15)),
        ("el 10 del próximo mes le pago", date(2026, 4, 10)),
        ("te pago en 3 días", date(2026, 3, 13)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    u = c(text)
    assert u.figures.dates == [expected]
    assert u.figures.amounts == []
    assert all(d >= TODAY for d in u.figures.dates)


def test_quincena_after_month_middle_is_month_end() -> None:
    late = datetime(2026, 3, 20, 9, 0, tzinfo=ZoneInfo("America/Bogota"))
    u = classify("en la quincena le pago", now=late)
    assert u.figures.dates == [date(2026, 3, 31)]


def test_end_of_month_in_february() -> None:
    feb = datetime(2026, 2, 3, 9, 0, tzinfo=ZoneInfo("America/Lima"))
    assert classify("pago a fin de mes", now=feb).figures.dates == [date(2026, 2, 28)]


def test_negated_date_is_dropped_when_another_is_offered() -> None:
    u = c("el 15 no puedo, mejor el 22", CONFIRM)
    assert u.intent == Intent.counteroffer
    assert u.figures.dates == [date(2026, 3, 22)]
    assert Objection.timing in u.objections


def test_two_amounts_and_two_dates() -> None:
    u = c("te pago 50 mil el 10 y 60 mil el 20")
    assert u.figures.amounts == [Decimal("50000"), Decimal("60000")]
    assert u.figures.dates == [date(2026, 3, 10), date(2026, 3, 20)]


def test_default_now_is_utc_today() -> None:
    before = datetime.now(ZoneInfo("UTC")).date()
    u = classify("te pago mañana")
    assert len(u.figures.dates) == 1
    assert (u.figures.dates[0] - before).days in (1, 2)  # 2 only across a midnight


# --- context rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply", ["ok", "sí", "si", "dale", "va", "de acuerdo", "👍", "listo", "me parece bien"]
)
def test_yes_after_a_proposal_is_accept(reply: str) -> None:
    assert c(reply, CONFIRM).intent == Intent.accept
    assert c(reply, ALTERNATIVE).intent == Intent.accept


@pytest.mark.parametrize("reply", ["ok", "👍", "dale"])
def test_yes_without_a_proposal_is_not_accept(reply: str) -> None:
    assert c(reply).intent == Intent.other
    assert c(reply, AGREED).intent == Intent.other


@pytest.mark.parametrize(
    ("reply", "option"),
    [
        ("la 2", 2),
        ("opción dos", 2),
        ("la primera", 1),
        ("la segunda opción", 2),
        ("2️⃣", 2),
        ("2", 2),
        ("la 3 por favor", 3),
        ("la última", 3),
        ("dale con las 3 cuotas", 2),
        ("me quedo con la de 6", 3),
        ("la del pago único", 1),
    ],
)
def test_option_picks(reply: str, option: int) -> None:
    u = c(reply, OPTIONS)
    assert u.intent == Intent.accept
    assert u.figures.option == option
    assert u.figures.amounts == []


def test_option_pick_with_keycap_options() -> None:
    ctx = read_agent_message(OPTIONS_KEYCAP)
    assert sorted(ctx.options) == [1, 2, 3]
    u = c("de una, la de contado", OPTIONS_KEYCAP)
    assert (u.intent, u.figures.option) == (Intent.accept, 1)


def test_option_with_other_count_is_a_counteroffer() -> None:
    u = c("la 2 pero en 4 cuotas", OPTIONS)
    assert u.intent == Intent.counteroffer
    assert u.figures.installments == 4


def test_restating_the_agent_plan_is_accept() -> None:
    u = c("ok, acepto las 8 cuotas", ALTERNATIVE)
    assert u.intent == Intent.accept
    assert u.figures.installments == 8


@pytest.mark.parametrize("reply", ["4821", "es 4821", "48 21", "mi documento termina en 4821"])
def test_digits_after_identity_question(reply: str) -> None:
    u = c(reply, DIGITS)
    assert u.intent == Intent.other
    assert u.figures.digits == "4821"
    assert u.figures.amounts == []


def test_bare_number_without_identity_question_is_an_amount() -> None:
    u = c("4821")
    assert u.figures.digits is None
    assert u.figures.amounts == [Decimal("4821")]


def test_no_after_confirmation_is_reject() -> None:
    assert c("no", CONFIRM).intent == Intent.reject
    assert c("nop", CONFIRM).intent == Intent.reject


def test_no_after_name_question_is_wrong_person() -> None:
    assert c("no", NAME).intent == Intent.wrong_person
    assert c("sí, soy yo", NAME).intent == Intent.other


def test_yes_to_a_non_proposal_question_is_other() -> None:
    assert c("sí, dime", INTRO).intent == Intent.other
    # "cuota" in the greeting is not a proposal: only the question asked counts
    assert c("sí", "Te escribo por tu cuota vencida. ¿Tienes un momento?").intent == Intent.other
    assert c("sí", "¿Puedes pagar hoy?").intent == Intent.accept


def test_if_is_not_yes() -> None:
    assert c("¿si pago de contado me dan paz y salvo?", OPTIONS).intent == Intent.info_request


def test_hedged_date_is_a_timing_objection() -> None:
    u = c("ahora estoy complicado, la semana que viene capaz puedo algo")
    assert u.intent == Intent.objection
    assert Objection.timing in u.objections


def test_partial_offer_without_numbers_is_a_counteroffer() -> None:
    u = c("te puedo dar la mitad ahora y la otra mitad el mes que viene")
    assert u.intent == Intent.counteroffer
    assert Objection.timing not in u.objections


def test_question_about_an_option_is_info() -> None:
    u = c("¿la opción 1 es con descuento?", OPTIONS)
    assert u.intent == Intent.info_request
    assert Objection.amount not in u.objections


# --- priority rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("no tengo dinero, no me escriban más", Intent.opt_out),
        ("ya pagué, dejen de molestarme", Intent.opt_out),
        ("puedo 500 al mes pero no me vuelvan a escribir", Intent.opt_out),
        ("no soy yo, no conozco a esa persona, ¿cuánto dice que debe?", Intent.wrong_person),
        ("es demasiado, quiero hablar con un supervisor", Intent.request_human),
        ("puedo 300 al mes pero prefiero hablar con un asesor", Intent.request_human),
        ("¿cuánto debo? pásame con un humano", Intent.request_human),
    ],
)
def test_priority_intents_win(text: str, intent: Intent) -> None:
    assert c(text, OPTIONS).intent == intent


@pytest.mark.parametrize(
    "text", ["no me interesa", "no me interesa, gracias", "no quiero ninguna opción"]
)
def test_not_interested_is_not_opt_out(text: str) -> None:
    assert c(text).intent == Intent.reject


def test_sick_leave_baja_is_not_opt_out() -> None:
    u = c("estoy de baja médica y no cobro hasta el mes que viene")
    assert u.intent == Intent.objection
    assert u.hardship is True


def test_lower_installment_is_not_opt_out() -> None:
    assert c("¿me pueden dar una cuota más baja?").intent != Intent.opt_out


# --- robustness -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "last", "intent"),
    [
        ("ya pague la semana pasada", None, Intent.already_paid),
        ("NO ME ESCRIBAN MAS", None, Intent.opt_out),
        ("siiii", CONFIRM, Intent.accept),
        ("nooo", CONFIRM, Intent.reject),
        ("x favor bajenle, q no tengo tanto varo", None, Intent.objection),
        ("nose cuando pueda pagar, ahorita toy sin dinero", None, Intent.objection),
        ("sta bien", CONFIRM, Intent.accept),
        ("ntp, el viernes te deposito", None, Intent.counteroffer),
        ("kiero ablar con un asesor", None, Intent.request_human),
        ("cuanto debo", None, Intent.info_request),
        ("xq me cobran intereses?", None, Intent.info_request),
        ("✅", CONFIRM, Intent.accept),
        ("❌", CONFIRM, Intent.reject),
        ("💸💸 no tengo 😭", None, Intent.objection),
        ("can I talk to a real person?", None, Intent.request_human),
        ("stop texting me", None, Intent.opt_out),
        ("wrong number", None, Intent.wrong_person),
        ("I already paid", None, Intent.already_paid),
        ("es too much money", None, Intent.objection),
        ("che, estoy sin laburo, no puedo pagar por ahora", None, Intent.objection),
        ("estoy sin curro, ahora mismo no puedo", None, Intent.objection),
        ("la pega está mala, ahora no puedo", None, Intent.objection),
        ("bacán, de una", CONFIRM, Intent.accept),
        ("chido, va", CONFIRM, Intent.accept),
        ("sale", CONFIRM, Intent.accept),
        ("vale", CONFIRM, Intent.accept),
        ("ya po, la 1", OPTIONS, Intent.accept),
        ("la 2 nomás", OPTIONS, Intent.accept),
        ("pucha, estoy súper complicado, me da pena", None, Intent.objection),
        ("te puedo pasar 50 lucas al mes", None, Intent.counteroffer),
        ("me quedé sin chamba, ahorita no tengo ni para comer", None, Intent.objection),
        ("ando bien bruja, no tengo ni un quinto", None, Intent.objection),
        ("es una cagada de plata, no puedo", None, Intent.objection),
        ("no doy más con esta situación", None, Intent.objection),
        ("le caigo con 500 el viernes", None, Intent.counteroffer),
        ("te lo pago en 2 veces", None, Intent.counteroffer),
        ("pásame el Nequi", None, Intent.pay_now),
        ("¿a qué alias transfiero?", None, Intent.pay_now),
        ("No lo acepto", CONFIRM, Intent.reject),
        ("los voy a reportar si me siguen escribiendo", None, Intent.opt_out),
        ("pero si ya pagué", OPTIONS, Intent.already_paid),
        ("pagué el 5 de este mes", None, Intent.already_paid),
        ("¿qué pasa si pago después de la fecha?", None, Intent.info_request),
    ],
)
def test_robustness(text: str, last: str | None, intent: Intent) -> None:
    assert c(text, last).intent == intent


def test_accents_do_not_matter() -> None:
    a = c("¿Cuánto debo? Ya pagué en diciembre", None)
    b = c("cuanto debo? ya pague en diciembre", None)
    assert a.intent == b.intent == Intent.already_paid


def test_normalize() -> None:
    assert normalize("Siiii, x favor!! 👍🏼") == "si , por favor ! ! ok"
    assert normalize("Pásame $1,500.50 xq nose") == "pasame $ 1,500.50 porque no se"


def test_confidence_is_higher_for_strong_hits() -> None:
    strong = c("no me escriban más")
    weak = c("mmm bueno no sé, es que la verdad")
    assert 0.0 <= weak.confidence < strong.confidence <= 1.0


def test_empty_message() -> None:
    u = c("")
    assert u.intent == Intent.other
    assert u.confidence <= 0.5


def test_deterministic() -> None:
    text = "no me alcanza, puedo 300 a la quincena"
    assert c(text, OPTIONS) == c(text, OPTIONS)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.sampled_from([OPTIONS, CONFIRM, DIGITS])))
def test_never_crashes_and_respects_contract(text: str, last: str | None) -> None:
    u = classify(text, last, now=NOW)
    assert 0.0 <= u.confidence <= 1.0
    assert u.objections == sorted(set(u.objections))
    assert all(d >= TODAY for d in u.figures.dates)
    assert all(isinstance(a, Decimal) and a > 0 for a in u.figures.amounts)


# --- bad news is never a yes; picks the agent made explicit -----------------------------------

HIGHLIGHTED = (
    "Entiendo que el monto se siente alto. Por eso te destaco la opción 1: pagas $9,900.\n\n"
    "Estas son las opciones que tengo para ti:\n"
    "1️⃣ Pago único de $9,900 con 20% de descuento\n"
    "2️⃣ 3 cuotas mensuales de $4,300\n"
    "3️⃣ 6 cuotas quincenales de $2,200\n"
    "¿Cuál te acomoda más?"
)


@pytest.mark.parametrize(
    "text", ["ya no tengo trabajo, me corrieron", "ya no me alcanza, me bajaron el sueldo"]
)
def test_ya_no_with_bad_news_is_not_a_yes(text):
    r = classify(text, CONFIRM, now=NOW)
    assert r.intent is Intent.objection
    assert r.objections


@pytest.mark.parametrize("text", ["ya", "ya, dale", "ya está", "sí, confirmo"])
def test_ya_as_ok_still_confirms(text):
    assert classify(text, CONFIRM, now=NOW).intent is Intent.accept


@pytest.mark.parametrize(
    "text",
    [
        "no tengo para pagarlo todo junto",
        "no puedo pagar todo de una vez",
        "no tengo para pagarla toda junta",
    ],
)
def test_not_all_at_once_is_an_amount_objection(text):
    r = classify(text, OPTIONS, now=NOW)
    assert r.intent is Intent.objection and Objection.amount in r.objections


def test_a_yes_to_a_highlighted_option_picks_it():
    assert read_agent_message(HIGHLIGHTED).highlighted == 1
    r = classify("sí", HIGHLIGHTED, now=NOW)
    assert r.intent is Intent.accept and r.figures.option == 1
    assert classify("ok, la 2", HIGHLIGHTED, now=NOW).figures.option == 2


@pytest.mark.parametrize("agent", [OPTIONS, OPTIONS_KEYCAP, CONFIRM])
def test_no_highlight_no_pick_from_a_bare_yes(agent):
    assert read_agent_message(agent).highlighted is None
    r = classify("sí", agent, now=NOW)
    assert r.intent is Intent.accept and r.figures.option is None


def test_explicit_confirmation_words():
    from agent.understanding.offline import bare_option_number, confirms, wants_full_payment

    for yes in ("sí", "sí, de acuerdo", "👍", "claro que sí", "acepto", "va, de acuerdo"):
        assert confirms(yes), yes
    for no in (
        "ya no tengo trabajo, me corrieron",
        "no sé",
        "mmm",
        "no acepto",
        "no estoy de acuerdo",
    ):
        assert not confirms(no), no
    assert wants_full_payment("quiero pagar todo de una vez")
    assert not wants_full_payment("¿a qué cuenta deposito?")
    assert [bare_option_number(t) for t in ("1", "2️⃣", "3.", "la 1", "15")] == [1, 2, 3, None, None]
