"""One person's treatment options from the API: ``GET /api/v1/people/{id}/options`` on a demo service.

    .venv/bin/python benchmarks/selection_options_api.py                  # 2,000 people, SQLite
    .venv/bin/python benchmarks/selection_options_api.py --people 1000 --repeats 5

A fresh SQLite database gets the demo service (``idiograph demo``) and the service's options model
(``idiograph selection fit``). Then a clinician on the North team asks for the options of each of up to 100 of their
people, ``--repeats`` times each, in-process (FastAPI's TestClient: server time, no network). Beside it, the obvious
alternative: the same person's record summary (``GET /api/v1/people/{id}``), which every page already pays for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import sessions
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.service import create_user

SECRET = "benchmark-secret-key-of-enough-length-0123456789"
AUDIT_KEY = "benchmark-audit-key-of-enough-length-0123456789"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'options.db'}"
        env = {
            **os.environ,
            "IDIOGRAPH_DATABASE_URL": url,
            "IDIOGRAPH_SECRET_KEY": SECRET,
            "IDIOGRAPH_AUDIT_KEY": AUDIT_KEY,
        }
        cli = [sys.executable, "-m", "idiograph.cli"]
        for step in (["db", "upgrade"], ["demo", "--people", str(args.people), "--seed", "3"], ["selection", "fit"]):
            subprocess.run(cli + step, env=env, check=True, capture_output=True)
        settings = Settings(database_url=url, secret_key=SECRET, audit_key=AUDIT_KEY, audit_head_file=None)
        database = Database(make_engine(url), audit_key=AUDIT_KEY)
        with database.writer() as s:
            user = create_user(
                s, Principal.system("bench"), "bench.clin", "clinician", "a-long-benchmark-pass-1", None,
                ["North Talking Therapies"],
            )  # fmt: skip
            token = sessions.issue(s, user.id, "api", 8 * 3600)
            north = s.scalar(select(Team.id).where(Team.name == "North Talking Therapies"))
            people = s.scalars(
                select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == north).limit(100)
            ).all()
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings)) as client:
            timings: dict[str, list[float]] = {"options": [], "record": []}
            for _ in range(args.repeats):
                for pid in people:
                    for name, path in (
                        ("options", f"/api/v1/people/{pid}/options"),
                        ("record", f"/api/v1/people/{pid}"),
                    ):
                        t0 = time.perf_counter()
                        r = client.get(path, headers=auth)
                        timings[name].append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, r.text
    table = Table(
        title=f"One person's options on a {args.people:,}-person demo service ({len(people)} people x {args.repeats})"
    )
    for col in ("request", "median ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "request" else "right")
    for name, label in (
        ("options", "GET /api/v1/people/{id}/options"),
        ("record", "GET /api/v1/people/{id} (record summary)"),
    ):
        values = sorted(timings[name])
        table.add_row(label, f"{statistics.median(values):.1f}", f"{values[int(0.99 * (len(values) - 1))]:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
