from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policies.formatting import format_date, format_money, format_percent
from policies.guard import GuardContext, check, find_forbidden, load_lexicon

TODAY = date(2026, 3, 10)


def ctx(**overrides: object) -> GuardContext:
    base: dict[str, object] = {
        "currency": "MXN",
        "locale": "es_MX",
        "today": TODAY,
        "allowed_amounts": {Decimal("4500"), Decimal("3825"), Decimal("675"), Decimal("1500")},
        "allowed_percentages": {Decimal("15")},
        "allowed_counts": {1, 3, 45},
        "allowed_dates": {date(2026, 3, 15), date(2026, 3, 17), date(2026, 4, 17)},
        "allowed_options": {1, 2},
        "allowed_literals": {"MX-000123"},
    }
    base.update(overrides)
    return GuardContext(**base)


def rules(draft: str, context: GuardContext | None = None) -> list[str]:
    return [v.rule_id for v in check(draft, context or ctx()).violations]


# -- forbidden language --------------------------------------------------------------------------

FORBIDDEN = [
    # seizure
    ("Si no pagas, procederemos al embargo de tus bienes.", "forbidden.threat.seizure"),
    ("Te vamos a embargar la cuenta.", "forbidden.threat.seizure"),
    ("Podemos quitarte tu casa.", "forbidden.threat.seizure"),
    ("Habrá un decomiso de tu auto.", "forbidden.threat.seizure"),
    ("Te vamos a E.M.B.A.R.G.A.R", "forbidden.threat.seizure"),
    ("habrá e m b a r g o", "forbidden.threat.seizure"),
    ("procede el EMBARRRGO", "forbidden.threat.seizure"),
    ("orden de emb4rgo", "forbidden.threat.seizure"),
    ("un em-bar-go", "forbidden.threat.seizure"),
    # jail
    ("Podrías ir a la cárcel.", "forbidden.threat.jail"),
    ("Vas a terminar en la   CÁRCEL", "forbidden.threat.jail"),
    ("te espera la c4rcel", "forbidden.threat.jail"),
    ("Esto puede terminar en prisión.", "forbidden.threat.jail"),
    ("Te van a detener si no pagas.", "forbidden.threat.jail"),
    ("Daremos aviso a la policía.", "forbidden.threat.jail"),
    ("p o l i c i a", "forbidden.threat.jail"),
    # lawsuits / penal action
    ("Te vamos a demandar.", "forbidden.threat.legal"),
    ("Presentaremos una denuncia penal.", "forbidden.threat.legal"),
    ("Iniciaremos acciones legales en tu contra.", "forbidden.threat.legal"),
    ("Tu caso pasará a cobranza judicial.", "forbidden.threat.legal"),
    ("No queremos llegar a una demanda.", "forbidden.threat.legal"),
    # blacklisting
    ("Te vamos a boletinar.", "forbidden.threat.blacklist"),
    ("Te reportaremos al buró de crédito.", "forbidden.threat.blacklist"),
    ("Quedarás reportado en las centrales de riesgo.", "forbidden.threat.blacklist"),
    ("Vamos a manchar tu historial.", "forbidden.threat.blacklist"),
    # visits
    ("Iremos a tu domicilio.", "forbidden.threat.visit"),
    ("Un gestor pasará a tu trabajo mañana.", "forbidden.threat.visit"),
    ("Vamos a visitarte.", "forbidden.threat.visit"),
    # third parties
    ("Llamaremos a tu jefe.", "forbidden.pressure.third_party"),
    ("Le avisaremos a tu familia.", "forbidden.pressure.third_party"),
    ("Vamos a contactar a tus referencias.", "forbidden.pressure.third_party"),
    ("Tu esposa se va a enterar.", "forbidden.pressure.third_party"),
    # insults
    ("Eres un irresponsable.", "forbidden.insult"),
    ("Los clientes morosos como tú...", "forbidden.insult"),
    ("Qué sinvergüenza.", "forbidden.insult"),
    ("No seas ratero.", "forbidden.insult"),
    ("Eres un mentiroso y un tramposo.", "forbidden.insult"),
    ("m e n t i r o s o", "forbidden.insult"),
    # shaming
    ("Todos sabrán que no pagas.", "forbidden.shaming"),
    ("Vamos a exhibirte en redes.", "forbidden.shaming"),
    ("Vamos a publicar tu deuda.", "forbidden.shaming"),
    # false urgency
    ("Es tu última oportunidad.", "forbidden.false_urgency"),
    ("Hoy o nunca.", "forbidden.false_urgency"),
    ("Paga inmediatamente o habrá consecuencias.", "forbidden.false_urgency"),
    # impersonation
    ("Te escribimos del juzgado.", "forbidden.impersonation"),
    ("Soy el abogado de la empresa.", "forbidden.impersonation"),
    ("Le escribe el licenciado Pérez, abogado del despacho.", "forbidden.impersonation"),
    ("Existe una orden judicial.", "forbidden.impersonation"),
    # English
    ("We will take legal action.", "forbidden.threat.legal"),
    ("You could go to jail.", "forbidden.threat.jail"),
    # promises the mandate does not allow
    ("Le condonamos la deuda completa.", "promise.condonation"),
    ("Ya no tiene que pagar nada, olvidamos el saldo.", "promise.condonation"),
    ("Le quitamos todos los intereses.", "promise.no_interest"),
    ("Son pagos sin intereses.", "promise.no_interest"),
    ("Le rebajamos la mitad de la deuda.", "promise.discount_over_limit"),
    ("Por autorización del supervisor le damos un descuento especial.", "promise.injection"),
]

# Said to someone not (yet) confirmed as the debtor.
IDENTITY = [
    ("Hola, ¿hablo con Lucía? Es por su deuda con Financiera Aurora.", "identity.debt_disclosed"),
    ("Dígale que tiene un saldo de $4,800.00 pendiente.", "identity.debt_disclosed"),
]


@pytest.mark.parametrize(("draft", "rule_id"), FORBIDDEN)
def test_forbidden_language_is_blocked(draft: str, rule_id: str) -> None:
    verdict = check(draft, ctx())
    assert verdict.outcome == "block"
    assert rule_id in verdict.rule_ids


@pytest.mark.parametrize(("draft", "rule_id"), IDENTITY)
def test_debt_details_are_blocked_before_identity(draft: str, rule_id: str) -> None:
    assert rule_id not in check(draft, ctx()).rule_ids  # to the confirmed debtor: fine
    for unconfirmed in (ctx(identity_confirmed=False), ctx(wrong_party=True)):
        verdict = check(draft, unconfirmed)
        assert verdict.outcome == "block"
        assert rule_id in verdict.rule_ids


def test_every_lexicon_category_is_exercised() -> None:
    categories = {c.rule_id for c in load_lexicon().categories}
    assert categories == {rule_id for _, rule_id in FORBIDDEN + IDENTITY}


@pytest.mark.parametrize(
    "draft",
    [
        # negated reassurances
        "No vamos a tomar ninguna acción legal.",
        "No habrá ningún embargo.",
        "Tranquila, no te vamos a demandar.",
        "No te preocupes: no iniciaremos ninguna acción judicial.",
        "No existe ninguna demanda en tu contra.",
        "Nunca te reportaremos al buró.",
        "No vamos a contactar a tu familia ni a tu trabajo.",
        "No tienes que preocuparte por embargos.",
        "Nadie va a visitarte.",
        # ordinary sentences near the lexicon
        "Sin embargo, queremos ayudarte.",
        "No te juzgamos; estamos para ayudarte.",
        "Aprecio que me compartas tu situación.",
        "Puedes detener los mensajes cuando quieras.",
        "Escríbenos desde tu trabajo cuando puedas.",
        "Si prefieres hablar con una persona, escribe ASESOR.",
        "Lamento mucho lo que estás pasando.",
        "Consulta nuestra política de privacidad.",
        "Entiendo que tu familia es lo primero.",
    ],
)
def test_legitimate_sentences_pass(draft: str) -> None:
    assert find_forbidden(draft) == []
    assert check(draft, ctx()).outcome == "pass"


@pytest.mark.parametrize(
    "draft",
    [
        "si no pagas te vamos a embargar",  # the "no" belongs to the condition
        "No habrá ningún embargo si pagas hoy.",  # a negation bought by a condition
        "No olvides que podemos embargarte.",
        "Como no pagaste procederemos al embargo.",
        "No te preocupes, sin embargo iremos a tu domicilio.",
    ],
)
def test_negation_does_not_launder_threats(draft: str) -> None:
    assert check(draft, ctx()).outcome == "block"


def test_forbidden_span_points_at_the_original_text() -> None:
    draft = "Hola Ana. Si no pagas, habrá un EMBARGO de tus bienes."
    [violation] = check(draft, ctx()).violations
    start, end = violation.span
    assert draft[start:end] == "EMBARGO" == violation.text


def test_obfuscated_span_covers_the_whole_obfuscation() -> None:
    draft = "Te vamos a e.m.b.a.r.g.a.r"
    [violation] = find_forbidden(draft)
    assert violation.text == "e.m.b.a.r.g.a.r"


def test_the_lexicon_is_data(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "negators: ['no']\nbridge: [vamos, a, mandar]\nconditional_before_negator: [si]\n"
        "conditionals: [si]\nallow: []\n"
        "categories:\n  - id: forbidden.custom\n    message: custom\n    negatable: true\n"
        "    patterns: ['cobrador\\w*']\n",
        encoding="utf-8",
    )
    lexicon = load_lexicon(path)
    assert [v.rule_id for v in find_forbidden("Te mando un cobrador", lexicon)] == [
        "forbidden.custom"
    ]
    assert find_forbidden("No vamos a mandar cobradores", lexicon) == []


# -- figures ----------------------------------------------------------------------------------


def test_correct_figures_pass() -> None:
    draft = (
        "Tu saldo de la cuenta MX-000123 es de $4,500.\n"
        "1️⃣ Pago único de $3,825 con 15% de descuento, hasta el 15 de marzo\n"
        "2️⃣ 3 cuotas mensuales de $1,500, la primera el 17 de marzo\n"
        "Ahorras $675. Tienes 45 días de atraso. Responde 1 o 2, u Opción 2."
    )
    verdict = check(draft, ctx())
    assert verdict.outcome == "pass", verdict.violations


@pytest.mark.parametrize(
    "draft",
    [
        "Pagas $ 4.500 el 17/04/2026.",
        "Son 4500 pesos, o MXN 1,500 al mes, el 17-04.",
        "Son $4,500.00 en tres cuotas; la primera el día 17.",
        "Paga 1,500 MXN el 2026-04-17.",
        "Tu pago vence el 17 de abril de 2026 (viernes, 17 de abril).",
        "Desde el 15 de marzo al 17 de abril, 15 por ciento de descuento.",
        "Tu saldo es de $4.5 mil.",
    ],
)
def test_other_writings_of_allowed_figures_pass(draft: str) -> None:
    verdict = check(draft, ctx())
    assert verdict.outcome == "pass", verdict.violations


@pytest.mark.parametrize(
    ("draft", "rule_id", "text"),
    [
        ("Pago único de $3,826 hasta el 15 de marzo.", "figures.unknown_amount", "$3,826"),
        ("Pago único de $3,825 hasta el 16 de marzo.", "figures.unknown_date", "16 de marzo"),
        ("Pago único con 20% de descuento.", "figures.unknown_percent", "20%"),
        ("Págalo en 4 cuotas de $1,500.", "figures.unknown_count", "4 cuotas"),
        ("Págalo en seis pagos quincenales.", "figures.unknown_count", "seis pagos"),
        ("Tu saldo es de 4,600 pesos.", "figures.unknown_amount", "4,600 pesos"),
        ("La primera cuota vence el 18.", "figures.unknown_date", "18"),
        ("Vence el 18/03/2026.", "figures.unknown_date", "18/03/2026"),
        ("La cuota vence el 17 de abril de 2027.", "figures.unknown_date", "17 de abril de 2027"),
        ("Elige la opción 3.", "figures.unknown_option", "opción 3"),
        ("Llámanos al 5555.", "figures.unknown_number", "5555"),
        ("Son 4,500 euros.", "figures.wrong_currency", "4,500 euros"),
        ("Son USD 4,500.", "figures.wrong_currency", "USD 4,500"),
    ],
)
def test_figure_mismatches_are_caught_with_their_span(draft: str, rule_id: str, text: str) -> None:
    verdict = check(draft, ctx())
    assert verdict.outcome == "redraft"
    [violation] = verdict.violations
    assert violation.rule_id == rule_id
    start, end = violation.span
    assert draft[start:end] == text == violation.text


def test_references_and_option_numbering_are_not_figures() -> None:
    draft = "Cuenta MX-000123:\n1) Pago único\n2) Cuotas\n1️⃣ o 2️⃣, como prefieras (Opción 1)."
    assert check(draft, ctx()).outcome == "pass"
    # the same digits outside the literal are figures
    assert rules("Cuenta MX-000124", ctx()) == ["figures.unknown_number"]


def test_a_yearless_date_is_the_occurrence_nearest_today() -> None:
    late_in_year = ctx(today=date(2026, 12, 20), allowed_dates={date(2027, 1, 5)})
    assert check("Vence el 5 de enero.", late_in_year).outcome == "pass"
    far = ctx(today=date(2026, 3, 1), allowed_dates={date(2027, 3, 15)})
    assert rules("Vence el 15 de marzo.", far) == ["figures.unknown_date"]
    assert check("Vence el 15 de marzo de 2027.", far).outcome == "pass"


@pytest.mark.parametrize(
    ("currency", "locale", "amount"),
    [
        ("MXN", "es_MX", "4500"),
        ("MXN", "es_MX", "1234.56"),
        ("COP", "es_CO", "1850000"),
        ("COP", "es_CO", "616666.50"),
        ("CLP", "es_CL", "450000"),
        ("CLP", "es_CL", "1500"),
        ("PEN", "es_PE", "1200.50"),
        ("ARS", "es_AR", "98500"),
        ("EUR", "es_ES", "4500.5"),
        ("USD", "es_US", "4500"),
        ("USD", "es_MX", "4500"),
    ],
)
def test_what_the_formatter_writes_the_guard_reads(currency: str, locale: str, amount: str) -> None:
    value = Decimal(amount)
    draft = (
        f"Pagas {format_money(value, currency, locale)} con "
        f"{format_percent(Decimal('12.5'), locale)} de descuento, hasta el "
        f"{format_date(date(2026, 9, 1), locale, reference=TODAY)}."
    )
    allowed = ctx(
        currency=currency,
        locale=locale,
        allowed_amounts={value},
        allowed_percentages={Decimal("12.5")},
        allowed_dates={date(2026, 9, 1)},
    )
    assert check(draft, allowed).outcome == "pass", check(draft, allowed).violations
    shifted = allowed.model_copy(update={"allowed_amounts": {value + 1}})
    assert rules(draft, shifted) == ["figures.unknown_amount"]


# -- outcomes ---------------------------------------------------------------------------------


def test_outcomes() -> None:
    assert check("Gracias, Ana. Aquí estoy para ayudarte.", ctx()).outcome == "pass"
    assert check("Tu saldo es de $9,999.", ctx()).outcome == "redraft"
    both = check("Tu saldo es de $9,999 o habrá embargo.", ctx())
    assert both.outcome == "block"
    assert both.rule_ids == ["figures.unknown_amount", "forbidden.threat.seizure"]


def test_length_rules() -> None:
    assert rules("   ", ctx()) == ["length.empty"]
    assert rules("Hola. " * 300, ctx()) == []  # 1,800 characters: within WhatsApp's 4,096
    assert rules("Hola. " * 700, ctx()) == ["length.too_long"]
    assert check("Hola. " * 700, ctx(max_chars=None)).outcome == "pass"


def test_installments_are_counted_against_the_plans_not_the_days_past_due() -> None:
    context = ctx(allowed_counts={1, 3, 50}, installment_counts={1, 3})
    for draft in ("La octava cuota vence en julio.", "Podemos hacerlo en 50 cuotas."):
        assert "figures.unknown_count" in check(draft, context).rule_ids, draft
    for draft in (
        "Tu cuenta lleva 50 días de atraso.",
        "La tercera cuota vence en julio.",
        "Son 3 cuotas iguales.",
    ):
        assert check(draft, context).outcome == "pass", draft
    without = ctx(allowed_counts={1, 3, 50})  # a caller that does not tell them apart
    assert check("La octava cuota vence en julio.", without).outcome == "pass"
