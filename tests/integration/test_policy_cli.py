"""`pacta policy show` and `pacta policy check`, through the Typer app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import policies.guard
from api.cli import app
from policies.guard import GuardContext, Verdict

pytestmark = pytest.mark.integration

runner = CliRunner()

OFFER: dict[str, Any] = {
    "valid_until": "2026-11-30",
    "options": [
        {
            "number": 1,
            "kind": "pay_in_full",
            "total": "4080.00",
            "discount_pct": "15",
            "count": 1,
            "installments": [{"amount": "4080.00", "due": "2026-11-30"}],
        },
        {
            "number": 2,
            "kind": "monthly",
            "total": "4800.00",
            "discount_pct": "0",
            "count": 3,
            "installments": [
                {"amount": "1600.00", "due": "2026-12-15"},
                {"amount": "1600.00", "due": "2027-01-15"},
                {"amount": "1600.00", "due": "2027-02-15"},
            ],
        },
    ],
}
ROW_CONTEXT: dict[str, Any] = {
    "pack": "mx",
    "currency": "MXN",
    "locale": "es_MX",
    "today": "2026-11-23",
    "creditor": "Financiera Aurora",
    "debtor_first_name": "Lucía",
    "account_reference": "AUR-MX-0001",
    "balance": "4800.00",
    "days_past_due": 45,
    "offer": OFFER,
    "max_discount_pct": "15",
    "first_contact": False,
    "identity_confirmed": True,
    "stage": "negotiating",
}
COMPLIANT = (
    "Lucía, con la opción 1 paga $4,080.00 en un solo pago hasta el 30 de noviembre, "
    "un descuento del 15 %. Con la opción 2 son 3 pagos de $1,600.00."
)
THREAT = "Si no paga le vamos a embargar la casa."


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def said(text: str) -> str:
    """Rich wraps stderr at the terminal width: compare words, not line breaks."""
    return " ".join(text.split())


def check(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["policy", "check", *args], input=stdin)


def test_a_compliant_draft_passes(tmp_path: Path) -> None:
    offer = write_json(tmp_path / "context.json", ROW_CONTEXT)
    done = check("--pack", "mx", "--offer", str(offer), COMPLIANT)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"verdict": "pass", "violations": []}


def test_an_offer_object_alone_is_enough(tmp_path: Path) -> None:
    offer = write_json(tmp_path / "offer.json", OFFER)
    done = check("--pack", "mx", "--offer", str(offer), "Puede pagar $1,600.00 al mes.")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["verdict"] == "pass"

    wrong = "Puede pagar $1,500.00 al mes."
    done = check("--pack", "mx", "--offer", str(offer), wrong)
    assert done.exit_code == 3
    out = json.loads(done.stdout)
    assert out["verdict"] == "redraft"
    (violation,) = out["violations"]
    assert violation["rule"] == "figures.unknown_amount"
    start, end = violation["span"]
    assert wrong[start:end] == violation["text"] == "$1,500.00"


def test_a_threat_is_blocked_with_forbidden_rules(tmp_path: Path) -> None:
    done = check("--pack", "mx", THREAT)
    assert done.exit_code == 3
    out = json.loads(done.stdout)
    assert out["verdict"] == "block"
    rules = [v["rule"] for v in out["violations"]]
    assert rules and all(r.startswith("forbidden.") for r in rules)
    assert "forbidden.threat.seizure" in rules
    assert set(out) == {"verdict", "violations"}
    assert all(set(v) == {"rule", "span", "text"} for v in out["violations"])


def test_the_draft_can_come_from_stdin() -> None:
    done = check("--pack", "mx", "-", stdin=THREAT + "\n")
    assert done.exit_code == 3
    assert json.loads(done.stdout)["verdict"] == "block"
    done = check("--pack", "mx", stdin="Gracias por su mensaje.\n")  # TEXT defaults to -
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["verdict"] == "pass"


def test_invalid_offer_json_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "offer.json"
    bad.write_text('{"valid_until": "2026-11-30", "options": [', encoding="utf-8")
    done = check("--pack", "mx", "--offer", str(bad), COMPLIANT)
    assert done.exit_code == 2
    assert done.stdout == ""
    assert "is not valid JSON" in said(done.stderr)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read offer file"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps(ROW_CONTEXT | {"balance": "mucho"}), "balance"),
        (json.dumps(ROW_CONTEXT | {"today": "mañana"}), "today"),
    ],
)
def test_unusable_offer_files_are_bad_input(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "offer.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = check("--pack", "mx", "--offer", str(path), COMPLIANT)
    assert done.exit_code == 2
    assert message in said(done.stderr)


def test_an_unknown_pack_is_bad_input() -> None:
    done = check("--pack", "xx", "Hola.")
    assert done.exit_code == 2
    assert "No policy pack 'xx'" in said(done.stderr)


def test_flags_and_pack_defaults_reach_the_guard(tmp_path: Path, monkeypatch) -> None:
    seen: list[tuple[str, GuardContext]] = []

    def fake_check(draft: str, context: GuardContext) -> Verdict:
        seen.append((draft, context))
        return Verdict(outcome="pass")

    monkeypatch.setattr(policies.guard, "check", fake_check)
    offer = write_json(tmp_path / "offer.json", OFFER)
    args = ["--pack", "CO", "--offer", str(offer), "--first-contact"]
    done = check(*args, "--identity-unconfirmed", "--wrong-party", "hola")
    assert done.exit_code == 0, done.output
    (draft, ctx), *_ = seen
    assert draft == "hola"
    assert (ctx.pack, ctx.currency, ctx.locale) == ("co", "COP", "es_CO")
    assert ctx.today == datetime.now(UTC).date()
    assert (ctx.first_contact, ctx.identity_confirmed, ctx.wrong_party) == (True, False, True)
    assert Decimal("1600.00") in ctx.allowed_amounts and ctx.allowed_options == {1, 2}

    seen.clear()
    context = write_json(tmp_path / "context.json", ROW_CONTEXT)
    done = check("--pack", "mx", "--offer", str(context), "hola")
    assert done.exit_code == 0, done.output
    (_, ctx), *_ = seen
    assert ctx.today == datetime(2026, 11, 23).date()  # the file's today wins
    assert (ctx.first_contact, ctx.identity_confirmed, ctx.wrong_party) == (False, True, False)
    assert ctx.allowed_literals == {"AUR-MX-0001", "Financiera Aurora", "Lucía"}


def test_show_prints_the_pack_with_its_sources() -> None:
    from policies.packs import describe, load_pack

    done = runner.invoke(app, ["policy", "show", "mx"])
    assert done.exit_code == 0, done.output
    pack = load_pack("mx")
    assert done.stdout.startswith(f"Policy pack {pack.version} (mx)")
    rows = describe(pack)
    assert rows
    for rule in rows:
        assert f"{rule.rule_id}: " in done.stdout
        assert rule.source in done.stdout
        assert f"[{rule.verified}]" in done.stdout  # printed as is, not eaten as Rich markup


def test_show_an_unknown_pack_exits_2() -> None:
    done = runner.invoke(app, ["policy", "show", "zz"])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert "no policy pack 'zz'" in said(done.stderr)
