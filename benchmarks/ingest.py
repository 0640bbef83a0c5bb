"""Headline figure: observations stored per second through the service layer (validated, upserted by
source id, audited per person) against the obvious alternative (one ORM object and commit per row).

    .venv/bin/python benchmarks/ingest.py [--people 1000] [--per-person 100] [--postgres URL]
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from rich.console import Console
from rich.table import Table
from targets import databases  # benchmarks/targets.py, beside this script

from idiograph.db import Database, make_engine, transaction
from idiograph.migrate import upgrade
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.patients.model import Person
from idiograph.pipeline import record
from idiograph.security.principal import Principal


def rows(people: list[uuid.UUID], per_person: int, seed: int) -> list[NewObservation]:
    rng = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, 9, tzinfo=UTC)
    out = []
    for pid in people:
        vals = rng.integers(0, 28, per_person)
        for k in range(per_person):
            out.append(
                NewObservation(
                    pid,
                    "http://loinc.org",
                    "44261-6",
                    float(vals[k]),
                    "{score}",
                    t0 + timedelta(days=7 * k),
                    "bench",
                    f"{pid}/{k}",
                )
            )
    return out


def run(url: str, n_people: int, per_person: int) -> list[tuple[str, int, float, float]]:
    engine = make_engine(url)
    upgrade(engine)
    maker = Database(engine, audit_key="benchmark-audit-key-0123456789abcdef").session
    system = Principal.system("bench")
    results = []
    with maker() as s:
        ids = [uuid.uuid4() for _ in range(n_people)]
        with transaction(s):
            s.add_all([Person(id=i, given_name="B", family_name=f"P{n}") for n, i in enumerate(ids)])
        data = rows(ids, per_person, 1)
        t = time.perf_counter()
        with transaction(s):
            record(s, system.actor, CodeBook(s), data)
        results.append(("service layer: bulk upsert", len(data), time.perf_counter() - t, 0.0))
        t = time.perf_counter()
        with transaction(s):
            r = record(s, system.actor, CodeBook(s), data).ingest
        assert r.unchanged == len(data)
        results.append(("service layer: re-import (no-op)", len(data), time.perf_counter() - t, 0.0))
        sample = data[: min(len(data), 5000)]
        t = time.perf_counter()
        for o in sample:
            s.add(
                Observation(
                    person_id=o.person_id,
                    system=o.system,
                    code=o.code,
                    value=o.value,
                    unit="{score}",
                    effective_at=o.time,
                    source="naive",
                    source_id=o.source_id,
                    recorded_by="bench",
                )
            )
            s.commit()
        results.append(("ORM row + commit each", len(sample), time.perf_counter() - t, 0.0))
    engine.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--per-person", type=int, default=100)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    console = Console(width=150)
    table = Table(title=f"Observation ingestion ({args.people} people x {args.per_person} results)")
    for col in ("backend", "path", "rows", "seconds", "rows/s", "peak RSS MiB"):
        table.add_column(col, justify="right" if col not in ("backend", "path") else "left")
    with databases(args.postgres, console) as targets:
        for backend, url in targets:
            for path, n, secs, _ in run(url, args.people, args.per_person):
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                table.add_row(backend, path, f"{n:,}", f"{secs:.2f}", f"{n / secs:,.0f}", f"{rss:.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
