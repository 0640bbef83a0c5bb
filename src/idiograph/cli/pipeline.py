"""``idiograph pipeline``: statistical rules that failed on stored data (see and retry them)."""

from __future__ import annotations

import typer

from idiograph.cli.common import console, database, show_table
from idiograph.security.principal import Principal

app = typer.Typer(help="Rules that failed on stored data: list and retry them.", no_args_is_help=True)


@app.command("failures")
def failures_list() -> None:
    """Statistical rules that failed and have not yet run (the data and any safety alert were stored)."""
    from idiograph.pipeline import failures

    with database().reader() as session:
        rows = failures.open_failures(session, Principal.system("pipeline"))
    if not rows:
        console.print("no rule failures waiting")
        return
    show_table(
        f"Rule failures waiting ({len(rows)})",
        ("failed at (UTC)", "rule", "people", "results", "tries", "error"),
        [
            (
                f"{f.failed_at:%Y-%m-%d %H:%M}",
                f.rule,
                str(len(f.people)),
                str(len(f.observations)),
                str(f.attempts),
                f.error,
            )
            for f in rows
        ],
        numeric=("people", "results", "tries"),
    )


@app.command("retry")
def retry() -> None:
    """Run every waiting rule again on its stored observations (exit 1 if any still fails)."""
    from idiograph.pipeline import failures

    with database().writer() as session:
        r = failures.retry(session, Principal.system("pipeline").actor)
    console.print(f"{r.tried} tried, {r.resolved} resolved, {r.still_failing} still failing")
    if r.still_failing:
        raise typer.Exit(1)
