"""What every command group shares: consoles, progress bars, the database, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import NoReturn

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

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


class Count(ProgressColumn):
    """``done/total`` when the total is known; otherwise how many so far (never "0/?")."""

    def render(self, task: Task) -> Text:
        if task.total is not None:
            return Text(f"{int(task.completed):,}/{int(task.total):,}", style="progress.download")
        return Text(f"{int(task.completed):,}" if task.completed else "", style="progress.download")


class Bar(BarColumn):
    """A bar only when the total is known (a step of unknown length shows the spinner instead)."""

    def render(self, task: Task):  # type: ignore[no-untyped-def,override]
        return super().render(task) if task.total is not None else Text("")


class Spinner(SpinnerColumn):
    """A spinner only while a step of unknown length runs."""

    def render(self, task: Task):  # type: ignore[no-untyped-def,override]
        return super().render(task) if task.total is None and not task.finished else Text(" ")


def progress_bar() -> Progress:
    return Progress(
        Spinner(),
        TextColumn("{task.description}"),
        Bar(bar_width=24),
        Count(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def show_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Iterable[str] = (),
    out: Console | None = None,
) -> None:
    """A table that reads at the terminal's width (80 columns included): long text wraps within its column, no
    column is squeezed below its header's longest word, and when even that does not fit, each row is printed as
    ``column: value`` lines instead."""
    out = out or console
    rows = [list(r) for r in rows]
    numeric = set(numeric)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    narrowest: list[int] = []
    natural: list[int] = []
    for i, col in enumerate(columns):
        values = [str(r[i]) for r in rows]
        longest_word = max((len(w) for w in col.split()), default=1)
        longest_value_word = max((len(w) for v in values for w in v.split()), default=0)
        # numbers never wrap; words up to 12 letters stay whole; an identifier or path folds over lines
        least = max(longest_word, longest_value_word if col in numeric else min(longest_value_word, 12))
        narrowest.append(least)
        natural.append(max([len(col), *(len(v) for v in values)]))
    room = out.width - 2 * len(columns) - 1  # a space of padding and one between columns, and the edges
    if sum(narrowest) > room:
        out.print(Text(title, style="bold"), overflow="fold")
        width = max(len(c) for c in columns)
        for r in rows:
            out.print()
            for col, value in zip(columns, r, strict=True):
                out.print(Text(f"{col:>{width}}: {value}"), overflow="fold")
        return
    widths = natural
    if sum(natural) > room:  # share what is left beyond each column's narrowest by how much more it would take
        spare, wants = room - sum(narrowest), [n - m for n, m in zip(natural, narrowest, strict=True)]
        widths = [m + spare * w // max(sum(wants), 1) for m, w in zip(narrowest, wants, strict=True)]
    for col, w in zip(columns, widths, strict=True):
        table.add_column(col, justify="right" if col in numeric else "left", overflow="fold", width=w)
    for r in rows:
        table.add_row(*(Text(str(v)) for v in r))  # as written: a value's brackets are not markup
    out.print(Text(title, style="bold"), overflow="fold")
    out.print(table)


def error_line(message: str) -> None:
    """One error line on stderr, not wrapped at the terminal's width (scripts and people read it whole)."""
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


def bad_option(option: str, message: str) -> NoReturn:
    """Refuse a command-line option: one line naming it, exit code 2 (as Typer does for its own checks)."""
    error_line(f"{option}: {message}")
    raise typer.Exit(2)


def date_option(value: str | None, option: str) -> date | None:
    """A date given on the command line (YYYY-MM-DD), or a one-line refusal naming the option."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        bad_option(option, f"{value!r} is not a date; expected YYYY-MM-DD, e.g. 2026-03-01")


def fail(exc: DomainError) -> None:
    err.print(Text.assemble(("error:", "red"), " ", exc.detail), soft_wrap=True)
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
