"""Governed facts (DESIGN rule 4): discharge, the intervention, an appointment's time, place, format and length,
appointment frequency and who a person's therapist is change only through a decision (``governance.service.apply``),
at run time as well as in the source.

A lint test reads the source for assignments; this guard watches what reaches the database. Every UPDATE (ORM
flush, Core, raw SQL, an upsert's DO UPDATE) that sets a governed column is refused unless it runs inside
``governing()``, which only ``governance.apply`` opens. Creating a row with those columns (a new episode, a
booking, an imported history) is not a change and is not governed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event

GOVERNED: dict[str, frozenset[str]] = {
    "episode": frozenset({"pathway", "discharge_date", "discharge_reason"}),
    "appointment": frozenset({"start", "place", "format", "minutes"}),
    "appointment_plan": frozenset({"frequency"}),
    "allocation": frozenset({"therapist_id", "current"}),
}

_decision: ContextVar[str | None] = ContextVar("governing_decision", default=None)

_UPDATE = re.compile(r'^\s*UPDATE\s+"?(\w+)"?\s+SET\s+(.*?)(?:\s+WHERE\s|\s+RETURNING\s|$)', re.I | re.S)
_UPSERT = re.compile(
    r'^\s*INSERT\s+INTO\s+"?(\w+)"?.*?\bDO\s+UPDATE\s+SET\s+(.*?)(?:\s+WHERE\s|\s+RETURNING\s|$)', re.I | re.S
)
_ASSIGNED = re.compile(r'(?:^|,)\s*"?(\w+)"?\s*=')


class GovernanceBypass(RuntimeError):
    """A governed fact was about to change without a decision: a programming error, refused before it lands."""


@contextmanager
def governing(decision: str) -> Iterator[None]:
    """Within this block, governed columns may change: only ``governance.apply`` opens it, naming the decision."""
    token = _decision.set(decision)
    try:
        yield
    finally:
        _decision.reset(token)


def changed_columns(statement: str) -> tuple[str, set[str]] | None:
    """The table and the governed columns an UPDATE (or upsert) sets, or None when it sets none."""
    head = statement.lstrip()[:6].upper()
    if head not in ("UPDATE", "INSERT"):
        return None
    m = (_UPDATE if head == "UPDATE" else _UPSERT).match(statement)
    if m is None:
        return None
    table = m.group(1).lower()
    cols = GOVERNED.get(table)
    if cols is None:
        return None
    hit = {c.lower() for c in _ASSIGNED.findall(m.group(2))} & cols
    return (table, hit) if hit else None


def _check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if _decision.get() is not None:
        return
    found = changed_columns(statement)
    if found is not None:
        table, cols = found
        raise GovernanceBypass(
            f"{table}.{', '.join(sorted(cols))} is a governed fact: it changes only through a decision "
            "(POST /api/v1/people/{id}/changes), never directly"
        )


_installed = False


def install() -> None:
    """Watch every engine (once per process)."""
    global _installed
    if not _installed:
        event.listen(Engine, "before_cursor_execute", _check)
        _installed = True
