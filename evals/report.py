"""Reports: report.json, a self-contained report.html, and the comparison of two runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from evals.runner import write_json

TEMPLATES = Path(__file__).parent / "templates"
HISTOGRAM_METRICS = ("recovery", "concession", "turns_to_agreement", "empathy", "clarity")
BINS = 5


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1 of the chart's scale
    text: str


def write_reports(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """report.json and report.html in `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / "report.json", directory / "report.html"
    write_json(report, json_path)
    html_path.write_text(render_html(report), "utf-8")
    return json_path, html_path


def render_html(report: dict[str, Any]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    template = env.get_template("report.html.j2")
    return template.render(
        r=report,
        tag_bars=tag_bars(report),
        histograms={m: histogram(report, m) for m in HISTOGRAM_METRICS},
        failing=[s for s in report["scenarios"] if not s["passed"]],
    )


def tag_bars(report: dict[str, Any]) -> list[Bar]:
    return [
        Bar(tag, v["pass_rate"], f"{v['pass_rate']:.0%} ({v['scenarios']})")
        for tag, v in report.get("by_tag", {}).items()
    ]


def histogram(report: dict[str, Any], metric: str) -> list[Bar]:
    """The metric's values over every trial in BINS equal bins (bar height: share of trials)."""
    values = (report.get("metrics", {}).get(metric) or {}).get("values") or []
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi == lo:
        return [Bar(_fmt(lo), 1.0, str(len(values)))]
    width = (hi - lo) / BINS
    counts = [0] * BINS
    for v in values:
        counts[min(BINS - 1, int((v - lo) / width))] += 1
    top = max(counts)
    return [
        Bar(f"{_fmt(lo + i * width)}–{_fmt(lo + (i + 1) * width)}", c / top, str(c))
        for i, c in enumerate(counts)
    ]


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


# --- compare ---------------------------------------------------------------------------------


@dataclass
class Comparison:
    better: list[str]  # failed in A, passes in B
    worse: list[str]  # passed in A, fails in B
    only_a: list[str]
    only_b: list[str]
    changed: list[tuple[str, float, float]]  # (id, success rate A, success rate B) otherwise
    metrics: list[tuple[str, Any, Any, float | None]]  # (name, A, B, B - A)
    pass_rate: tuple[float, float]
    pass_hat_k: list[tuple[str, float | None, float | None]]


def load_report(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict) or "scenarios" not in data:
        raise ValueError(f"{path}: not a Pacta eval report (no `scenarios`)")
    return data


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    rate_a = {s["id"]: _rate(s) for s in a["scenarios"]}
    rate_b = {s["id"]: _rate(s) for s in b["scenarios"]}
    pass_a = {s["id"]: s["passed"] for s in a["scenarios"]}
    pass_b = {s["id"]: s["passed"] for s in b["scenarios"]}
    common = [i for i in rate_a if i in rate_b]
    return Comparison(
        better=[i for i in common if not pass_a[i] and pass_b[i]],
        worse=[i for i in common if pass_a[i] and not pass_b[i]],
        only_a=[i for i in rate_a if i not in rate_b],
        only_b=[i for i in rate_b if i not in rate_a],
        changed=[
            (i, rate_a[i], rate_b[i])
            for i in common
            if rate_a[i] != rate_b[i] and pass_a[i] == pass_b[i]
        ],
        metrics=_metric_deltas(a.get("metrics", {}), b.get("metrics", {})),
        pass_rate=(a.get("pass_rate", 0.0), b.get("pass_rate", 0.0)),
        pass_hat_k=[
            (k, a.get("pass_hat_k", {}).get(k), b.get("pass_hat_k", {}).get(k))
            for k in sorted(set(a.get("pass_hat_k", {})) | set(b.get("pass_hat_k", {})))
        ],
    )


def _rate(scenario: dict[str, Any]) -> float:
    return scenario.get("successes", 0) / max(1, len(scenario.get("trials", [])))


def _metric_deltas(
    a: dict[str, Any], b: dict[str, Any]
) -> list[tuple[str, Any, Any, float | None]]:
    rows = []
    for name in sorted(set(a) | set(b)):
        va, vb = _scalar(a.get(name)), _scalar(b.get(name))
        delta = (
            round(vb - va, 4)
            if isinstance(va, int | float) and isinstance(vb, int | float)
            else None
        )
        rows.append((name, va, vb, delta))
    return rows


def _scalar(value: Any) -> Any:
    return value.get("mean") if isinstance(value, dict) else value
