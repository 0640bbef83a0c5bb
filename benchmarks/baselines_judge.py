"""Headline figure: storing one new result as it arrives, the whole audited write - store, the safety rule, the
statistical rules (the baseline judged against the person's own), audit chain, commit - p50/p95/p99.

Run as the server runs it: one writer unit of work per result, the WAL checkpointed in the background every 2 s.
SQLite is shipped with ``synchronous=FULL`` (every commit reaches the disk); a row with ``synchronous=NORMAL``
(not shipped: the last commits can be lost on power failure) shows how much of the tail is the disk's fsync.
The judging step is also compared with the obvious alternative: re-reading the person's whole history of the
measure and recomputing the interval, instead of updating the stored running sums.

    .venv/bin/python benchmarks/baselines_judge.py [--people 200] [--history 30] [--results 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from targets import databases  # benchmarks/targets.py, beside this script

from idiograph.baselines import service as baseline_service
from idiograph.baselines.model import BaselineState
from idiograph.baselines.normal_normal import PersonSums, interval, interval_from_sums
from idiograph.db import Database, checkpoint, make_engine
from idiograph.migrate import upgrade
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.patients.model import Person
from idiograph.pipeline import flow
from idiograph.security.principal import Principal

HB = ("http://loinc.org", "718-7")
T0 = datetime(2020, 1, 1, 9, tzinfo=UTC)
AUDIT_KEY = "benchmark-audit-key-0123456789abcdef"


def _row(pid: uuid.UUID, value: float, when: datetime, key: str) -> NewObservation:
    return NewObservation(pid, HB[0], HB[1], round(value, 1), "g/L", when, "bench", key)


def run(url: str, people: int, history: int, results: int, synchronous: str | None) -> dict[str, list[float]]:
    engine = make_engine(url, synchronous or "FULL")

    upgrade(engine)
    db = Database(engine, audit_key=AUDIT_KEY)
    actor = Principal.system("bench").actor
    rng = np.random.default_rng(7)
    ids = [uuid.uuid4() for _ in range(people)]
    setpoints = dict(zip(ids, rng.normal(138, 10, people), strict=True))
    with db.writer() as s:
        s.add_all(Person(id=i, given_name="B", family_name=f"{k}", sex="female") for k, i in enumerate(ids))
        s.flush()
        rows = [
            _row(i, setpoints[i] + rng.normal(0, 3), T0 + timedelta(days=30 * k), f"{i}/h{k}")
            for i in ids
            for k in range(history)
        ]
        flow.record(s, actor, CodeBook(s), rows)
        baseline_service.fit_priors(s, actor)
    out: dict[str, list[float]] = {
        "store": [],
        "quiet": [],
        "alerting": [],
        "hook": [],
        "without": [],
        "incremental": [],
        "recompute": [],
    }

    def timed_rule(session, rows):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        found = baseline_service.judge_new(session, rows)
        out["hook"].append(time.perf_counter() - t)
        return found

    plain = flow.RULES
    timed = tuple(flow.Rule(r.name, timed_rule, r.applies) if r.run is baseline_service.judge_new else r for r in plain)
    without = tuple(r for r in plain if r.run is not baseline_service.judge_new)
    stop = threading.Event()

    def checkpointer() -> None:  # what the server's lifespan does
        while not stop.wait(2):
            checkpoint(engine)

    if os.environ.get("BENCH_CHECKPOINTER", "1") == "1":
        threading.Thread(target=checkpointer, daemon=True).start()
    pick = random.Random(3)
    count = {i: history for i in ids}

    def write(pid: uuid.UUID, value: float, rules: tuple[flow.Rule, ...], into: str) -> None:
        k = count[pid]
        count[pid] += 1
        flow.RULES = rules
        t = time.perf_counter()
        with db.writer() as w:
            flow.record(w, actor, CodeBook(w), [_row(pid, value, T0 + timedelta(days=30 * k), f"{pid}/n{k}")])
        out[into].append(time.perf_counter() - t)
        flow.RULES = plain

    try:
        for n in range(results):
            pid = pick.choice(ids)
            departs = n % 50 == 0  # one in 50 departs: an alert
            value = setpoints[pid] + (25.0 if departs else rng.normal(0, 3))
            write(pid, value, timed, "store")
            out["alerting" if departs else "quiet"].append(out["store"][-1])
            write(pid, value, without, "without")  # the same write with the baseline rule switched off
            with db.reader() as s:  # the judging step alone, two ways
                prior = baseline_service.Priors(s, [HB]).get(HB)
                assert prior is not None
                t = time.perf_counter()
                st = s.scalar(select(BaselineState).where(BaselineState.person_id == pid, BaselineState.code == HB[1]))
                assert st is not None
                interval_from_sums(prior, PersonSums(st.n, st.total, st.total_sq), 0.99)
                out["incremental"].append(time.perf_counter() - t)
                t = time.perf_counter()
                values = s.scalars(
                    select(Observation.value).where(Observation.person_id == pid, Observation.code == HB[1])
                ).all()
                interval(prior, list(values), 0.99)
                out["recompute"].append(time.perf_counter() - t)
    finally:
        stop.set()
        flow.RULES = plain
        engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--history", type=int, default=30)
    ap.add_argument("--results", type=int, default=2000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    console = Console(width=200)
    table = Table(
        title=f"Storing one new result ({args.people} people, {args.history} earlier results each, "
        f"{args.results} new results one at a time)"
    )
    for col in ("backend", "what", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col in ("backend", "what") else "right")
    names = {
        "store": "the whole audited write: store, safety, statistical rules, audit, commit (headline)",
        "quiet": "  the writes that raise nothing",
        "alerting": "  the writes that raise a deviation alert (1 in 50)",
        "hook": "of which the baseline rule (read state, judge, write state)",
        "without": "the same write without the baseline rule",
        "incremental": "judging step: running sums (idiograph)",
        "recompute": "judging step: re-read history and recompute",
    }
    with databases(args.postgres, console) as targets:
        runs = [(b, u, None) for b, u in targets]
        runs.insert(1, ("SQLite, IDIOGRAPH_SQLITE_SYNCHRONOUS=normal", targets[0][1] + "-normal", "NORMAL"))
        for backend, url, sync in runs:
            with console.status(f"{backend}: {args.results} results"):
                res = run(url, args.people, args.history, args.results, sync)
            for what, xs in res.items():
                if sync and what not in ("store", "quiet", "alerting"):
                    continue
                ms = np.asarray(xs) * 1000
                p50, p95, p99 = np.percentile(ms, [50, 95, 99])
                table.add_row(backend, names[what], f"{p50:.2f}", f"{p95:.2f}", f"{p99:.2f}", f"{ms.max():.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
