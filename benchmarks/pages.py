"""Page timings on the demo: Today, the caseload (first page, a search, a later page), a person's record and their
care page, for a 2,000-person service on SQLite and PostgreSQL. Target: p95 under 300 ms of server time.

    .venv/bin/python benchmarks/pages.py                        # 2,000 people, both backends
    .venv/bin/python benchmarks/pages.py --people 500 --backend sqlite --repeats 10

Each backend gets a fresh database with the demo service (seed 7), then the pages are requested in-process
(FastAPI's TestClient: server time, no network) by the demo's clinician (one team) and the senior clinician (all
three teams: the largest caseload), in a shuffled order, after one warm-up round. The obvious alternative beside
the paged caseload: the whole caseload on one page (500 rows, the old way).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, select, text

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.migrate import upgrade
from idiograph.patients.model import CaseloadAssignment, Person
from idiograph.security.model import Team
from idiograph.synth import params as synth_params
from idiograph.synth.load import DEMO_PASSWORD, load_demo

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "idiograph_pages"
AUDIT_KEY = "pages-benchmark-audit-key-not-for-production-0001"
SECRET = "pages-benchmark-secret-key-not-for-production-00001"
TARGET_MS = 300.0
console = Console(width=160)


def _database(backend: str, people: int, seed: int, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'pages.db'}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    with Database(engine, audit_key=AUDIT_KEY).session() as s:
        load_demo(s, people, seed, synth_params.load(), date.today())
    console.print(f"{backend}: demo of {people} people loaded in {time.perf_counter() - t:.0f} s")
    engine.dispose()
    return url


def _sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1), "next": "/"}
    )
    assert r.status_code in (200, 303), r.text[:300]


def _people(url: str, team: str, n: int, rng: random.Random) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as c:
        ids = list(
            c.scalars(
                select(Person.id)
                .join(CaseloadAssignment, CaseloadAssignment.person_id == Person.id)
                .join(Team, Team.id == CaseloadAssignment.team_id)
                .where(Team.name == team)
                .order_by(Person.id)
            )
        )
    engine.dispose()
    return [str(i) for i in rng.sample(ids, min(n, len(ids)))]


def run(backend: str, people: int, repeats: int, seed: int) -> list[tuple[str, str, str, list[float]]]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = _database(backend, people, 7, Path(tmp))
        settings = Settings(database_url=url, secret_key=SECRET, audit_key=AUDIT_KEY, audit_head_file=None)
        app = create_app(settings)
        out = []
        with TestClient(app) as client:
            for user, team in (("clin.north", "North Talking Therapies"), ("senior", "Community Mental Health Team")):
                _sign_in(client, user)
                persons = _people(url, team, repeats, rng)
                pages = {
                    "Today": ["/today"],
                    "Caseload, first page": ["/caseload"],
                    "Caseload, a search": ["/caseload?q=smith"],
                    "Caseload, page 5": ["/caseload?offset=200"],
                    "Caseload, 500 on one page (old way)": ["/api/v1/people?limit=500&sort=name"],
                    "Person's record": [f"/people/{p}" for p in persons],
                    "Person's care page": [f"/people/{p}/care" for p in persons],
                    "Governance queue": ["/governance"],
                }
                for paths in pages.values():  # warm-up
                    client.get(paths[0])
                jobs = [(name, paths[i % len(paths)]) for name, paths in pages.items() for i in range(repeats)]
                rng.shuffle(jobs)
                times: dict[str, list[float]] = {name: [] for name in pages}
                with Progress(console=console, transient=True) as bar:
                    task = bar.add_task(f"{backend} {user}", total=len(jobs))
                    for name, path in jobs:
                        t = time.perf_counter()
                        r = client.get(path)
                        times[name].append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200, (path, r.status_code, r.text[:300])
                        bar.advance(task)
                for name, ms in times.items():
                    out.append((backend, user, name, ms))
        return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [row for b in backends for row in run(b, args.people, args.repeats, args.seed)]
    table = Table(title=f"Page server time, {args.people}-person demo, {args.repeats} requests each (ms)")
    for col in ("backend", "user", "page", "median", "p95", "max", f"p95 < {TARGET_MS:.0f}"):
        table.add_column(col, justify="left" if col in ("backend", "user", "page") else "right")
    for backend, user, name, ms in rows:
        ok = p95(ms) < TARGET_MS
        table.add_row(
            backend,
            user,
            name,
            f"{statistics.median(ms):.0f}",
            f"{p95(ms):.0f}",
            f"{max(ms):.0f}",
            "yes" if ok else "[bold red]no[/]",
        )
    console.print(table)


if __name__ == "__main__":
    main()
