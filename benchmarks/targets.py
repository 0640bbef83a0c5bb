"""The databases a benchmark runs on: a fresh SQLite file and, when the server answers, a fresh PostgreSQL
database that is dropped afterwards."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def databases(postgres: str, console: Console) -> Iterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        name = f"idiograph_bench_{uuid.uuid4().hex[:6]}"
        admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            targets.append(("PostgreSQL", make_url(postgres).set(database=name).render_as_string(False)))
        except Exception as exc:  # the benchmark still reports SQLite
            console.print(f"[yellow]PostgreSQL skipped: {exc}[/yellow]")
        try:
            yield targets
        finally:
            if len(targets) > 1:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
