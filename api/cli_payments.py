"""`pacta payments`: import reported payments from CSV, and run the daily installment sweep."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from agent.config import get_settings
from agent.store.db import engine_for, session_scope, upgrade

payments_app = typer.Typer(
    help="Payments: import them from CSV, run the daily installment sweep.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

COLUMNS = ("account_id", "amount", "paid_at", "reference")


@dataclass
class PaymentImportReport:
    applied: int = 0  # new payments recorded
    unchanged: int = 0  # references already recorded with the same details
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def import_payments(path: Path, now: datetime) -> PaymentImportReport:
    """Each row in its own transaction: a bad row is reported and changes nothing."""
    from agent.payments import (
        InvalidPaymentError,
        PaymentRequest,
        ReferenceConflictError,
        UnknownAccountError,
        submit_payment,
    )

    settings = get_settings()
    engine = engine_for(settings.database_url)
    report = PaymentImportReport()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            report.errors.append((1, f"missing columns: {', '.join(missing)}"))
            return report
        for raw in reader:
            line = reader.line_num  # the file's own line number (blank lines are skipped)
            if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                continue  # a line of empty cells
            values = {c: (raw.get(c) or "").strip() for c in COLUMNS}
            try:
                request = PaymentRequest.model_validate(values)
                outcome = submit_payment(engine, request, now)
            except ValidationError as e:
                report.errors.append((line, _reasons(e)))
                continue
            except (UnknownAccountError, ReferenceConflictError, InvalidPaymentError) as e:
                report.errors.append((line, str(e)))
                continue
            if outcome.created:
                report.applied += 1
            else:
                report.unchanged += 1
    return report


def _reasons(e: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, x['loc'])) or 'row'}: {x['msg'].removeprefix('Value error, ')}"
        for x in e.errors()
    )


@payments_app.command("import")
def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with columns account_id,amount,paid_at,reference",
        ),
    ],
) -> None:
    """Record payments from a CSV file; bad rows are reported with their line and skipped.

    account_id is the account's reference or numeric id; paid_at is ISO 8601 with a time-zone
    offset. A reference already recorded with the same details is left as it is, so importing
    the same file again changes nothing. Exit code 1 when any row was refused.
    """
    settings = get_settings()
    upgrade(settings.database_url)
    report = import_payments(path, datetime.now(UTC))
    console.print(f"applied {report.applied}, already recorded {report.unchanged}")
    for line, reason in report.errors:
        err.print(f"[red]line {line}:[/] {escape(reason)}")
    if report.errors:
        raise typer.Exit(code=1)


@payments_app.command("sweep")
def sweep_command(
    at: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Run as of this moment (ISO 8601 with offset); default: the current time.",
        ),
    ] = None,
) -> None:
    """The daily pass over agreements: follow-ups, broken agreements, reminders, and approvals
    nobody decided before the offer's validity passed (expired; the debtor sees today's options).

    An unpaid installment past its due date becomes missed and the debtor gets one kind
    follow-up; past the mandate's grace_days the agreement is broken; a reminder goes
    reminder_days_before days before each due date. Safe to run more than once a day (hourly
    works well): nothing is sent twice, and what the contact rules put off (outside contact
    hours, over the caps) is tried again on the next run.
    """
    from agent.payments import sweep
    from agent.runtime import open_negotiator
    from policies.mandate import MandateError, load_mandate

    now = _parse_now(at)
    settings = get_settings()
    upgrade(settings.database_url)
    try:
        mandate = load_mandate(settings.mandate)
    except MandateError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=2) from e
    with session_scope(engine_for(settings.database_url)) as session:
        report = sweep(session, now, mandate)
    with open_negotiator(settings) as negotiator:
        expired = negotiator.expire_overdue_approvals(now)
    console.print(
        f"agreements {report.agreements}: missed {report.missed}, broken {report.broken}, "
        f"follow-ups {report.followups}, reminders {report.reminders}, "
        f"deferred {report.deferred}, skipped {report.skipped}; "
        f"approvals expired {len(expired)}"
    )


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        err.print(f"[red]--now {escape(value)!r} is not an ISO 8601 date and time[/]")
        raise typer.Exit(code=2) from e
    if parsed.tzinfo is None:
        err.print("[red]--now needs a time-zone offset (e.g. 2026-03-11T10:00:00-06:00)[/]")
        raise typer.Exit(code=2)
    return parsed
