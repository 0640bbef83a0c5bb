"""FHIR search paging at depth: a 100,000-observation search costs the same per page at page 1 and page 1,000.

    .venv/bin/python benchmarks/fhir_paging.py                     # both backends, 100,000 observations
    .venv/bin/python benchmarks/fhir_paging.py --backend sqlite --observations 20000

One person with a heart-rate stream (a reading every 5 minutes, some sharing a time, as device uploads do) on a
fresh database per backend. ``GET /fhir/R4/Observation?patient=..&_count=100`` is requested in-process (FastAPI's
TestClient: server time, no network) at pages 1, 10, 100 and 1,000, each reached by following ``next`` links and
then timed ``--repeats`` times. Beside it, the obvious alternative: the same page fetched with ``LIMIT 100 OFFSET
n`` (rows only, no FHIR), whose cost grows with the page number, and the keyset query alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, select, text

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, bulk_insert, make_engine, utcnow
from idiograph.migrate import upgrade
from idiograph.observations.model import Observation
from idiograph.patients.model import CaseloadAssignment, Person
from idiograph.security import sessions
from idiograph.security.audit import ensure_head
from idiograph.security.principal import Principal
from idiograph.security.service import create_user
from idiograph.security.teams import team_by_name

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "idiograph_fhir_paging"
AUDIT_KEY = "paging-benchmark-audit-key-not-for-production-0001"
SECRET = "paging-benchmark-secret-key-not-for-production-00001"
PAGES = (1, 10, 100, 1000)
COUNT = 100
console = Console(width=140)


def _database(backend: str, n: int, tmp: Path) -> tuple[str, str, str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'paging.db'}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    engine = make_engine(url)
    upgrade(engine)
    with Database(engine, audit_key=AUDIT_KEY).session() as s:
        ensure_head(s)
        user = create_user(s, Principal.system("bench"), "clin", "clinician", "a-long-benchmark-pass-1", None, ["T"])
        token = sessions.issue(s, user.id, "api", 8 * 3600)
        person = Person(given_name="Ada", family_name="Brook", sex="female")
        s.add(person)
        s.flush()
        s.add(CaseloadAssignment(person_id=person.id, team_id=team_by_name(s, "T").id))
        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        rows = []
        now = utcnow()
        for i in range(n):
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "person_id": person.id,
                    "system": "http://loinc.org",
                    "code": "8867-4",
                    "value": 60.0 + (i * 7) % 40,
                    "unit": "/min",
                    "effective_at": t0 + timedelta(minutes=5 * (i - i % 3 // 2)),  # some readings share a time
                    "source": "device",
                    "source_id": f"hr{i}",
                    "episode_id": None,
                    "group_id": None,
                    "recorded_at": now,
                    "recorded_by": "bench",
                }
            )
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"{backend}: {n:,} observations", total=n)
            for k in range(0, n, 10_000):
                bulk_insert(s, Observation.__table__, rows[k : k + 10_000])
                bar.advance(task, len(rows[k : k + 10_000]))
        s.commit()
        if backend == "postgresql":
            s.execute(text("ANALYZE"))
            s.commit()
        pid = str(person.id)
    engine.dispose()
    return url, token, pid


def _ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(backend: str, n: int, repeats: int) -> list[tuple[str, int, float, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        url, token, pid = _database(backend, n, Path(tmp))
        app = create_app(Settings(database_url=url, secret_key=SECRET, audit_key=AUDIT_KEY, audit_head_file=None))
        auth = {"Authorization": f"Bearer {token}"}
        out = []
        with TestClient(app) as client:
            pages = [p for p in PAGES if (p - 1) * COUNT < n]
            urls: dict[int, str] = {}
            nxt: str | None = f"/fhir/R4/Observation?patient={pid}&_count={COUNT}"
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"{backend}: following next links", total=max(pages))
                for page in range(1, max(pages) + 1):
                    assert nxt is not None, f"no page {page}"
                    if page in pages:
                        urls[page] = nxt
                    body = client.get(nxt, headers=auth).json()
                    link = next((x["url"] for x in body["link"] if x["relation"] == "next"), None)
                    nxt = None if link is None else urlsplit(link).path + "?" + urlsplit(link).query
                    bar.advance(task)
            engine = make_engine(url)
            obs = Observation
            base = select(obs.id, obs.effective_at).where(obs.person_id == uuid.UUID(pid))
            order = (obs.effective_at, obs.id)
            with engine.connect() as c:
                for page in pages:
                    http = _ms(lambda u=urls[page]: client.get(u, headers=auth).raise_for_status(), repeats)
                    offset_q = base.order_by(*order).limit(COUNT).offset((page - 1) * COUNT)
                    off = _ms(lambda q=offset_q: c.execute(q).all(), repeats)
                    last = c.execute(offset_q).all()[0]  # the key the keyset query starts after
                    keyset_q = (
                        base.where(obs.effective_at >= last.effective_at)
                        .where((obs.effective_at > last.effective_at) | (obs.id > last.id))
                        .order_by(*order)
                        .limit(COUNT)
                    )
                    keys = _ms(lambda q=keyset_q: c.execute(q).all(), repeats)
                    out.append((backend, page, http, keys, off))
            engine.dispose()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--observations", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [r for b in backends for r in run(b, args.observations, args.repeats)]
    table = Table(title=f"Observation search, {args.observations:,} results, {COUNT} a page: median ms")
    for col in ("backend", "page", "FHIR page (keyset, HTTP)", "keyset query", "OFFSET query (alternative)"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for backend, page, http, keys, off in rows:
        table.add_row(backend, f"{page:,}", f"{http:.1f}", f"{keys:.2f}", f"{off:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
