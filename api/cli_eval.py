"""`pacta eval`: run conversation eval suites and compare two runs.

Exit codes of `pacta eval run`: 0 when the pass rate reaches the suite's threshold, 1 when it
does not, 2 when the suite file is malformed (file, line and reason are printed).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

eval_app = typer.Typer(
    help="Conversation eval suites: run them, compare two runs.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@eval_app.command("run")
def run(
    suite_path: Annotated[Path, typer.Argument(metavar="SUITE.yaml", help="The suite file.")],
    k: Annotated[int, typer.Option("--k", min=1, help="Trials per scenario.")] = 1,
    provider: Annotated[
        str, typer.Option(help="offline (templates, scripted debtor) or openai.")
    ] = "offline",
    report: Annotated[
        Path | None, typer.Option("--report", help="Directory for report.json and report.html.")
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", help="Only scenarios with these tags (repeat or comma-separate)."),
    ] = None,
    judge: Annotated[
        bool, typer.Option("--judge", help="Empathy and clarity rated by the model too.")
    ] = False,
) -> None:
    """Run every scenario of SUITE.yaml through the real agent, K trials each."""
    from evals.report import write_reports
    from evals.runner import RunOptions, SuiteRunner
    from evals.scenarios import SuiteError, load_suite

    if provider not in ("offline", "openai"):
        err.print("[red]--provider must be offline or openai[/]")
        raise typer.Exit(2)
    try:
        suite = load_suite(suite_path)
    except SuiteError as e:
        err.print(f"[red]malformed suite:[/] {escape(str(e))}")
        raise typer.Exit(2) from e
    wanted = [t for item in tags or [] for t in item.split(",") if t.strip()]
    options = RunOptions(k=k, provider=provider, tags=wanted, judge=judge)
    pacta_log = logging.getLogger("pacta")
    level = pacta_log.level
    pacta_log.setLevel(logging.WARNING)  # the progress bar, not a line per turn
    try:
        result = _run_with_progress(SuiteRunner, suite, options)
    finally:
        pacta_log.setLevel(level)
    _print_summary(result)
    if report is not None:
        json_path, html_path = write_reports(result, report)
        console.print(f"reports: {json_path} and {html_path}")
    raise typer.Exit(0 if result["passed"] else 1)


def _run_with_progress(runner_cls: Any, suite: Any, options: Any) -> dict[str, Any]:
    total = len(suite.selected(options.tags)) * options.k
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"eval {suite.suite}", total=total, last="")

        def on_trial(scenario_id: str, trial: int, passed: bool) -> None:
            mark = "[green]✔[/]" if passed else "[red]✘[/]"
            progress.update(task, advance=1, last=f"{mark} {escape(scenario_id)} #{trial}")

        return runner_cls(suite, options, on_trial=on_trial).run()


def _print_summary(result: dict[str, Any]) -> None:
    table = Table(title=f"Suite {result['suite']}", show_lines=False)
    for name in ("scenario", "tags", "passed", "first failure"):
        table.add_column(name)
    for s in result["scenarios"]:
        ok = f"{s['successes']}/{len(s['trials'])}"
        first = s["failures"][0] if s["failures"] else ""
        table.add_row(
            escape(s["id"]),
            escape(", ".join(s["tags"])),
            f"[green]{ok}[/]" if s["passed"] else f"[red]{ok}[/]",
            escape(first[:90]),
        )
    console.print(table)
    m = result["metrics"]
    hat = ", ".join(f"pass^{k}={v:.3f}" for k, v in result["pass_hat_k"].items() if k != "k")
    verdict = "[green]PASSED[/]" if result["passed"] else "[red]FAILED[/]"
    console.print(
        f"{verdict} pass rate {result['pass_rate']:.1%} (threshold {result['threshold']:.0%}); "
        f"{hat}; {result['seconds']} s"
    )
    console.print(
        f"recovery {_mean(m['recovery'])} · concession {_mean(m['concession'])} · "
        f"turns to agreement {_mean(m['turns_to_agreement'])} · handoff rate "
        f"{m['handoff_rate']} · guard blocks {m['guard_blocks_total']} · violations "
        f"{m['violations_total']} · tokens/turn {_mean(m['tokens_per_turn'])} · empathy "
        f"{_mean(m['empathy'])} · clarity {_mean(m['clarity'])}"
    )


def _mean(metric: dict[str, Any]) -> str:
    value = metric.get("mean")
    return "–" if value is None else f"{value:.2f}"


@eval_app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(metavar="A/report.json", help="The baseline run.")],
    b: Annotated[Path, typer.Argument(metavar="B/report.json", help="The new run.")],
) -> None:
    """What got better or worse from run A to run B, scenario by scenario, and metric deltas."""
    from evals.report import compare, load_report

    try:
        ra, rb = load_report(a), load_report(b)
    except (OSError, ValueError) as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(2) from e
    c = compare(ra, rb)
    console.print(
        f"pass rate {c.pass_rate[0]:.1%} -> {c.pass_rate[1]:.1%} "
        f"({(c.pass_rate[1] - c.pass_rate[0]) * 100:+.1f} points)"
    )
    for k, va, vb in c.pass_hat_k:
        console.print(f"pass^{k}: {_num(va)} -> {_num(vb)}")
    _list("[green]better[/] (failed in A, pass in B)", c.better)
    _list("[red]worse[/] (passed in A, fail in B)", c.worse)
    _list("only in A", c.only_a)
    _list("only in B", c.only_b)
    for sid, ra_, rb_ in c.changed:
        console.print(f"  {escape(sid)}: trials passed {ra_:.0%} -> {rb_:.0%}")
    table = Table(title="metrics")
    for name in ("metric", "A", "B", "B - A"):
        table.add_column(name)
    for name, va, vb, delta in c.metrics:
        table.add_row(name, _num(va), _num(vb), "" if delta is None else f"{delta:+.4g}")
    console.print(table)


def _list(title: str, ids: list[str]) -> None:
    console.print(f"{title}: {len(ids)}")
    for sid in ids:
        console.print(f"  {escape(sid)}")


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
