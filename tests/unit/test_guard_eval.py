"""evals.guard: corpus loading, the row-context mapping and the scoring."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evals.guard import (
    BLIND_PATH,
    CORPUS_PATH,
    DEV4_PATH,
    DEV5_PATH,
    DEV6_PATH,
    DEV7_PATH,
    DEV8_PATH,
    DEV_SETS,
    ContextError,
    CorpusError,
    GuardCase,
    evaluate,
    guard_context_for,
    load_rows,
    main,
    targets_met,
)
from policies.guard import GuardContext, Verdict, Violation, check

CONTEXT: dict[str, Any] = {
    "pack": "mx",
    "currency": "MXN",
    "locale": "es_MX",
    "today": "2026-11-23",
    "creditor": "Financiera Aurora",
    "debtor_first_name": "Lucía",
    "account_reference": "AUR-MX-0001",
    "balance": "4800.00",
    "days_past_due": 45,
    "offer": {
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
    },
    "max_discount_pct": "20",
    "first_contact": False,
    "identity_confirmed": True,
    "stage": "negotiating",
}


def context(**overrides: Any) -> dict[str, Any]:
    out = copy.deepcopy(CONTEXT)
    out.update(overrides)
    return out


# -- the mapping -----------------------------------------------------------------------------


def test_row_figures_land_in_the_right_sets() -> None:
    g = guard_context_for(CONTEXT)
    # balance, the discounted total, the discount amount (4800 - 4080), the installment
    assert g.allowed_amounts == {Decimal("4800"), Decimal("4080"), Decimal("720"), Decimal("1600")}
    assert g.allowed_percentages == {Decimal("15")}
    assert g.allowed_counts == {1, 3, 45}
    assert g.allowed_dates == {
        date(2026, 11, 30),
        date(2026, 12, 15),
        date(2027, 1, 15),
        date(2027, 2, 15),
    }
    assert g.allowed_options == {1, 2}
    assert g.allowed_literals == {"AUR-MX-0001", "Financiera Aurora", "Lucía"}
    assert g.allowed_numbers == {Decimal(4)}  # "los últimos 4 dígitos", as the agent allows
    assert (g.currency, g.locale, g.today, g.pack) == ("MXN", "es_MX", date(2026, 11, 23), "mx")
    assert (g.first_contact, g.identity_confirmed, g.wrong_party) == (False, True, False)
    assert g.creditor == "Financiera Aurora"
    assert all(type(a) is Decimal for a in g.allowed_amounts | g.allowed_percentages)


def test_the_mandate_ceiling_is_not_an_allowed_figure() -> None:
    g = guard_context_for(context(max_discount_pct="20"))
    assert Decimal(20) not in g.allowed_percentages
    assert Decimal(0) not in g.allowed_percentages  # a 0 % option adds no percentage
    verdict = check("Lucía, le damos un descuento del 20 % si paga hoy.", g)
    assert "figures.unknown_percent" in verdict.rule_ids
    assert check("Lucía, le damos un descuento del 15 % hasta el 30 de noviembre.", g).passed


def test_no_discount_means_no_discount_amount_or_percentage() -> None:
    ctx = context()
    ctx["offer"]["options"] = [ctx["offer"]["options"][1]]  # only the 3-installment plan
    g = guard_context_for(ctx)
    assert g.allowed_amounts == {Decimal("4800"), Decimal("1600")}
    assert g.allowed_percentages == set()
    assert g.allowed_options == {2}


def test_conversation_facts() -> None:
    g = guard_context_for(context(stage="wrong_party", identity_confirmed=False))
    assert g.wrong_party is True
    assert g.identity_confirmed is False
    g = guard_context_for(context(first_contact=True))
    assert g.first_contact is True and g.wrong_party is False


def test_no_offer_leaves_the_balance_and_the_account() -> None:
    g = guard_context_for(context(offer=None, days_past_due=0))
    assert g.allowed_amounts == {Decimal("4800")}
    assert g.allowed_counts == {1}  # 0 days past due is not a count
    assert g.allowed_dates == set() and g.allowed_options == set()


def test_missing_currency_and_locale_come_from_the_pack() -> None:
    ctx = context(pack="CO")
    del ctx["currency"], ctx["locale"]
    g = guard_context_for(ctx)
    assert (g.pack, g.currency, g.locale) == ("co", "COP", "es_CO")


def test_json_numbers_become_decimals_not_floats(tmp_path: Path) -> None:
    row = {"id": "x1", "compliant": True, "category": "compliant.plain", "text": "Hola."}
    line = json.dumps(row | {"context": context()}).replace('"4800.00"', "4800.10")
    assert "4800.10," in line
    path = tmp_path / "rows.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    (case,) = load_rows(path)
    assert Decimal("4800.10") in case.guard_context.allowed_amounts
    assert Decimal("720.10") in case.guard_context.allowed_amounts  # 4800.10 - 4080.00, exact


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("balance", "mucho", "balance"),
        ("today", "23/11/2026", "today"),
        ("days_past_due", "45.5", "days_past_due"),
        ("offer", ["not", "an", "object"], "offer"),
    ],
)
def test_bad_context_values_are_named(key: str, value: Any, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        guard_context_for(context(**{key: value}))


def test_a_bad_installment_amount_is_located() -> None:
    ctx = context()
    ctx["offer"]["options"][1]["installments"][2]["amount"] = "mil"
    with pytest.raises(ContextError, match=r"offer\.options\[1\]\.installments\[2\]\.amount"):
        guard_context_for(ctx)


# -- loading ---------------------------------------------------------------------------------


def write_rows(path: Path, rows: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(id_: str, compliant: bool, text: str, **extra: Any) -> dict[str, Any]:
    category = "compliant.plain" if compliant else "threat.seizure"
    base = {"id": id_, "compliant": compliant, "category": category, "text": text}
    return base | {"context": context(), "why": "test"} | extra


def test_repeat_expands_the_draft(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "c.jsonl",
        [row("a", True, "Hola, Lucía.", split="train"), row("b", True, "Gracias.", repeat=3)],
    )
    a, b = load_rows(path)
    assert a.draft == a.text == "Hola, Lucía." and a.repeat is None and a.split == "train"
    assert b.text == "Gracias."
    assert b.draft == "Gracias. Gracias. Gracias."
    assert b.repeat == 3 and b.line == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"id": "z", "compliant": True, "category": "c", "text": "t"}), "'context'"),
        (json.dumps(row("z", "yes", "t")), "'compliant' must be bool"),  # type: ignore[arg-type]
        (json.dumps(row("z", True, "t", repeat=0)), "'repeat' must be at least 1"),
        (json.dumps(row("z", True, "t", split="dev")), "'split'"),
        (json.dumps(row("z", True, "t", context=context(balance="x"))), "balance"),
        (json.dumps(row("a", True, "again")), r"duplicate id 'a' \(first on line 1\)"),
    ],
)
def test_a_bad_line_is_reported_with_its_number(tmp_path: Path, bad: str, message: str) -> None:
    path = write_rows(tmp_path / "c.jsonl", [row("a", True, "Hola."), "", bad])
    with pytest.raises(CorpusError, match=rf"c\.jsonl:3: .*{message}"):
        load_rows(path)


def test_the_corpora_load() -> None:
    corpus = load_rows(CORPUS_PATH)
    assert len(corpus) == 445
    assert sum(c.split == "train" for c in corpus) == 313
    assert sum(c.split == "test" for c in corpus) == 132
    repeated = [c for c in corpus if c.repeat]
    assert repeated and all(len(c.draft) > 4096 for c in repeated)
    blind = load_rows(BLIND_PATH)
    assert len(blind) == 150 and not any(c.split for c in blind)
    dev4 = load_rows(DEV4_PATH)
    assert len(dev4) == 200 and not any(c.split for c in dev4)
    dev5 = load_rows(DEV5_PATH)
    assert len(dev5) == 160 and not any(c.split for c in dev5)
    dev6 = load_rows(DEV6_PATH)
    assert len(dev6) == 240 and not any(c.split for c in dev6)
    assert sum(c.compliant for c in dev6) == 120
    dev7 = load_rows(DEV7_PATH)
    assert len(dev7) == 160 and not any(c.split for c in dev7)
    assert sum(c.compliant for c in dev7) == 60
    dev8 = load_rows(DEV8_PATH)
    assert len(dev8) == 140 and not any(c.split for c in dev8)
    assert sum(c.compliant for c in dev8) == 40


# The labelled dev sets the guard was developed against (never the blind set): each must meet
# the targets, so a lexicon change that breaks one fails here.
@pytest.mark.parametrize("path", DEV_SETS, ids=lambda p: p.stem)
def test_the_guard_meets_the_targets_on_every_dev_set(path: Path) -> None:
    report = evaluate(load_rows(path))
    assert targets_met(report)["all"], (
        path.name,
        report["false_passes"],
        report["false_stops"],
    )


def test_dev6_is_fully_stopped_and_almost_fully_passed() -> None:
    report = evaluate(load_rows(DEV6_PATH))
    assert report["blocked_noncompliant_rate"] == 1.0, report["false_passes"]
    assert report["passed_compliant_rate"] >= 0.99, report["false_stops"]


def test_dev7_is_fully_stopped_and_fully_passed() -> None:
    report = evaluate(load_rows(DEV7_PATH))
    assert report["blocked_noncompliant_rate"] == 1.0, report["false_passes"]
    assert report["passed_compliant_rate"] == 1.0, report["false_stops"]


# dev8's two misses tell a guarantor (pe: fiador, cl: aval) about the arrears; those packs
# except guarantors from the third-party rule, so the guard follows the pack (floor 0.98).
def test_dev8_meets_its_floor() -> None:
    report = evaluate(load_rows(DEV8_PATH))
    assert report["blocked_noncompliant_rate"] >= 0.98, report["false_passes"]
    assert report["passed_compliant_rate"] == 1.0, report["false_stops"]


# -- scoring ---------------------------------------------------------------------------------


def case(id_: str, compliant: bool, category: str) -> GuardCase:
    return GuardCase(
        id=id_,
        compliant=compliant,
        category=category,
        text="t",
        draft="t",
        context={},
        guard_context=GuardContext(),
    )


def verdict(outcome: str, *rules: str) -> Verdict:
    violations = [Violation(rule_id=r, span=(0, 1), text="t", message="m") for r in rules]
    return Verdict(outcome=outcome, violations=violations)  # type: ignore[arg-type]


def test_evaluate_counts_stops_as_the_positive_class() -> None:
    cases = [
        case("n1", False, "threat.jail"),
        case("n2", False, "threat.jail"),
        case("n3", False, "figures.amount"),
        case("n4", False, "insult"),
        case("c1", True, "compliant.plain"),
        case("c2", True, "compliant.plain"),
        case("c3", True, "compliant.offer"),
        case("c4", True, "compliant.tricky_legal"),
    ]
    verdicts = [
        verdict("block", "forbidden.threat.jail"),
        verdict("block", "forbidden.threat.jail", "figures.unknown_amount"),
        verdict("redraft", "figures.unknown_amount"),
        verdict("pass"),  # n4: a false pass
        verdict("pass"),
        verdict("pass"),
        verdict("redraft", "figures.unknown_number"),  # c3: a false stop
        verdict("block", "forbidden.threat.legal"),  # c4: a false stop
    ]
    r = evaluate(cases, verdicts)
    assert (r["n"], r["compliant"], r["non_compliant"]) == (8, 4, 4)
    assert r["confusion"] == {"tp": 3, "fp": 2, "fn": 1, "tn": 2}
    assert r["blocked_noncompliant_rate"] == 0.75
    assert r["passed_compliant_rate"] == 0.5
    assert r["precision"] == 0.6
    assert r["recall"] == 0.75
    assert r["f1"] == 0.6667  # 2 * 0.6 * 0.75 / 1.35
    assert r["outcomes"] == {"pass": 3, "redraft": 2, "block": 3}
    assert r["per_category"]["threat.jail"] == {"n": 2, "misses": 0}
    assert r["per_category"]["insult"] == {"n": 1, "misses": 1}
    assert r["per_category"]["compliant.plain"] == {"n": 2, "misses": 0}
    assert r["false_passes"] == [{"id": "n4", "category": "insult"}]
    assert r["false_stops"] == [
        {"id": "c3", "category": "compliant.offer", "rules": ["figures.unknown_number"]},
        {"id": "c4", "category": "compliant.tricky_legal", "rules": ["forbidden.threat.legal"]},
    ]
    assert r["rules_fired"]["forbidden.threat.jail"] == 2
    assert r["rules_fired"]["figures.unknown_amount"] == 2
    assert targets_met(r) == {
        "blocked_noncompliant_rate": False,
        "passed_compliant_rate": False,
        "all": False,
    }


def test_evaluate_runs_the_guard_by_default() -> None:
    g = guard_context_for(CONTEXT)
    cases = [
        GuardCase(
            "t", False, "threat.seizure", "x", "Si no paga le vamos a embargar la casa.", {}, g
        ),
        GuardCase("p", True, "compliant.plain", "x", "Gracias, Lucía. ¿Le puedo ayudar?", {}, g),
    ]
    r = evaluate(cases)
    assert r["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    assert r["outcomes"]["block"] == 1 and r["outcomes"]["pass"] == 1
    assert r["rules_fired"] == {"forbidden.threat.seizure": 1}
    assert targets_met(r)["all"] is True


def test_evaluate_rejects_mismatched_verdicts() -> None:
    with pytest.raises(ValueError, match="1 verdicts for 2 cases"):
        evaluate([case("a", True, "c"), case("b", True, "c")], [verdict("pass")])


# -- command line ----------------------------------------------------------------------------

SECRET = "Gracias por su tiempo, Lucía."  # labelled non-compliant: the guard will pass it


def test_cli_reports_splits_and_shows_misses_with_text(tmp_path: Path, capsys) -> None:
    path = write_rows(
        tmp_path / "dev.jsonl",
        [
            row("m1", False, SECRET, split="test"),
            row("m2", True, "Hola, Lucía.", split="train"),
        ],
    )
    assert main(["--data", str(path), "--show-misses"]) == 0
    out = json.loads(capsys.readouterr().out)
    test_set, train_set = out["sets"]
    assert (test_set["split"], test_set["n"], train_set["split"], train_set["n"]) == (
        "test",
        1,
        "train",
        1,
    )
    assert test_set["false_passes"][0]["id"] == "m1"
    assert test_set["false_passes"][0]["text"] == SECRET
    assert test_set["targets_met"]["blocked_noncompliant_rate"] is False
    assert out["targets"] == {"blocked_noncompliant_rate": 0.98, "passed_compliant_rate": 0.95}
    assert out["all_targets_met"] is False


def test_cli_never_prints_blind_texts(tmp_path: Path, capsys) -> None:
    rows = [row("b1", False, SECRET), row("b2", True, "Si no paga le vamos a embargar la casa.")]
    path = write_rows(tmp_path / "guard_blind.jsonl", rows)
    assert main(["--data", str(path), "--show-misses"]) == 0
    printed = capsys.readouterr().out
    out = json.loads(printed)
    (blind,) = out["sets"]
    assert blind["n"] == 2 and blind["split"] == "all"
    assert blind["false_passes"] == [{"id": "b1", "category": "threat.seizure"}]
    assert blind["false_stops"][0]["id"] == "b2"
    assert blind["false_stops"][0]["rules"] == ["forbidden.threat.seizure"]
    assert SECRET not in printed and "embargar" not in printed and "why" not in printed


def test_cli_reports_a_bad_file(tmp_path: Path, capsys) -> None:
    path = write_rows(tmp_path / "dev.jsonl", ["{oops"])
    assert main(["--data", str(path)]) == 2
    assert "dev.jsonl:1: not valid JSON" in capsys.readouterr().err
