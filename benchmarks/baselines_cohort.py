"""Whole-population baselines: `idiograph baselines compute` (Ibis on DuckDB) against a hand-written DuckDB
SQL query computing the same figures, and the obvious pandas group-by.

Data: a lab-panel-like Parquet file, PEOPLE people x 5 measures, ROWS results in all, person ids as text,
log-normal personal setpoints and results (seeded). Each engine runs in its own process so its peak
memory (max RSS) is its own. Usage:
    python benchmarks/baselines_cohort.py ROWS PEOPLE [--pandas] [--repeat N] [--folder DIR]
e.g. 100000000 800000 (the scale of the setpoint studies); pandas is run only with --pandas.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

CODES = ["718-7", "6690-2", "777-3", "751-8", "59261-8"]  # Hb, WBC, platelets, neutrophils, HbA1c
MEANS = [138.0, 6.5, 250.0, 4.0, 38.0]


def generate(path: Path, rows: int, people: int, seed: int = 2026) -> None:
    """Rows in chunks: each chunk is a block of people with all their results (as a laboratory extract is)."""
    rng = np.random.default_rng(seed)
    per_person = rows / people
    writer = None
    t0 = np.datetime64("2015-01-01T00:00:00", "us")
    chunk_people = max(1, int(2_000_000 / per_person))
    done = 0
    for start in range(0, people, chunk_people):
        ids = np.arange(start, min(people, start + chunk_people))
        target = round(rows * (ids[-1] + 1) / people) - done
        person = rng.choice(ids, size=target)
        code = rng.integers(0, len(CODES), target)
        means = np.asarray(MEANS)[code]
        setpoint = np.exp(np.log(means) + rng.normal(0, 0.15, len(ids)).repeat(1)[person - ids[0]])
        value = np.round(setpoint * np.exp(rng.normal(0, 0.05, target)), 3)
        time_us = t0 + (rng.integers(0, 10 * 365 * 86400, target) * 1_000_000).astype("timedelta64[us]")
        table = pa.table(
            {
                "person_id": pa.array(np.char.add("P", person.astype("U8"))),
                "code": pa.DictionaryArray.from_arrays(pa.array(code.astype(np.int32)), pa.array(CODES)).cast(
                    pa.string()
                ),
                "value": value,
                "time": pa.array(time_us, pa.timestamp("us", "UTC")),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
        done += target
    assert writer is not None
    writer.close()


HAND_SQL = """
COPY (
WITH obs AS (
  SELECT person_id, code, value, time,
         CASE WHEN code IN ({log_codes}) THEN ln(value) ELSE value END AS x
  FROM read_parquet('{src}') WHERE value IS NOT NULL AND NOT (code IN ({log_codes}) AND value <= 0)
), g AS (
  SELECT person_id, code, count(*) AS n, sum(x) AS s, sum(x * x) AS ss,
         arg_max(value, (time, value)) AS latest_value, arg_max(x, (time, value)) AS latest_x
  FROM obs GROUP BY person_id, code
), p AS (
  SELECT code, count(*) AS k, sum(n) AS big_n, sum(ss - s * s / n) AS ssw, sum(s) AS sum_s,
         sum(s * s / n) AS sum_s2n, sum(n * n) AS sum_n2, avg(s / n) AS m0
  FROM g GROUP BY code
), q AS (
  SELECT code, m0, ssw / (big_n - k) AS sigma2,
         greatest(((sum_s2n - big_n * (sum_s / big_n) ^ 2) / (k - 1) - ssw / (big_n - k))
                  / ((big_n - sum_n2 / big_n) / (k - 1)), 0.01 * ssw / (big_n - k)) AS tau2
  FROM p WHERE k >= 2 AND big_n - k >= 1
), j AS (
  SELECT g.*, q.m0, q.sigma2, q.tau2, code IN ({log_codes}) AS lg,
    (q.sigma2 * q.m0 + q.tau2 * g.s) / (q.sigma2 + g.n * q.tau2) AS mean,
    {z} * sqrt(q.sigma2 + q.sigma2 * q.tau2 / (q.sigma2 + g.n * q.tau2)) AS half,
    (q.sigma2 * q.m0 + q.tau2 * (g.s - g.latest_x)) / (q.sigma2 + (g.n - 1) * q.tau2) AS mean1,
    {z} * sqrt(q.sigma2 + q.sigma2 * q.tau2 / (q.sigma2 + (g.n - 1) * q.tau2)) AS half1
  FROM g JOIN q USING (code)
)
SELECT person_id, code, n,
  CASE WHEN lg THEN exp(mean) ELSE mean END AS setpoint,
  CASE WHEN lg THEN exp(mean - half) ELSE mean - half END AS lower,
  CASE WHEN lg THEN exp(mean + half) ELSE mean + half END AS upper,
  CASE WHEN lg THEN 'empirical Bayes (log scale)' ELSE 'empirical Bayes' END AS method,
  latest_value,
  latest_value < CASE WHEN lg THEN exp(mean1 - half1) ELSE mean1 - half1 END
    OR latest_value > CASE WHEN lg THEN exp(mean1 + half1) ELSE mean1 + half1 END AS latest_outside
FROM j
) TO '{out}' (FORMAT parquet)
"""


def run_ibis(src: str, out: str) -> dict[str, float]:
    from idiograph.cohort import baselines as cb

    t = time.perf_counter()
    n = cb.compute(Path(src), Path(out), "eb", 0.95)
    return {"seconds": time.perf_counter() - t, "rows_out": n}


def run_sql(src: str, out: str) -> dict[str, float]:
    import duckdb

    from idiograph.baselines.intervals import z_for
    from idiograph.cohort.baselines import measure_info

    log_codes = ", ".join(f"'{m.code}'" for m in measure_info() if m.log)
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(HAND_SQL.format(src=src, out=out, log_codes=log_codes, z=z_for(0.95)))
    return {"seconds": time.perf_counter() - t, "rows_out": pq.ParquetFile(out).metadata.num_rows}


def run_pandas(src: str, out: str) -> dict[str, float]:
    """The obvious pandas: read, sort, group-by aggregate, merge the per-code prior, compute."""
    import pandas as pd

    from idiograph.baselines.intervals import z_for
    from idiograph.cohort.baselines import measure_info

    t = time.perf_counter()
    z = z_for(0.95)
    logs = {m.code for m in measure_info() if m.log}
    df = pd.read_parquet(src)
    lg = df["code"].isin(logs)
    df = df[~(lg & (df["value"] <= 0))]
    df["x"] = np.where(df["code"].isin(logs), np.log(df["value"].where(df["value"] > 0, 1.0)), df["value"])
    df = df.sort_values(["person_id", "code", "time", "value"])
    df["xx"] = df["x"] ** 2
    g = (
        df.groupby(["person_id", "code"], sort=False)
        .agg(n=("x", "size"), s=("x", "sum"), ss=("xx", "sum"), latest_value=("value", "last"), latest_x=("x", "last"))
        .reset_index()
    )
    g["mean_i"] = g["s"] / g["n"]
    g["w"] = g["ss"] - g["s"] ** 2 / g["n"]
    g["s2n"] = g["s"] ** 2 / g["n"]
    g["n2"] = g["n"] ** 2
    p = (
        g.groupby("code")
        .agg(
            k=("n", "size"),
            big_n=("n", "sum"),
            ssw=("w", "sum"),
            sum_s=("s", "sum"),
            sum_s2n=("s2n", "sum"),
            sum_n2=("n2", "sum"),
            m0=("mean_i", "mean"),
        )
        .reset_index()
    )
    p["sigma2"] = p["ssw"] / (p["big_n"] - p["k"])
    msb = (p["sum_s2n"] - p["big_n"] * (p["sum_s"] / p["big_n"]) ** 2) / (p["k"] - 1)
    n0 = (p["big_n"] - p["sum_n2"] / p["big_n"]) / (p["k"] - 1)
    p["tau2"] = np.maximum((msb - p["sigma2"]) / n0, 0.01 * p["sigma2"])
    j = g.merge(p[["code", "m0", "sigma2", "tau2"]], on="code")
    denom = j["sigma2"] + j["n"] * j["tau2"]
    mean = (j["sigma2"] * j["m0"] + j["tau2"] * j["s"]) / denom
    half = z * np.sqrt(j["sigma2"] + j["sigma2"] * j["tau2"] / denom)
    lgj = j["code"].isin(logs)
    back = lambda v: np.where(lgj, np.exp(v), v)  # noqa: E731
    res = pd.DataFrame(
        {
            "person_id": j["person_id"],
            "code": j["code"],
            "n": j["n"],
            "setpoint": back(mean),
            "lower": back(mean - half),
            "upper": back(mean + half),
            "latest_value": j["latest_value"],
        }
    )
    res.to_parquet(out)
    return {"seconds": time.perf_counter() - t, "rows_out": len(res)}


def child(kind: str, src: str, out: str) -> None:
    result = {"ibis": run_ibis, "sql": run_sql, "pandas": run_pandas}[kind](src, out)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def measure(kind: str, src: Path, folder: Path) -> dict[str, float]:
    out = folder / f"out-{kind}.parquet"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(src), str(out)], capture_output=True, text=True, check=True
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[7:]))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows, people = (int(args[0]), int(args[1])) if len(args) >= 2 else (10_000_000, 80_000)
    folder = Path(sys.argv[sys.argv.index("--folder") + 1]) if "--folder" in sys.argv else Path("/tmp/idiograph-bench")
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"results-{rows}-{people}.parquet"
    console = Console()
    if not src.exists():
        t = time.perf_counter()
        with console.status(f"generating {rows:,} results for {people:,} people"):
            generate(src, rows, people)
        console.print(f"generated {src} ({src.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t:.0f} s")
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    kinds = ["sql", "ibis"] + (["pandas"] if "--pandas" in sys.argv else [])
    results = {}
    spread = {}
    for kind in kinds:
        runs = []
        for i in range(1 if kind == "pandas" else repeat):  # pandas takes minutes and varies little
            with console.status(f"running {kind} ({i + 1})"):
                runs.append(measure(kind, src, folder))
        runs.sort(key=lambda r: r["seconds"])
        results[kind] = runs[len(runs) // 2]  # the median run
        spread[kind] = f"{runs[0]['seconds']:.1f}-{runs[-1]['seconds']:.1f}" if len(runs) > 1 else "-"
    table = Table(
        title=f"Personal baselines (empirical Bayes) for {rows:,} results, {people:,} people, 5 measures "
        f"({os.cpu_count()} cores)"
    )
    for col in ("engine", "rows out", "wall s (median)", "range", "peak MiB", "vs hand-written DuckDB SQL"):
        table.add_column(col, justify="right")
    names = {
        "ibis": "idiograph baselines compute (Ibis, DuckDB)",
        "sql": "hand-written DuckDB SQL",
        "pandas": "pandas group-by",
    }
    for kind, r in results.items():
        table.add_row(
            names[kind],
            f"{int(r['rows_out']):,}",
            f"{r['seconds']:.1f}",
            spread[kind],
            f"{r['peak_mib']:,.0f}",
            f"{r['seconds'] / results['sql']['seconds']:.2f}x",
        )
    console.print(table)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
