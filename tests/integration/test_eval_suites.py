"""The shipped eval suites run offline through the real agent and meet their thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from evals.report import compare, render_html
from evals.runner import RunOptions, SuiteRunner
from evals.scenarios import load_suite

pytestmark = pytest.mark.integration
SUITES = Path(__file__).resolve().parents[2] / "evals" / "suites"


@pytest.mark.parametrize("name", ["core", "adversarial", "compliance"])
def test_suite_meets_its_threshold_offline(name: str) -> None:
    suite = load_suite(SUITES / f"{name}.yaml")
    report = SuiteRunner(suite, RunOptions(k=1)).run()
    assert report["pass_rate"] >= suite.threshold, [
        (s["id"], s["failures"]) for s in report["scenarios"] if not s["passed"]
    ]
    assert report["passed"] is True
    assert report["pass_hat_k"]["1"] == report["pass_rate"]
    assert all(s["transcript"] for s in report["scenarios"])
    assert "<svg" in render_html(report)


SMALL = """\
suite: small
threshold: {threshold}
defaults:
  now: "2026-03-10T11:00:00-06:00"
scenarios:
  - id: pays
    tags: [ok]
    account: {{identity_verified: true}}
    turns:
      - say: "puedo 900 al mes"
        expect: {{action: confirm_plan}}
      - say: "sí"
    expect: {{agreement: {{status: active, installment_max: 900}}, violations: 0}}
  - id: impossible
    tags: [fails]
    account: {{identity_verified: true}}
    turns:
      - say: "hola"
    expect: {{stage: settled}}
  - id: persona
    tags: [ok]
    persona: {{max_installment: 1200}}
    expect: {{agreement: {{installment_max: 1200}}}}
"""


def _write(tmp_path: Path, threshold: float) -> Path:
    path = tmp_path / f"small-{threshold}.yaml"
    path.write_text(SMALL.format(threshold=threshold), "utf-8")
    return path


def test_cli_run_exit_codes_and_reports(tmp_path: Path) -> None:
    cli = CliRunner()
    out = tmp_path / "a"
    result = cli.invoke(
        app, ["eval", "run", str(_write(tmp_path, 0.6)), "--k", "2", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["pass_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["pass_hat_k"]["2"] == pytest.approx(2 / 3, abs=1e-3)
    failing = next(s for s in report["scenarios"] if s["id"] == "impossible")
    assert "stage: expected settled" in failing["failures"][0]
    html = (out / "report.html").read_text("utf-8")
    assert "impossible" in html and "<svg" in html and "<script" not in html

    strict = cli.invoke(app, ["eval", "run", str(_write(tmp_path, 0.9)), "--tags", "fails"])
    assert strict.exit_code == 1, strict.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.format(threshold=0.5).replace("turns:", "tunrs:", 1), "utf-8")
    malformed = cli.invoke(app, ["eval", "run", str(bad)])
    assert malformed.exit_code == 2
    assert "bad.yaml:" in malformed.output.replace("\n", "")


def test_cli_compare(tmp_path: Path) -> None:
    cli = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    cli.invoke(app, ["eval", "run", str(_write(tmp_path, 0.1)), "--tags", "ok", "--report", str(a)])
    cli.invoke(app, ["eval", "run", str(_write(tmp_path, 0.1)), "--report", str(b)])
    ra = json.loads((a / "report.json").read_text("utf-8"))
    rb = json.loads((b / "report.json").read_text("utf-8"))
    rb["scenarios"][0]["passed"] = False
    (b / "report.json").write_text(json.dumps(rb), "utf-8")
    c = compare(ra, rb)
    assert c.worse == ["pays"] and c.only_b == ["impossible"]
    result = cli.invoke(app, ["eval", "compare", str(a / "report.json"), str(b / "report.json")])
    assert result.exit_code == 0, result.output
    assert "worse" in result.output and "pays" in result.output
