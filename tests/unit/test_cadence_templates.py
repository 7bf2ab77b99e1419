"""Cadence YAML and WhatsApp template declarations: schema, Meta's rules, and the guard."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from agent.cadence.messages import DueFacts, StepGuardError, render_step
from agent.cadence.scheduler import check_installment_steps, check_templates
from agent.cadence.templates import TemplateError, WhatsAppTemplate, load_templates, parse_templates
from agent.payment_notices import NOTICES_PATH
from policies.cadence import CadenceError, load_cadence, parse_cadence
from policies.formatting import locale_for
from policies.mandate import load_mandate
from policies.packs import available_packs, load_pack

CADENCE = load_cadence()
TEMPLATES = load_templates()
CURRENCY = {"MX": "MXN", "CO": "COP", "PE": "PEN", "CL": "CLP", "AR": "ARS", "ES": "EUR"}
TODAY = date(2026, 3, 10)
DUE_TEMPLATES = sorted({n for s in CADENCE.due_steps for n in s.templates.values()})


def _facts(pack: str, due: date, balance: Decimal = Decimal("4800.50")) -> DueFacts:
    country = load_pack(pack).country
    return DueFacts(
        first_name="Lucía",
        creditor="Financiera Aurora",
        reference="AUR-MX-0001",
        currency=CURRENCY.get(country, "USD"),
        locale=locale_for(country),
        pack=pack,
        balance=balance,
        due_date=due,
        today=TODAY,
    )


@pytest.mark.parametrize("pack", available_packs())
@pytest.mark.parametrize("name", DUE_TEMPLATES)
def test_every_cadence_template_passes_the_guard_as_first_contact(name: str, pack: str) -> None:
    # Any due-date step can be an account's first contact (an account imported late starts at
    # its current step), so each template must carry every pack's first-contact disclosures.
    for due in (date(2026, 3, 17), TODAY, date(2026, 2, 8), date(2025, 12, 30)):
        rendered = render_step(TEMPLATES[name], _facts(pack, due))
        assert "Financiera Aurora" in rendered.text
        assert "BAJA" in rendered.text  # the footer's opt-out (US: every message)


def test_a_template_without_the_amount_fails_the_guard_as_first_contact() -> None:
    bare = WhatsAppTemplate(
        name="pacta_sin_monto",
        category="utility",
        languages=("es",),
        parameters=({"name": "first_name", "example": "Lucía"},),  # type: ignore[arg-type]
        body="Hola, {{1}}. Te escribimos de Financiera Aurora. Puedes pagar como siempre.",
    )
    with pytest.raises(StepGuardError) as info:
        render_step(bare, _facts("co", TODAY))
    assert "disclosure.amount" in info.value.verdict.rule_ids


def test_the_us_pack_requires_the_opt_out_footer() -> None:
    template = TEMPLATES["pacta_saldo_vencido"]
    without_footer = template.model_copy(update={"footer": None})
    render_step(template, _facts("us", TODAY))
    with pytest.raises(StepGuardError, match="opt_out_instruction"):
        render_step(without_footer, _facts("us", TODAY))


def test_the_cadence_agrees_with_its_templates_and_the_mandate() -> None:
    assert check_templates(CADENCE, dict(TEMPLATES)) == []
    assert check_installment_steps(CADENCE, load_mandate()) == []
    assert [s.offset_days for s in CADENCE.due_steps] == [-7, 0, 7, 14, 30]
    assert all(s.category == "utility" for s in CADENCE.steps)
    mandate = load_mandate().model_copy(update={"reminder_days_before": 3})
    assert check_installment_steps(CADENCE, mandate)  # -1d no longer matches


def test_the_payment_templates_read_as_the_notices_send_them() -> None:
    notices = yaml.safe_load(NOTICES_PATH.read_text(encoding="utf-8"))["notices"]
    for spec in notices.values():
        body = re.sub(
            r"\{\{ p\[(\d+)\] \}\}", lambda m: f"{{{{{int(m[1]) + 1}}}}}", spec["template"]["body"]
        )
        declared = TEMPLATES[spec["template"]["name"]]
        assert declared.body == " ".join(body.split())
        assert len(declared.parameters) == len(spec["template"]["parameters"])


def _declare(tmp_path: Path, **fields: object) -> Path:
    base: dict[str, object] = {
        "name": "pacta_prueba",
        "category": "utility",
        "languages": ["es"],
        "parameters": [{"name": "first_name", "example": "Ana"}],
        "body": "Hola, {{1}}. Gracias.",
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"templates": [base | fields]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "Hola, gracias {{1}}"}, "starts or ends with a parameter"),
        ({"body": "Hola {{2}}, gracias."}, "do not match"),
        ({"footer": "x" * 61}, "at most 60"),
        ({"buttons": ["Un botón con una etiqueta larga"]}, "1 to 25 characters"),
        ({"name": "Pacta-Prueba"}, "should match pattern"),
        ({"category": "promo"}, "category"),
    ],
)
def test_template_declarations_follow_metas_rules(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_templates(_declare(tmp_path, **fields))


def test_a_broken_cadence_says_which_field(tmp_path: Path) -> None:
    data = yaml.safe_load(Path("policies/cadences/default.yaml").read_text(encoding="utf-8"))
    data["steps"][0]["offset_days"] = "soon"
    with pytest.raises(CadenceError, match=r"steps\.0\.offset_days"):
        parse_cadence(data, "x.yaml")
    data["steps"][0]["offset_days"] = 0  # the same offset as due_day
    with pytest.raises(CadenceError, match="share an offset"):
        parse_cadence(data, "x.yaml")
    with pytest.raises(CadenceError, match="no cadence 'nope'"):
        load_cadence("nope")
