"""`pacta playbook index` and `pacta playbook search`: the reply examples and policy snippets
the drafter retrieves (agent/playbook.py), embedded with `PACTA_EMBEDDINGS`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.config import get_settings

playbook_app = typer.Typer(
    help="Reply examples and policy snippets retrieved by meaning (Chroma).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


@playbook_app.command("index")
def playbook_index() -> None:
    """Embed prompts/playbook/*.yaml into the local Chroma index (idempotent)."""
    from agent.playbook import Playbook, PlaybookError, load_entries

    settings = get_settings()
    try:
        entries = load_entries()
    except PlaybookError as e:
        err.print(f"[red]Invalid playbook:[/] {escape(str(e))}")
        raise typer.Exit(code=1) from e
    playbook = Playbook.open(settings)
    stats = playbook.sync(entries)
    examples = sum(1 for e in entries if e.kind == "example")
    console.print(
        f"[green]Playbook indexed[/] with [bold]{settings.embeddings}[/] in "
        f"{stats.seconds:.2f} s: {stats.total} entries ({examples} examples, "
        f"{len(entries) - examples} policies); {stats.added} added, {stats.updated} updated, "
        f"{stats.deleted} deleted, {stats.unchanged} unchanged"
    )
    console.print(f"[dim]{escape(str(settings.playbook))} · {playbook.collection_name}[/]")


@playbook_app.command("search")
def playbook_search(
    text: Annotated[str, typer.Argument(help="What the debtor wrote.")],
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="The agent's action (offer, inform...).")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", "-s", help="standard, good_history, new, hardship, corporate."),
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="example or policy.")] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=50, help="How many.")] = 3,
) -> None:
    """Show the playbook entries closest to TEXT."""
    from agent.playbook import Playbook

    settings = get_settings()
    playbook = Playbook.open(settings)
    try:
        hits = playbook.search(text, action=action, segment=segment, kind=kind, k=k)
    except ValueError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(code=2) from e
    if not hits:
        if not playbook.is_indexed():
            err.print(
                f"[yellow]The playbook is not indexed for {settings.embeddings}:[/] "
                "run `pacta playbook index`."
            )
            raise typer.Exit(code=1)
        console.print("[yellow]No entry matches these filters.[/]")
        return
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("distance", justify="right")
    table.add_column("id", overflow="fold")
    table.add_column("kind · action · segment · objection")
    table.add_column("text", ratio=1)
    for rank, hit in enumerate(hits, 1):
        e = hit.entry
        table.add_row(
            str(rank),
            f"{hit.distance:.3f}",
            escape(e.id),
            escape(f"{e.kind} · {e.action} · {e.segment} · {e.objection}"),
            escape(e.text),
        )
    console.print(table)
