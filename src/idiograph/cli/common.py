"""What every command group shares: consoles, progress bars, the database, errors."""

from __future__ import annotations

import uuid

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from idiograph.config import get_settings
from idiograph.db import Database, make_engine
from idiograph.errors import DomainError

console = Console()
err = Console(stderr=True)


given: Database | None = None  # set by a test to run commands inside its own rolled-back transaction


def database() -> Database:
    """The configured database; each command opens one unit of work on it (``writer()`` or ``reader()``)."""
    settings = get_settings()
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    return given or Database(engine, audit_key=settings.audit_key)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def fail(exc: DomainError) -> None:
    err.print(f"[red]error:[/red] {exc.detail}")
    for p in exc.problems[:50]:
        err.print(f"  {p.field}: {p.reason}")
    if len(exc.problems) > 50:
        err.print(f"  … and {len(exc.problems) - 50} more")
    raise typer.Exit(2)


def team_id(session, name: str | None) -> uuid.UUID | None:  # type: ignore[no-untyped-def]
    from idiograph.security.teams import team_by_name

    return team_by_name(session, name).id if name else None


def check_format(out_format: str) -> None:
    if out_format not in ("table", "markdown", "json"):
        err.print(f"--format: {out_format!r} is not table, markdown or json")
        raise typer.Exit(2)
