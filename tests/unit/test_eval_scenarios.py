"""The eval suite loader: valid suites load, malformed ones fail with file, line and reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from evals.scenarios import SuiteError, load_suite, parse_suite

SUITE = """\
suite: t
threshold: 0.9
defaults:
  mandate: default
  now: "2026-03-10T11:00:00-06:00"
scenarios:
  - id: one
    tags: [a]
    account:
      principal: 4500.50
      identity_verified: true
    turns:
      - say: "hola"
        expect:
          intent: other
          action: inform
      - button: 2
    expect:
      agreement:
        status: active
        installment_max: 1000
      stage: agreement_active
"""


def test_a_valid_suite_loads_with_defaults_merged() -> None:
    suite = parse_suite(SUITE, "t.yaml")
    s = suite.scenarios[0]
    assert s.mandate == "default"
    assert s.now is not None and s.now.utcoffset() is not None
    assert s.account.principal == Decimal("4500.5")
    assert s.turns is not None and s.turns[1].button == "2"
    assert s.expect.stage == ["agreement_active"]
    row = s.account.row(s.id)
    assert row.document_last4 == "4821" and row.currency == "MXN"


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("installment_max: 1000", "installment_maxx: 1000", 21, "unknown key"),
        ("intent: other", "intent: chatting", 15, "intent"),
        ("principal: 4500.50", "principal: -3", 10, "principal"),
        ("      - button: 2", "      - button: 2\n        say: hola", 17, "exactly one"),
        ("  mandate: default", "  mandate: nope", 4, "mandate 'nope'"),
        ("stage: agreement_active", "stage: agreement_active\n      stage: new", 23, "twice"),
        ("action: inform", "action: [inform", 17, "not valid YAML"),
    ],
)
def test_malformed_suites_report_file_line_and_reason(
    old: str, new: str, line: int, reason: str
) -> None:
    with pytest.raises(SuiteError) as e:
        parse_suite(SUITE.replace(old, new), "bad.yaml")
    assert e.value.path == "bad.yaml"
    assert e.value.line == line, str(e.value)
    assert reason in str(e.value)


def test_a_bad_regex_is_reported_where_it_is() -> None:
    text = SUITE.replace("action: inform", 'action: inform\n          reply_matches: "(oops"')
    with pytest.raises(SuiteError, match=r"bad.yaml:17: .*regular expression"):
        parse_suite(text, "bad.yaml")


def test_repeated_ids_and_missing_now_are_errors() -> None:
    doubled = SUITE + SUITE.split("scenarios:\n", 1)[1]
    with pytest.raises(SuiteError, match="repeats"):
        parse_suite(doubled, "x.yaml")
    with pytest.raises(SuiteError, match="no `now`"):
        parse_suite(SUITE.replace('  now: "2026-03-10T11:00:00-06:00"\n', ""), "x.yaml")


def test_turns_or_persona_exactly_one() -> None:
    text = SUITE.replace(
        "    expect:\n      agreement", "    persona: {hostile: true}\n    expect:\n      agreement"
    )
    with pytest.raises(SuiteError, match="exactly one of `turns` or `persona`"):
        parse_suite(text, "x.yaml")


def test_tags_select_scenarios() -> None:
    suite = parse_suite(SUITE, "t.yaml")
    assert [s.id for s in suite.selected(["a"])] == ["one"]
    assert suite.selected(["zzz"]) == []
    assert len(suite.selected(None)) == 1


@pytest.mark.parametrize("name", ["core", "adversarial", "compliance"])
def test_shipped_suites_load(name: str) -> None:
    suite = load_suite(Path("evals/suites") / f"{name}.yaml")
    minimum = {"core": 40, "adversarial": 25, "compliance": 20}[name]
    assert suite.suite == name
    assert len(suite.scenarios) >= minimum
