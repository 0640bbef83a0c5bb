"""Headline figure: generating a synthetic service to Parquet — people and observations per second and
peak memory — streaming in chunks across processes, against building everything in memory first.

    .venv/bin/python benchmarks/synth_parquet.py [--people 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from idiograph.synth import params as synth_params
from idiograph.synth.chunks import chunks, service_tables, to_tables
from idiograph.synth.generator import generate_person, generate_service
from idiograph.synth.writers import write_all


def streaming(people: int, workers: int, out: Path) -> tuple[float, int]:
    n_obs = 0

    def count(tables: dict[str, pa.Table]) -> None:
        nonlocal n_obs
        n_obs += tables["observations"].num_rows

    t = time.perf_counter()
    write_all(
        out,
        "parquet",
        service_tables(generate_service(synth_params.load(), people, 1)),
        chunks(people, 1, None, 2000, workers),
        "urn:idiograph:synth:1",
        count,
    )
    return time.perf_counter() - t, n_obs


def all_in_memory(people: int, out: Path) -> tuple[float, int]:
    """The obvious alternative: generate every person, build each table once, write once."""
    t = time.perf_counter()
    p = synth_params.load()
    service = generate_service(p, people, 1)
    tables = to_tables([generate_person(p, service, 1, i) for i in range(people)])
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet", compression="zstd")
    return time.perf_counter() - t, tables["observations"].num_rows


def measure(mode: str, people: int, workers: int) -> None:
    """Runs in a fresh process so that peak memory is this run's alone; prints one tab-separated line."""
    with tempfile.TemporaryDirectory() as tmp:
        secs, n_obs = streaming(people, workers, Path(tmp)) if mode == "stream" else all_in_memory(people, Path(tmp))
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*.parquet"))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{secs}\t{n_obs}\t{own}\t{kids}\t{size}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compare-people", type=int, default=20_000)
    ap.add_argument("--measure", nargs=3, metavar=("MODE", "PEOPLE", "WORKERS"))
    args = ap.parse_args()
    if args.measure:
        measure(args.measure[0], int(args.measure[1]), int(args.measure[2]))
        return
    runs = [
        ("streaming, 2 processes", "stream", args.people, args.workers),
        ("streaming, 2 processes", "stream", args.compare_people, args.workers),
        ("streaming, 1 process", "stream", args.compare_people, 1),
        ("all in memory, then write", "memory", args.compare_people, 1),
    ]
    table = Table(title="Synthetic service to Parquet (2 cores, 24 GiB)")
    for col in (
        "path",
        "people",
        "observations",
        "seconds",
        "people/s",
        "observations/s",
        "peak RSS MiB",
        "Parquet MiB",
    ):
        table.add_column(col, justify="left" if col == "path" else "right")
    for label, mode, people, workers in runs:
        line = (
            subprocess.run(
                [sys.executable, __file__, "--measure", mode, str(people), str(workers)],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        secs, n_obs, own, kids, size = (float(x) for x in line.split("\t"))
        table.add_row(
            label,
            f"{people:,}",
            f"{int(n_obs):,}",
            f"{secs:.0f}",
            f"{people / secs:,.0f}",
            f"{n_obs / secs:,.0f}",
            f"{max(own, kids):,.0f}",
            f"{size / 2**20:,.0f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
