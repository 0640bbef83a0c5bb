"""Ranking therapists for one referral: ``GET /api/v1/people/{id}/matches`` on a demo service (target < 50 ms).

    .venv/bin/python benchmarks/matching_rank.py                  # 2,000 people, SQLite
    .venv/bin/python benchmarks/matching_rank.py --people 1000 --repeats 5

A fresh SQLite database gets the demo service (``idiograph demo``: its therapists, their strengths and a waiting
list). Then a senior clinician on the North team asks for the suitable therapists of up to 100 people with an open
episode there, ``--repeats`` times each, in-process (FastAPI's TestClient: server time, no network). Beside it, the
obvious alternative: the same person's record summary (``GET /api/v1/people/{id}``), which every page pays for.
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
from idiograph.patients.model import Episode
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
        url = f"sqlite:///{Path(tmp) / 'matching.db'}"
        env = {
            **os.environ,
            "IDIOGRAPH_DATABASE_URL": url,
            "IDIOGRAPH_SECRET_KEY": SECRET,
            "IDIOGRAPH_AUDIT_KEY": AUDIT_KEY,
        }
        cli = [sys.executable, "-m", "idiograph.cli"]
        for step in (["db", "upgrade"], ["demo", "--people", str(args.people), "--seed", "3"]):
            subprocess.run(cli + step, env=env, check=True, capture_output=True)
        settings = Settings(database_url=url, secret_key=SECRET, audit_key=AUDIT_KEY, audit_head_file=None)
        database = Database(make_engine(url), audit_key=AUDIT_KEY)
        with database.writer() as s:
            user = create_user(
                s, Principal.system("bench"), "bench.senior", "senior_clinician", "a-long-benchmark-pass-1", None,
                ["North Talking Therapies"],
            )  # fmt: skip
            token = sessions.issue(s, user.id, "api", 8 * 3600)
            north = s.scalar(select(Team.id).where(Team.name == "North Talking Therapies"))
            people = s.scalars(
                select(Episode.person_id).where(Episode.team_id == north, Episode.discharge_date.is_(None)).limit(100)
            ).all()
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings)) as client:
            timings: dict[str, list[float]] = {"matches": [], "record": []}
            for _ in range(args.repeats):
                for pid in people:
                    for name, path in (
                        ("matches", f"/api/v1/people/{pid}/matches"),
                        ("record", f"/api/v1/people/{pid}"),
                    ):
                        t0 = time.perf_counter()
                        r = client.get(path, headers=auth)
                        timings[name].append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, r.text
    table = Table(
        title=f"One referral's ranked therapists, {args.people:,}-person demo ({len(people)} people x {args.repeats})"
    )
    for col in ("request", "median ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "request" else "right")
    for name, label in (
        ("matches", "GET /api/v1/people/{id}/matches"),
        ("record", "GET /api/v1/people/{id} (record summary)"),
    ):
        values = sorted(timings[name])
        table.add_row(label, f"{statistics.median(values):.1f}", f"{values[int(0.99 * (len(values) - 1))]:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
