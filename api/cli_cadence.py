"""`pacta cadence plan` and `pacta scheduler`: the outbound cadence from the command line."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.config import Settings, get_settings
from agent.store.db import engine_for, upgrade

cadence_app = typer.Typer(help="Outbound cadence: reminders and follow-ups.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

# A bare --date plans at 15:00 UTC: mid-morning in the Americas, afternoon in Spain, inside
# every pack's weekday window, so a date alone shows what that day would send.
BARE_DATE_TIME = time(15, 0, tzinfo=UTC)
ACTION_STYLE = {"send": "green", "hold": "yellow", "skip": "dim"}


def parse_moment(value: str | None) -> datetime:
    """--date: YYYY-MM-DD (at 15:00 UTC) or an ISO 8601 moment with an offset; default now."""
    if value is None:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), BARE_DATE_TIME)
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        err.print(f"[red]--date {escape(value)!r} is not a date or an ISO 8601 moment[/]")
        raise typer.Exit(code=2) from e
    if moment.tzinfo is None:
        err.print("[red]--date needs a time-zone offset (e.g. 2026-03-10T21:30:00-05:00)[/]")
        raise typer.Exit(code=2)
    return moment


def _load(settings: Settings, cadence_name: str | None) -> Any:
    from policies.cadence import CadenceError, load_cadence

    try:
        return load_cadence(cadence_name or settings.cadence)
    except CadenceError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=2) from e


@cadence_app.command("plan")
def plan_command(
    at: Annotated[
        str | None,
        typer.Option("--date", help="Plan as of YYYY-MM-DD (15:00 UTC) or an ISO moment."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    cadence: Annotated[
        str | None, typer.Option(help="Cadence id or YAML path (default PACTA_CADENCE).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows shown in the table (JSON: all).")] = 200,
) -> None:
    """Every message the cadence would send now, hold (and until when) or skip, and why.

    Nothing is written: `pacta scheduler` hands the plan to the outbox.
    """
    from agent.cadence.planner import Planner

    settings = get_settings()
    upgrade(settings.database_url)
    chosen = _load(settings, cadence)
    now = parse_moment(at)
    with engine_for(settings.database_url).connect() as conn:
        planner = Planner(conn, chosen, now)
        items = list(planner.items())
    if as_json:
        out = {"summary": planner.stats.as_dict(), "items": [i.as_dict() for i in items]}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _print_plan(items[:limit], planner.stats.as_dict(), len(items))


def _print_plan(items: list[Any], summary: dict[str, Any], total: int) -> None:
    table = Table(title=f"Cadence {summary['cadence']} at {summary['now']}")
    for column in ("Account", "Step", "Action", "When (debtor's time)", "Template", "Why"):
        table.add_column(column)
    for item in items:
        style = ACTION_STYLE[item.action]
        when = item.as_dict()["send_at_local"] or "-"
        why = item.reason
        extra = [r for r in item.rule_ids if r != item.reason]
        if extra:
            why += f" ({', '.join(extra)})"
        template = f"{item.template} [{item.kind}]" if item.action != "skip" else "-"
        table.add_row(
            f"{item.reference} ({item.jurisdiction}, {item.segment})",
            item.step_id,
            f"[{style}]{item.action}[/]",
            when,
            template,
            escape(why),
        )
    console.print(table)
    if total > len(items):
        console.print(f"[dim]{total - len(items)} more row(s): use --json for all[/]")
    console.print(
        f"send {summary['send']}, hold {summary['hold']}, skip {summary['skip']} "
        f"({summary['candidates']} accounts with a due step)"
    )


def scheduler_command(
    once: Annotated[bool, typer.Option("--once", help="One run, print its report, exit.")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between runs (PACTA_SCHEDULER_INTERVAL_SECONDS).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--date", help="With --once: run as of this moment.")
    ] = None,
    dispatch: Annotated[
        bool,
        typer.Option(
            "--dispatch", help="Also run the outbox dispatcher here (`pacta serve` does it)."
        ),
    ] = False,
) -> None:
    """Run the outbound cadence on a schedule: plan, queue in the outbox, run the payments sweep."""
    from agent.cadence.scheduler import CadenceScheduler
    from policies.cadence import CadenceError
    from policies.mandate import MandateError, load_mandate

    settings = get_settings()
    upgrade(settings.database_url)
    engine = engine_for(settings.database_url)
    try:
        scheduler = CadenceScheduler(
            engine,
            _load(settings, None),
            mandate=load_mandate(settings.mandate),
            rate_per_second=settings.campaign_rate_per_second,
        )
    except (CadenceError, MandateError) as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=2) from e
    if once:
        report = scheduler.run_once(parse_moment(at) if at else None)
        if dispatch:
            report_sent = _drain(settings, engine)
            console.print(f"dispatched {report_sent} message(s)")
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    _run_loop(settings, engine, scheduler, interval, dispatch)


def _drain(settings: Settings, engine: Any) -> int:
    """Send what is due now through the configured channel (sandbox without a token)."""
    from api.channels import build_channel
    from api.dispatcher import Dispatcher

    channel = build_channel(settings)
    try:
        dispatcher = Dispatcher(engine, channel)
        total = 0
        while handled := dispatcher.run_once():
            total += handled
        return total
    finally:
        channel.close()


def _run_loop(
    settings: Settings, engine: Any, scheduler: Any, interval: float | None, dispatch: bool
) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seconds = interval or settings.scheduler_interval_seconds
    threads = [threading.Thread(target=scheduler.run_forever, args=(stop, seconds), daemon=True)]
    channel = None
    if dispatch:
        from api.channels import build_channel
        from api.dispatcher import Dispatcher

        channel = build_channel(settings)
        dispatcher = Dispatcher(engine, channel)
        threads.append(threading.Thread(target=dispatcher.run_forever, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()
    console.print(f"[dim]Cadence scheduler running every {seconds:g}s. Ctrl-C to stop.[/]")
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        stop.set()
    for thread in threads:
        thread.join(timeout=30)
    if channel is not None:
        channel.close()
