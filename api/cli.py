"""The `pacta` command line (Typer + Rich)."""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from sqlmodel import select
from typer.core import TyperGroup

from agent.config import Settings, get_settings
from agent.store import NotFoundError
from agent.store.db import engine_for, session_scope, upgrade
from api.cli_cadence import cadence_app, scheduler_command
from api.cli_eval import eval_app
from api.cli_payments import payments_app
from api.cli_playbook import playbook_app
from api.cli_stops import stops_app

app = typer.Typer(help="Pacta: a collections negotiation agent for WhatsApp.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
policy_app = typer.Typer(
    help="Jurisdiction policy packs and the outbound guard.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")
app.add_typer(playbook_app, name="playbook")
app.add_typer(payments_app, name="payments")
app.add_typer(cadence_app, name="cadence")
app.command("scheduler")(scheduler_command)
app.add_typer(eval_app, name="eval")
app.add_typer(stops_app, name="stops")
console = Console()
err = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database schema."""
    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"[green]Database at revision {revision}[/] ({_safe_url(settings)})")


@db_app.command("seed")
def db_seed() -> None:
    """Load the demo portfolio (idempotent)."""
    from agent.portfolio import seed_demo

    settings = get_settings()
    upgrade(settings.database_url)
    with session_scope(engine_for(settings.database_url)) as session:
        accounts = seed_demo(session, datetime.now(UTC).date())
    console.print(f"[green]Demo portfolio ready:[/] {len(accounts)} accounts")


@policy_app.command("show")
def policy_show(
    code: Annotated[str, typer.Argument(help="Pack code: mx, co, pe, cl, ar, es, us")],
    notes: Annotated[bool, typer.Option("--notes", help="Add each rule's caveats.")] = False,
) -> None:
    """Print a policy pack: every rule with its source and how well it is verified."""
    from policies.packs import PackError, UnknownPackError, load_pack, render_pack

    try:
        pack = load_pack(code)
    except UnknownPackError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=2) from e
    except PackError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=1) from e
    sys.stdout.write(render_pack(pack, notes=notes))


@policy_app.command("check")
def policy_check(
    pack: Annotated[str, typer.Option("--pack", help="Pack code: mx, co, pe, cl, ar, es, us")],
    text: Annotated[str, typer.Argument(help="The draft to check, or - for standard input")] = "-",
    offer: Annotated[
        Path | None,
        typer.Option(
            "--offer",
            help="JSON file: a row context (as in evals/data/guard_corpus.jsonl) or an offer.",
        ),
    ] = None,
    first_contact: Annotated[
        bool, typer.Option("--first-contact", help="The draft first discloses the debt.")
    ] = False,
    identity_unconfirmed: Annotated[
        bool, typer.Option("--identity-unconfirmed", help="The debtor is not identified yet.")
    ] = False,
    wrong_party: Annotated[
        bool, typer.Option("--wrong-party", help="The person is not the debtor.")
    ] = False,
) -> None:
    """Check one outbound draft with the guard; prints the verdict as JSON.

    Exit code 0 when the draft passes, 3 when it must be redrafted or is blocked, 2 for bad input.
    """
    from evals.guard import ContextError, guard_context_for
    from policies.guard import check
    from policies.packs import available_packs

    code = pack.strip().lower()
    if code not in available_packs():
        err.print(
            f"[red]No policy pack {escape(repr(pack))}[/] (valid: {', '.join(available_packs())})"
        )
        raise typer.Exit(code=2)
    context = _check_context(offer) if offer is not None else {}
    context["pack"] = code
    context.setdefault("today", datetime.now(UTC).date().isoformat())
    if first_contact:
        context["first_contact"] = True
    if identity_unconfirmed:
        context["identity_confirmed"] = False
    if wrong_party:
        context["stage"] = "wrong_party"
    try:
        guard_context = guard_context_for(context)
    except ContextError as e:
        err.print(f"[red]Invalid offer file {escape(str(offer))}:[/] {escape(str(e))}")
        raise typer.Exit(code=2) from e
    draft = sys.stdin.read() if text == "-" else text
    verdict = check(draft, guard_context)
    out = {
        "verdict": verdict.outcome,
        "violations": [
            {"rule": v.rule_id, "span": list(v.span), "text": v.text} for v in verdict.violations
        ],
    }
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if not verdict.passed:
        raise typer.Exit(code=3)


def _check_context(path: Path) -> dict[str, Any]:
    """The row context in an --offer file; a bare offer object becomes {"offer": ...}."""
    from decimal import Decimal

    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as e:
        err.print(f"[red]Cannot read offer file {escape(str(path))}:[/] {escape(str(e))}")
        raise typer.Exit(code=2) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        err.print(f"[red]Offer file {escape(str(path))} is not valid JSON:[/] {escape(str(e))}")
        raise typer.Exit(code=2) from e
    if not isinstance(data, dict):
        err.print(f"[red]Offer file {escape(str(path))} must hold a JSON object.[/]")
        raise typer.Exit(code=2)
    if "offer" not in data and ("options" in data or "valid_until" in data):
        return {"offer": data}
    return data


class _ImportGroup(TyperGroup):
    """`pacta import accounts FILE`; the older `pacta import FILE` still works, with a notice."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands and "--help" not in args:
            err.print(
                "[yellow]`pacta import FILE` is deprecated: use `pacta import accounts FILE`[/]"
            )
            args = ["accounts", *args]
        return super().parse_args(ctx, args)


import_app = typer.Typer(
    cls=_ImportGroup, help="Import the portfolio from CSV files.", no_args_is_help=True
)
app.add_typer(import_app, name="import")


@import_app.command("accounts")
def import_accounts(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of tables.")
    ] = False,
) -> None:
    """Import or update accounts from a CSV file; rejected rows are reported, never written.

    Exit code 0 when every row was imported, 1 when any row was rejected, 2 when the file
    cannot be read at all (not UTF-8, no header, required columns missing).
    """
    from agent.portfolio import CsvFormatError, import_csv
    from policies.mandate import load_mandate

    settings = get_settings()
    upgrade(settings.database_url)
    creditor = load_mandate(settings.mandate).creditor
    try:
        with session_scope(engine_for(settings.database_url)) as session:
            now = datetime.now(UTC)
            report = import_csv(session, path, now.date(), now=now, default_creditor=creditor)
    except CsvFormatError as e:
        if as_json:
            out = {"error": str(e), "missing": e.missing}
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        err.print(f"[red]{escape(path.name)}: {escape(str(e))}[/]")
        raise typer.Exit(code=2) from e
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
    else:
        _print_import_report(report)
    if report.rejected:
        lines = ", ".join(f"line {r.line}" for r in report.rejected[:10])
        more = f" and {len(report.rejected) - 10} more" if len(report.rejected) > 10 else ""
        err.print(f"[red]{len(report.rejected)} row(s) rejected[/] ({lines}{more})")
        raise typer.Exit(code=1)


def _print_import_report(report: Any) -> None:
    console.print(
        f"created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {len(report.rejected)}"
    )
    counts = Table(title="Import")
    for name in ("created", "updated", "unchanged", "rejected"):
        counts.add_column(name, justify="right")
    counts.add_row(
        str(report.created), str(report.updated), str(report.unchanged), str(len(report.rejected))
    )
    console.print(counts)
    for title, issues, style in (
        ("Rejected rows", report.rejected, "red"),
        ("Warnings", report.warnings, "yellow"),
    ):
        if not issues:
            continue
        table = Table(title=title, title_style=style)
        table.add_column("line", justify="right")
        table.add_column("reason", overflow="fold")
        for issue in issues:
            table.add_row(str(issue.line), escape(issue.reason))
        console.print(table)


@app.command()
def demo(
    persist: Annotated[
        bool, typer.Option(help="Play into the configured database instead of a temporary one.")
    ] = False,
) -> None:
    """Seed a demo portfolio and play three scripted conversations through the real graph."""
    from agent.demo import play
    from agent.runtime import open_negotiator

    settings = get_settings()
    workdir = None
    if not persist:
        workdir = tempfile.TemporaryDirectory(prefix="pacta-demo-")
        settings = Settings(data_dir=Path(workdir.name), llm=settings.llm, mandate=settings.mandate)
    upgrade(settings.database_url)
    try:
        with open_negotiator(settings) as negotiator:
            outcomes = play(negotiator, on_turn=_print_turn)
    finally:
        if workdir:
            workdir.cleanup()
    for outcome in outcomes:
        _print_outcome(outcome)


_last_title: list[str] = []


def _print_turn(script, text: str, result) -> None:  # type: ignore[no-untyped-def]
    if not _last_title or _last_title[-1] != script.title:
        _last_title.append(script.title)
        console.rule(f"[bold]{script.title}[/]")
    console.print(f"[cyan]Deudor:[/] {text}")
    if result.reply:
        console.print(f"[green]Pacta[/] [dim]({result.action})[/]: {result.reply}")
    else:
        console.print("[dim](sin respuesta automática: una persona atiende)[/]")


def _print_outcome(outcome) -> None:  # type: ignore[no-untyped-def]
    title = f"{outcome.script.title}: stage [bold]{outcome.stage}[/]"
    if outcome.agreement is None:
        console.print(Panel("No agreement.", title=title))
        return
    a = outcome.agreement
    table = Table("#", "due", "amount")
    for i in outcome.installments:
        table.add_row(str(i.number), i.due_date.isoformat(), f"{i.amount} {a.currency}")
    summary = (
        f"Agreement #{a.id} [bold]{a.status}[/]: {a.kind} {a.frequency}, total {a.total} "
        f"{a.currency} (balance {a.balance}, discount {a.discount_pct}% = {a.discount_amount})"
    )
    console.print(Panel(table, title=title, subtitle=summary))


@app.command()
def chat(
    account: Annotated[str, typer.Option(help="Account id or reference")],
) -> None:
    """Chat in the terminal as the debtor of ACCOUNT (type /salir to leave)."""
    from agent.runtime import InvalidMessageError, open_negotiator

    settings = get_settings()
    upgrade(settings.database_url)
    account_id = _resolve_account(settings, account)
    with open_negotiator(settings) as negotiator:
        conversation_id = negotiator.open_conversation(account_id)
        console.print(f"[dim]Conversation {conversation_id}. Type /salir to leave.[/]")
        while True:
            try:
                text = console.input("[cyan]Tú:[/] ")
            except (EOFError, KeyboardInterrupt):
                break
            if text.strip() in {"/salir", "/exit", "/quit"}:
                break
            try:
                result = negotiator.receive(conversation_id, text)
            except InvalidMessageError as e:
                err.print(f"[yellow]{e}[/]")
                continue
            if result.reply:
                console.print(f"[green]Pacta:[/] {result.reply}")
            else:
                console.print("[dim](una persona continúa esta conversación)[/]")
            console.print(f"[dim]  action={result.action or '-'} stage={result.stage}[/]")


def _resolve_account(settings: Settings, ref: str) -> int:
    from agent.store.models import Account

    with session_scope(engine_for(settings.database_url)) as session:
        query = select(Account).where(
            (Account.reference == ref) | (Account.id == (int(ref) if ref.isdigit() else -1))
        )
        found = session.exec(query).first()
    if found is None:
        err.print(f"[red]No account {ref!r}.[/] Import accounts or run `pacta db seed` first.")
        raise typer.Exit(code=2)
    return found.id or 0


@app.command()
def classify(
    source: Annotated[
        typer.FileText, typer.Argument(help="JSON Lines file, or - for standard input")
    ] = "-",  # type: ignore[assignment]
) -> None:
    """Classify debtor messages: JSON Lines in ({"text", "last_agent_message"}), JSON Lines out."""
    from agent.understanding.offline import classify as classify_text

    failures = 0
    with source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text = item["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                failures += 1
                out = {"line": number, "error": f"{type(e).__name__}: {e}"}
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
                continue
            u = classify_text(text, item.get("last_agent_message"))
            out = {"text": text, **u.model_dump(mode="json")}
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failures:
        err.print(f"[yellow]{failures} line(s) could not be read[/]")
        raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    settings = get_settings()
    _configure_logging(settings)
    upgrade(settings.database_url)
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Process what is pending, print the count and exit.")
    ] = False,
) -> None:
    """Answer stored inbound messages on the configured database (Ctrl-C stops it)."""
    import signal
    import threading

    from agent.runtime import open_negotiator
    from agent.worker import Worker

    settings = get_settings()
    _configure_logging(settings)
    upgrade(settings.database_url)
    with open_negotiator(settings) as negotiator:
        inbound_worker = Worker(negotiator)
        if once:
            total = 0
            while handled := inbound_worker.run_once():
                total += handled
            console.print(f"processed {total} message(s)")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # finish the message in hand
        thread = threading.Thread(target=inbound_worker.run_forever, args=(stop,), daemon=True)
        thread.start()
        console.print(f"[dim]Worker running on {_safe_url(settings)}. Ctrl-C to stop.[/]")
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            stop.set()  # the message in hand is finished, then the loop ends
            thread.join(timeout=60)


def _configure_logging(settings: Settings) -> None:
    """Pacta's own loggers (uvicorn configures its own); records carry no bodies or phones."""
    import logging

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )


def _safe_url(settings: Settings) -> str:
    """The database URL without credentials, fit for a terminal or a log."""
    url = settings.database_url
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    try:
        app()
    except NotFoundError as e:
        err.print(f"[red]{e}[/]")
        raise SystemExit(2) from e


if __name__ == "__main__":
    main()
