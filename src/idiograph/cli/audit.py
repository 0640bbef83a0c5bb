"""``idiograph audit``: the tamper-evident audit trail."""

from __future__ import annotations

import typer

from idiograph.cli.common import console, database, err

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; names every edited, deleted or reordered record."""
    from idiograph.security.audit import verify

    with database().reader() as session:
        n, head, problems = verify(session)
    if problems:
        for p in problems:
            err.print(f"[red]record {p.seq}[/red] {p.kind}: {p.message}")
        raise typer.Exit(1)
    console.print(f"audit trail intact: {n} records, head {head}")
