"""The harness the per-request API benchmarks share: a fresh SQLite demo service, one staff login on the North team,
each endpoint timed in-process (FastAPI's TestClient: server time, no network) over the same people, and a table of
median and p99 milliseconds beside the obvious alternative the caller names."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.security import sessions
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.service import create_user

SECRET = "benchmark-secret-key-of-enough-length-0123456789"
AUDIT_KEY = "benchmark-audit-key-of-enough-length-0123456789"
TEAM = "North Talking Therapies"


def time_endpoints(
    *,
    people: int,
    repeats: int,
    extra_steps: Sequence[Sequence[str]],
    role: str,
    pick: Callable[[Session, uuid.UUID], Sequence[uuid.UUID]],
    endpoints: Sequence[tuple[str, str]],
    title: str,
) -> None:
    """Load a ``people``-person demo (then ``extra_steps`` of the CLI), log in as ``role`` on the North team, and
    time each of ``endpoints`` (label, path with ``{pid}``) for every person ``pick`` chooses, ``repeats`` times."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {
            **os.environ,
            "IDIOGRAPH_DATABASE_URL": url,
            "IDIOGRAPH_SECRET_KEY": SECRET,
            "IDIOGRAPH_AUDIT_KEY": AUDIT_KEY,
        }
        cli = [sys.executable, "-m", "idiograph.cli"]
        for step in (["db", "upgrade"], ["demo", "--people", str(people), "--seed", "3"], *extra_steps):
            subprocess.run([*cli, *step], env=env, check=True, capture_output=True)
        settings = Settings(database_url=url, secret_key=SECRET, audit_key=AUDIT_KEY, audit_head_file=None)
        database = Database(make_engine(url), audit_key=AUDIT_KEY)
        with database.writer() as s:
            user = create_user(
                s, Principal.system("bench"), f"bench.{role}", role, "a-long-benchmark-pass-1", None, [TEAM]
            )
            token = sessions.issue(s, user.id, "api", 8 * 3600)
            north = s.scalar(select(Team.id).where(Team.name == TEAM))
            chosen = list(pick(s, north))
        auth = {"Authorization": f"Bearer {token}"}
        timings: dict[str, list[float]] = {label: [] for label, _ in endpoints}
        with TestClient(create_app(settings)) as client:
            for _ in range(repeats):
                for pid in chosen:
                    for label, path in endpoints:
                        t0 = time.perf_counter()
                        r = client.get(path.format(pid=pid), headers=auth)
                        timings[label].append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, r.text
    table = Table(title=f"{title}, {people:,}-person demo ({len(chosen)} people x {repeats})")
    for col in ("request", "median ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "request" else "right")
    for label, _ in endpoints:
        values = sorted(timings[label])
        table.add_row(label, f"{statistics.median(values):.1f}", f"{values[int(0.99 * (len(values) - 1))]:.1f}")
    Console().print(table)
