"""`pacta stops`: record, lift and list the stop conditions that silence business contact."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from agent.config import get_settings
from agent.store.db import engine_for, session_scope, upgrade

stops_app = typer.Typer(
    help="Stop conditions (a lawyer, a lawsuit...): while one is in force, no business contact.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

Account = Annotated[str, typer.Argument(help="The account's reference (or numeric id).")]
Reason = Annotated[
    str,
    typer.Option(
        "--reason",
        help="debtor_has_lawyer, lawsuit_served, insolvency, deceased, vulnerable_recipient or "
        "dispute_open.",
    ),
]


@stops_app.command("add")
def add(
    account: Account,
    reason: Reason,
    every_account: Annotated[
        bool, typer.Option("--every-account", help="For all of the debtor's accounts.")
    ] = False,
    note: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Record a stop: the cadence skips the account and templates and notices are refused."""
    from agent.payments import UnknownAccountError
    from agent.stops import StopError, record_stop

    with _session() as session:
        try:
            stop = record_stop(
                session, account, reason, datetime.now(UTC), every_account=every_account, note=note
            )
        except (StopError, UnknownAccountError) as e:
            err.print(f"[red]{escape(str(e))}[/]")
            raise typer.Exit(1) from e
        scope = "every account of the debtor" if stop.account_id is None else account
    console.print(f"stop {reason} in force for {escape(scope)}")


@stops_app.command("lift")
def lift(account: Account, reason: Reason) -> None:
    """Lift a stop: business contact may resume (the contact rules still apply)."""
    from agent.payments import UnknownAccountError
    from agent.stops import StopError, lift_stop

    with _session() as session:
        try:
            lifted = lift_stop(session, account, reason, datetime.now(UTC))
        except (StopError, UnknownAccountError) as e:
            err.print(f"[red]{escape(str(e))}[/]")
            raise typer.Exit(1) from e
    console.print(f"lifted {len(lifted)} {reason} stop(s) for {escape(account)}")


@stops_app.command("list")
def list_stops(account: Account) -> None:
    """The stops in force for an account."""
    from agent.payments import UnknownAccountError, find_account
    from agent.stops import stops_for

    with _session() as session:
        try:
            found = stops_for(session, find_account(session, account))
        except UnknownAccountError as e:
            err.print(f"[red]{escape(str(e))}[/]")
            raise typer.Exit(1) from e
        table = Table(title=f"Stops in force for {escape(account)}")
        for column in ("reason", "scope", "since", "note"):
            table.add_column(column)
        for stop in found:
            scope = "every account" if stop.account_id is None else "this account"
            table.add_row(stop.reason, scope, stop.since.isoformat(), escape(stop.note or ""))
    console.print(table if found else "no stop in force")


def _session() -> AbstractContextManager[Session]:
    settings = get_settings()
    upgrade(settings.database_url)
    return session_scope(engine_for(settings.database_url))
