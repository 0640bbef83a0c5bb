"""Load: many clinicians at once against a real server on loopback, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/load.py                       # 200 clients, 60 s, both backends, 1 and 2 workers
    .venv/bin/python benchmarks/load.py --clients 50 --seconds 10 --backend sqlite

Each backend gets a fresh database with the demo service (``idiograph db upgrade`` and ``idiograph demo``), then
``idiograph serve`` in its own process. Every client signs in as one of the demo's clinical staff and, until
the time is up, repeats one of: the caseload page, the caseload API, a person's page, one new lab result
(``POST /api/v1/observations``), a FHIR search of a person's observations, a self-report (link created, form
opened, answers submitted) and, now and then, signing in again; with a think time between actions. A 503 with
``Retry-After`` is the server shedding load on purpose: it is counted apart, and the client waits as told.

Afterwards the rows are counted: every write the server acknowledged must be stored once (observations and
questionnaire responses before and after), none that it refused, and the server must answer at once when the
load stops (no hang). The obvious alternative beside it: one server process against two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from rich.console import Console
from rich.table import Table

from idiograph.instruments.definitions import instruments
from idiograph.synth.load import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("idiograph")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "idiograph_load"
AUDIT_KEY = "load-benchmark-audit-key-not-for-production-0001"
SECRET = "load-benchmark-secret-key-not-for-production-00001"
STAFF = ("clin.north", "cc.north", "clin.south", "cmht.cc", "senior")
PASSWORD = DEMO_PASSWORD
PHQ9_ITEMS = tuple(i.code for i in instruments()["phq-9"].items)
READS = ("caseload page", "caseload API", "person page", "FHIR search")
WRITES = ("observation POST", "self-report submit")
KEEPALIVE_S = 3.0  # below the server's keep-alive timeout (uvicorn: 5 s)
TIMEOUT = 30.0  # a request this slow counts as an error (the hang this guards against never answered at all)
console = Console(width=200)  # the table is wide: never fold it to a pipe's 80 columns


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    shed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # 503 with Retry-After
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stored_observations: int = 0  # acknowledged by the server
    stored_responses: int = 0
    unknown_writes: int = 0  # a write whose answer never came (timeout): stored or not, the client cannot tell

    def note(self, kind: str, started: float, r: httpx.Response | None, error: str | None = None) -> bool:
        took = time.perf_counter() - started
        if r is not None and r.status_code == 503 and "retry-after" in r.headers:
            self.shed[kind] += 1
            return False
        if error is not None or r is None or r.status_code >= 400:
            self.errors[kind].append(error or f"{r.status_code if r is not None else '?'}")
            return False
        self.latencies[kind].append(took)
        return True


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "IDIOGRAPH_DATABASE_URL": url,
        "IDIOGRAPH_AUDIT_KEY": AUDIT_KEY,
        "IDIOGRAPH_SECRET_KEY": SECRET,
        "IDIOGRAPH_RULE_RETRY_SECONDS": "300",
    }


def prepare(backend: str, people: int, seed: int, folder: Path) -> str:
    """A fresh database with the demo service on ``backend``; returns its URL."""
    if backend == "sqlite":
        db = folder / "load.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    else:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    env = env_for(url)
    subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [str(BIN), "demo", "--people", str(people), "--seed", str(seed)], env=env, check=True, capture_output=True
    )
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, workers: int, log: Path):  # type: ignore[no-untyped-def]
    """``idiograph serve`` in its own process group, until the block ends."""
    port = free_port()
    env = env_for(url) | {"IDIOGRAPH_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: see {log}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        out = {
            t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
            for t in ("observation", "questionnaire_response", "person")
        }
        out["load results"] = int(
            c.execute(text("SELECT count(*) FROM observation WHERE source = 'load-benchmark'")).scalar() or 0
        )
        out["distinct load results"] = int(
            c.execute(
                text("SELECT count(DISTINCT source_id) FROM observation WHERE source = 'load-benchmark'")
            ).scalar()
            or 0
        )
    engine.dispose()
    return out


async def _request(
    client: httpx.AsyncClient, tally: Tally, kind: str, method: str, path: str, **kw: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        r = await client.request(method, path, **kw)
    except httpx.TimeoutException:
        tally.note(kind, started, None, "timeout")
        if kind in WRITES:
            tally.unknown_writes += 1
        return None
    except httpx.TransportError as exc:
        tally.note(kind, started, None, type(exc).__name__)
        return None
    ok = tally.note(kind, started, r)
    if r.status_code == 503 and "retry-after" in r.headers:
        await asyncio.sleep(min(float(r.headers["retry-after"]), 2.0))
    return r if ok else None


async def sign_in(client: httpx.AsyncClient, tally: Tally, username: str) -> str | None:
    r = await _request(
        client, tally, "sign-in", "POST", "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    return str(r.json()["access_token"]) if r is not None else None


async def clinician(base: str, n: int, until: float, think: float, tally: Tally, seed: int, start: float = 0) -> None:
    rng = random.Random(seed * 1000 + n)
    await asyncio.sleep(start)  # clients arrive over the ramp (0: all at the same moment, the 9 a.m. storm)
    # a browser never sends on a kept-alive connection the server may be closing: expire ours before uvicorn's
    # 5 s keep-alive timeout (found: with a 5 s think time, a request on a connection closing under it was a
    # ReadError, though the server had done nothing wrong)
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=KEEPALIVE_S)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits) as client:
        username = STAFF[n % len(STAFF)]
        token = None
        while token is None and time.monotonic() < until:
            token = await sign_in(client, tally, username)
        if token is None:
            return
        auth = {"Authorization": f"Bearer {token}"}
        people: list[str] = []
        while not people and time.monotonic() < until:
            r = await _request(client, tally, "caseload API", "GET", "/api/v1/people?limit=500", headers=auth)
            people = [p["id"] for p in r.json()["items"]] if r is not None else []
        await asyncio.sleep(rng.uniform(0, think))  # the team does not all click at the same millisecond
        while time.monotonic() < until:
            pid = rng.choice(people) if people else None
            roll = rng.random()
            if roll < 0.15:
                await _request(client, tally, "caseload page", "GET", "/caseload", headers=auth)
            elif roll < 0.25:
                await _request(client, tally, "caseload API", "GET", "/api/v1/people", headers=auth)
            elif roll < 0.50 and pid:
                await _request(client, tally, "person page", "GET", f"/people/{pid}", headers=auth)
            elif roll < 0.70 and pid:
                row = {
                    "person_id": pid,
                    "code": "718-7",
                    "value": round(rng.uniform(120, 160), 1),
                    "unit": "g/L",
                    "time": (datetime.now(UTC) - timedelta(seconds=rng.uniform(1, 3600))).isoformat(),
                    "source": "load-benchmark",
                    "source_id": str(uuid.UUID(int=rng.getrandbits(128))),
                }
                r = await _request(
                    client,
                    tally,
                    "observation POST",
                    "POST",
                    "/api/v1/observations",
                    json={"observations": [row]},
                    headers=auth,
                )
                if r is not None:
                    tally.stored_observations += int(r.json()["created"])
            elif roll < 0.85 and pid:
                await _request(
                    client,
                    tally,
                    "FHIR search",
                    "GET",
                    "/fhir/R4/Observation",
                    params={"patient": pid, "_count": "50"},
                    headers=auth,
                )
            elif roll < 0.95 and pid:
                await self_report(client, tally, auth, pid, rng)
            else:
                new = await sign_in(client, tally, username)
                if new is not None:
                    auth = {"Authorization": f"Bearer {new}"}
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def self_report(
    client: httpx.AsyncClient, tally: Tally, auth: dict[str, str], pid: str, rng: random.Random
) -> None:
    link = await _request(
        client,
        tally,
        "self-report link",
        "POST",
        f"/api/v1/people/{pid}/self-report-links",
        json={"instrument": "phq-9", "valid_hours": 24},
        headers=auth,
    )
    if link is None:
        return
    path = re.sub(r"^https?://[^/]+", "", link.json()["url"])
    if await _request(client, tally, "self-report form", "GET", path) is None:
        return
    answers = {code: str(rng.randint(0, 2)) for code in PHQ9_ITEMS[:-1]} | {PHQ9_ITEMS[-1]: "0"}
    r = await _request(client, tally, "self-report submit", "POST", path, data=answers)
    if r is not None:
        tally.stored_responses += 1
        tally.stored_observations += len(PHQ9_ITEMS) + 1  # the items and the scored total


async def drive(base: str, clients: int, seconds: float, think: float, seed: int, ramp: float = 0) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    await asyncio.gather(*(clinician(base, n, until, think, tally, seed, ramp * n / clients) for n in range(clients)))
    return tally


def after_load(base: str) -> float:
    """Seconds until the server answers a signed-in read once the load has stopped (a hang never answers)."""
    started = time.perf_counter()
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "senior", "password": PASSWORD}, timeout=TIMEOUT)
    token = r.json()["access_token"]
    httpx.get(f"{base}/api/v1/people", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    return time.perf_counter() - started


@dataclass
class Outcome:
    backend: str
    workers: int
    tally: Tally
    before: dict[str, int]
    after: dict[str, int]
    recovery_s: float
    seconds: float

    @property
    def lost_or_duplicated(self) -> int:
        """Acknowledged writes not stored once, beyond writes whose answer never came."""
        got = self.after["observation"] - self.before["observation"]
        gap = got - self.tally.stored_observations
        dup = self.after["load results"] - self.after["distinct load results"]
        responses = self.after["questionnaire_response"] - self.before["questionnaire_response"]
        return (
            (0 if 0 <= gap <= 10 * self.tally.unknown_writes else abs(gap))
            + dup
            + abs(responses - self.tally.stored_responses) * (self.tally.unknown_writes == 0)
        )

    @property
    def read_latencies(self) -> list[float]:
        return [x for k in READS for x in self.tally.latencies.get(k, [])]

    @property
    def errors(self) -> int:
        return sum(len(v) for v in self.tally.errors.values())


def run(
    backend: str,
    workers: int,
    clients: int,
    seconds: float,
    think: float,
    people: int,
    seed: int,
    folder: Path,
    ramp: float = 0,
) -> Outcome:
    url = prepare(backend, people, seed, folder)
    with server(url, workers, folder / f"server-{backend}-{workers}.log") as base:
        before = counts(url)
        started = time.monotonic()
        tally = asyncio.run(drive(base, clients, seconds, think, seed, ramp))
        took = time.monotonic() - started
        recovery = after_load(base)
        after = counts(url)
    return Outcome(backend, workers, tally, before, after, recovery, took)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return 1000 * values[k]


def report(outcomes: list[Outcome], clients: int, seconds: float, think: float, ramp: float) -> None:
    kinds = ["sign-in", *READS, "observation POST", "self-report link", "self-report form", "self-report submit"]
    arrive = f"arriving over {ramp:.0f} s" if ramp else "all arriving at once"
    table = Table(
        title=f"{clients} clients ({arrive}) for {seconds:.0f} s, think time {think:.1f} s (ms; 503 = shed on purpose)"
    )
    table.add_column("request")
    for o in outcomes:
        table.add_column(f"{o.backend}, {o.workers} proc\nn / 503 / err", justify="right")
        table.add_column("p50 / p95 / p99", justify="right")
    for kind in kinds:
        row = [kind]
        for o in outcomes:
            lat = o.tally.latencies.get(kind, [])
            row.append(f"{len(lat):,} / {o.tally.shed.get(kind, 0)} / {len(o.tally.errors.get(kind, []))}")
            row.append(f"{pct(lat, 0.5):.0f} / {pct(lat, 0.95):.0f} / {pct(lat, 0.99):.0f}")
        table.add_row(*row)
    row = ["all reads"]
    for o in outcomes:
        lat = o.read_latencies
        row += [f"{len(lat):,}", f"{pct(lat, 0.5):.0f} / {pct(lat, 0.95):.0f} / {pct(lat, 0.99):.0f}"]
    table.add_row(*row, style="bold")
    row = ["requests per second"]
    for o in outcomes:
        n = sum(len(v) for v in o.tally.latencies.values())
        row += [f"{n / o.seconds:.0f}", ""]
    table.add_row(*row)
    row = ["writes acknowledged / stored"]
    for o in outcomes:
        got = o.after["observation"] - o.before["observation"]
        row += [f"{o.tally.stored_observations:,} / {got:,}", f"lost or doubled: {o.lost_or_duplicated}"]
    table.add_row(*row)
    row = ["answers after the load (s)"]
    for o in outcomes:
        row += [f"{o.recovery_s:.2f}", f"unknown writes: {o.tally.unknown_writes}"]
    table.add_row(*row)
    console.print(table)
    for o in outcomes:
        for kind, errs in o.tally.errors.items():
            if errs:
                console.print(f"[red]{o.backend}/{o.workers}: {kind}: {len(errs)} errors, e.g. {errs[:5]}[/red]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between a client's actions")
    ap.add_argument(
        "--ramp", type=float, default=0, help="seconds over which the clients arrive (0: all at once, the default)"
    )
    ap.add_argument("--people", type=int, default=500, help="people in the demo service")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes to compare")
    args = ap.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    folder = Path(tempfile.mkdtemp(prefix="idiograph-load-"))
    outcomes = []
    try:
        for backend in backends:
            for workers in args.workers:
                console.print(f"{backend}, {workers} process(es): preparing {args.people} people, then load ...")
                outcomes.append(
                    run(
                        backend,
                        workers,
                        args.clients,
                        args.seconds,
                        args.think,
                        args.people,
                        args.seed,
                        folder,
                        args.ramp,
                    )
                )
        report(outcomes, args.clients, args.seconds, args.think, args.ramp)
        targets = [o for o in outcomes if o.backend == "postgresql"]
        for o in targets:
            reads = o.read_latencies
            console.print(
                f"PostgreSQL, {o.workers} process(es): reads p95 {pct(reads, 0.95):.0f} ms (target < 500), "
                f"observation POST p95 {pct(o.tally.latencies['observation POST'], 0.95):.0f} ms (target < 200)"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if any(o.errors or o.lost_or_duplicated for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
