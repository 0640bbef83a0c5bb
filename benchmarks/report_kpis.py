"""NHS Talking Therapies KPIs for a million referrals, totals and every equity breakdown (issue 19's target:
< 60 s on 2 cores from Parquet): the Ibis expression (``cohort.kpis``, on embedded DuckDB) against the obvious
alternatives - the pure engine (``reporting.kpis.compute``) over Python objects, once for the totals and once per
group of every breakdown (timed on a subset and scaled), and a pandas group-by over the whole file.

Data: REFERRALS seeded referrals (numpy, vectorised) over two financial years, written to Parquet (zstd), with
national-looking proportions: a tenth from community teams, about two in three entering treatment, repeat
referrals, waits mostly under six weeks, PHQ-9 and GAD-7 at the first and the last contact, demographics
(ethnic category, age, sex, IMD decile, preferred language; some not recorded). The period is the second year.
Each engine runs in its own process so that its peak memory (max RSS) is its own. Usage:
    python benchmarks/report_kpis.py [REFERRALS] [--subset N] [--repeat N] [--no-pandas] [--folder DIR]
(default 1,000,000 referrals, the pure engine on the first 100,000).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PERIOD = (date(2025, 4, 1), date(2026, 3, 31))
FIRST_DAY = np.datetime64("2024-04-01", "D")
EXTRACT_DAY = np.datetime64("2026-05-31", "D")  # ends after this are still open in the extract
ETHNICITY = {
    "A": 0.70, "B": 0.01, "C": 0.05, "D": 0.008, "E": 0.005, "F": 0.007, "G": 0.008, "H": 0.025, "J": 0.02,
    "K": 0.008, "L": 0.01, "M": 0.01, "N": 0.02, "P": 0.004, "R": 0.004, "S": 0.013, "Z": 0.03, "99": 0.018,
}  # fmt: skip
LANGUAGES = {"en": 0.92, "pl": 0.015, "ur": 0.012, "pa": 0.008, "bn": 0.008, "ar": 0.008, "ro": 0.008, "so": 0.004}
SEXES = {"female": 0.645, "male": 0.33, "other": 0.005, "unknown": 0.005}
REASONS = np.array(["completed", "declined", "disengaged", "not suitable", "moved away"])


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int, missing: float) -> pa.Array:
    """Codes by weight, with a share ``missing`` not recorded (null)."""
    keys = np.array(list(weights))
    p = np.array(list(weights.values()))
    values = keys[rng.choice(len(keys), n, p=p / p.sum())]
    return pa.array(values, pa.string(), mask=rng.random(n) < missing)


def _dates(days: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array((FIRST_DAY + days.astype("timedelta64[D]")).astype("datetime64[D]"), pa.date32(), mask=mask)


def _scores(values: np.ndarray, top: int, mask: np.ndarray) -> pa.Array:
    return pa.array(np.clip(np.round(values), 0, top).astype(np.float64), pa.float64(), mask=mask)


def chunk(rng: np.random.Generator, n: int, first_id: int, people: int) -> pa.Table:
    """``n`` referrals, each column drawn at once."""
    from idiograph.cohort.kpis import SCHEMA

    referred = rng.integers(0, 730, n)  # received over two years from 1 April 2024
    assessed_in = np.minimum(rng.exponential(12, n).astype(np.int64), 120)
    has_assessment = rng.random(n) < 0.88
    attended = np.where(
        has_assessment,
        rng.choice(np.arange(0, 21), n, p=_attendance()),
        0,
    )
    long = rng.random(n) < 0.015  # a few wait months
    to_treatment = np.where(long, rng.integers(60, 220, n), rng.gamma(1.6, 8, n).astype(np.int64))
    wait = referred + assessed_in + to_treatment  # the first treatment contact
    gap = np.where(rng.random(n) < 0.03, rng.integers(60, 150, n), 7 + rng.exponential(5, n).astype(np.int64))
    t1 = wait
    t2 = t1 + gap
    last_session = np.where(attended >= 2, t2 + 7 * np.maximum(attended - 2, 0), np.where(attended == 1, t1, 0))
    last_event = np.maximum(np.maximum(referred, np.where(has_assessment, referred + assessed_in, 0)), last_session)
    end = last_event + rng.integers(0, 75, n)  # discharge up to ten weeks after the last contact
    open_ = FIRST_DAY + end.astype("timedelta64[D]") > EXTRACT_DAY
    reason = np.where(attended >= 2, "completed", REASONS[1 + rng.integers(0, len(REASONS) - 1, n)])
    p0 = np.clip(np.round(rng.normal(14.5, 5.5, n)), 0, 27)
    g0 = np.clip(np.round(rng.normal(12.5, 5.0, n)), 0, 21)
    # three in five respond (scores fall to 5-45% of the first), the rest stay near where they started
    factor = np.where(rng.random(n) < 0.6, rng.uniform(0.05, 0.45, n), rng.uniform(0.75, 1.3, n))
    p1 = p0 * factor + rng.normal(0, 2.0, n)
    g1 = g0 * np.clip(factor + rng.normal(0, 0.12, n), 0, 2) + rng.normal(0, 1.8, n)
    no_first = ~(has_assessment & (rng.random(n) < 0.95))
    no_last = no_first | ~(((attended >= 2) & (rng.random(n) < 0.93)) | ((attended == 1) & (rng.random(n) < 0.2)))
    gad_gone = rng.random(n) < 0.02  # a missing second score on one measure only
    ids = np.arange(first_id, first_id + n)
    table = {
        "referral_id": pa.array(np.char.add("R", ids.astype("U9"))),
        "person_id": pa.array(np.char.add("P", rng.integers(0, people, n).astype("U9"))),  # repeat referrals
        "team_kind": pa.array(np.where(rng.random(n) < 0.9, "talking_therapies", "community")),
        "ending_reason": pa.array(reason, pa.string(), mask=open_),
        "ethnicity": _pick(rng, ETHNICITY, n, 0.02),
        "sex": _pick(rng, SEXES, n, 0.01),
        "preferred_language": _pick(rng, LANGUAGES, n, 0.02),
        "referral_date": _dates(referred, np.zeros(n, bool)),
        "end_date": _dates(end, open_),
        "assessed_date": _dates(referred + assessed_in, ~has_assessment),
        "first_treatment_date": _dates(t1, attended < 1),
        "second_treatment_date": _dates(t2, attended < 2),
        "attended_treatment": pa.array(attended, pa.int64()),
        "age_at_referral": pa.array(np.clip(rng.normal(38, 14, n), 16, 95).astype(np.int64), mask=rng.random(n) < 0.01),
        "deprivation_decile": pa.array(
            rng.choice(np.arange(1, 11), n, p=np.linspace(1.4, 0.6, 10) / 10), pa.int64(), mask=rng.random(n) < 0.03
        ),
        "phq9_first": _scores(p0, 27, no_first),
        "phq9_last": _scores(p1, 27, no_last),
        "gad7_first": _scores(g0, 21, no_first),
        "gad7_last": _scores(g1, 21, no_last | gad_gone),
    }
    return pa.table(table).select(SCHEMA.names).cast(SCHEMA)


def _attendance() -> np.ndarray:
    """Attended treatment contacts: about a third none, an eighth one, the rest a course of 2 to 20."""
    p = np.zeros(21)
    p[0], p[1] = 0.30, 0.12
    course = np.exp(-0.5 * ((np.arange(2, 21) - 7) / 4) ** 2)
    p[2:] = 0.58 * course / course.sum()
    return p / p.sum()


def generate(path: Path, referrals: int, seed: int = 2026) -> None:
    """Seeded referrals to Parquet, in chunks of 250,000."""
    rng = np.random.default_rng(seed)
    people = max(1, int(referrals * 0.85))
    writer: Any = None
    try:
        for start in range(0, referrals, 250_000):
            t = chunk(rng, min(250_000, referrals - start), start, people)
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema, compression="zstd")
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()


def to_referrals(t: pa.Table) -> list[Any]:
    from idiograph.reporting.kpis import Referral

    return [Referral(**row) for row in t.to_pylist()]


# ---- the engines, each timed in its own process ----


def run_ibis(src: Path, subset: int) -> dict[str, Any]:
    import ibis

    from idiograph.cohort import kpis as ck

    t0 = time.perf_counter()
    con = ibis.duckdb.connect()
    result = ck.compute(con, src, *PERIOD)
    seconds = time.perf_counter() - t0
    figures = {
        f"{row.pop('breakdown')}|{row.pop('group')}": {c: v for c, v in row.items() if v is not None}
        for row in result.to_pylist()
    }
    return {
        "seconds": seconds,
        "referrals": pq.ParquetFile(src).metadata.num_rows,
        "cells": len(figures),
        "figures": figures,
    }


def _breakdown_keys() -> dict[str, Any]:
    from idiograph.patients.demographics import AGE_BANDS, ETHNIC_CATEGORIES, ethnic_group

    def band(age: int | None) -> str:
        for low, high, label in AGE_BANDS:
            if age is not None and age >= low and (high is None or age <= high):
                return label
        return "unknown"

    return {
        "total": lambda r: "all",
        "ethnic_group": lambda r: ethnic_group(r.ethnicity),
        "ethnic_category": lambda r: (
            ETHNIC_CATEGORIES[r.ethnicity][1] if r.ethnicity in ETHNIC_CATEGORIES else "Not known"
        ),
        "imd_quintile": lambda r: str((r.deprivation_decile + 1) // 2) if r.deprivation_decile else "unknown",
        "age_band": lambda r: band(r.age_at_referral),
        "sex": lambda r: r.sex or "unknown",
        "preferred_language": lambda r: r.preferred_language or "unknown",
    }


def run_pure(src: Path, subset: int) -> dict[str, Any]:
    """The pure engine: read the first ``subset`` referrals into objects, then the totals and each group."""
    from idiograph.reporting.kpis import compute, split

    t0 = time.perf_counter()
    table = pq.read_table(src).slice(0, subset)
    rows = to_referrals(table)
    loaded = time.perf_counter() - t0
    talking, _ = split(rows)
    cells = 0
    for key in _breakdown_keys().values():
        by: dict[str, list[Any]] = {}
        for r in talking:
            by.setdefault(key(r), []).append(r)
        for group in by.values():
            compute(group, *PERIOD)
            cells += 1
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "load_seconds": loaded, "referrals": len(rows), "cells": cells}


def run_pandas(src: Path, subset: int) -> dict[str, Any]:
    """The obvious pandas: read, the conditions as boolean columns, a group-by sum per breakdown."""
    import pandas as pd

    from idiograph.cohort.kpis import NOT_KNOWN
    from idiograph.monitoring.outcomes.nhs_talking_therapies import caseness, criteria
    from idiograph.patients.demographics import AGE_BANDS, ETHNIC_CATEGORIES
    from idiograph.reporting.kpis import definitions

    t0 = time.perf_counter()
    d = definitions()
    (pc, gc), (pr, gr) = caseness(), criteria()
    df = pd.read_parquet(src)
    read = len(df)
    df = df[df["team_kind"].isin(d.talking_therapies_kinds)]
    start, end = (pd.Timestamp(x) for x in PERIOD)

    def within(c: str) -> Any:
        x = pd.to_datetime(df[c])
        return (x >= start) & (x <= end)

    p0, p1, g0, g1 = (df[c] for c in ("phq9_first", "phq9_last", "gad7_first", "gad7_last"))
    ended = within("end_date")
    fin = ended & (df["attended_treatment"] >= d.finished_min_attended)
    paired = fin & p0.notna() & p1.notna() & g0.notna() & g1.notna()
    case = paired & ((p0 >= pc) | (g0 >= gc))
    down = ((p0 - p1) >= pr.points) | ((g0 - g1) >= gr.points)
    up = ((p1 - p0) >= pr.points) | ((g1 - g0) >= gr.points)
    rec = case & ~((p1 >= pc) | (g1 >= gc))
    imp = paired & down & ~up
    wait = (pd.to_datetime(df["first_treatment_date"]) - pd.to_datetime(df["referral_date"])).dt.days
    second = within("second_treatment_date")
    gap = (pd.to_datetime(df["second_treatment_date"]) - pd.to_datetime(df["first_treatment_date"])).dt.days
    f = pd.DataFrame(
        {
            "referrals_numerator": within("referral_date"),
            "entered_treatment_numerator": within("first_treatment_date"),
            "finished_course_numerator": fin,
            "recovery_numerator": rec,
            "recovery_denominator": case,
            "reliable_recovery_numerator": rec & imp,
            "reliable_recovery_denominator": case,
            "reliable_improvement_numerator": imp,
            "reliable_improvement_denominator": paired,
            "reliable_deterioration_numerator": paired & up,
            "reliable_deterioration_denominator": paired,
            "waited_6_weeks_numerator": fin & (wait <= d.waited_6_weeks_days),
            "waited_6_weeks_denominator": fin,
            "waited_18_weeks_numerator": fin & (wait <= d.waited_18_weeks_days),
            "waited_18_weeks_denominator": fin,
            "first_to_second_over_90_days_numerator": second & (gap > d.first_to_second_over_days),
            "first_to_second_over_90_days_denominator": second,
            "finished_with_paired_scores_numerator": paired,
            "finished_with_paired_scores_denominator": fin,
        }
    ).astype("int64")
    age = df["age_at_referral"]
    bands = pd.Series("unknown", index=df.index)
    for low, high, label in AGE_BANDS:
        bands[(age >= low) & ((age <= high) if high is not None else True)] = label
    dec = df["deprivation_decile"]
    keys = {
        "total": pd.Series("all", index=df.index),
        "ethnic_group": df["ethnicity"].map({k: v[0] for k, v in ETHNIC_CATEGORIES.items()}).fillna(NOT_KNOWN),
        "ethnic_category": df["ethnicity"].map({k: v[1] for k, v in ETHNIC_CATEGORIES.items()}).fillna(NOT_KNOWN),
        "imd_quintile": ((dec + 1) // 2).astype("Int64").astype("string").fillna("unknown"),
        "age_band": bands,
        "sex": df["sex"].fillna("unknown"),
        "preferred_language": df["preferred_language"].fillna("unknown"),
    }
    out = {}
    for b, k in keys.items():
        for group, row in f.groupby(k.values).sum().iterrows():
            out[f"{b}|{group}"] = {c: int(v) for c, v in row.items()}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "referrals": read, "cells": len(out), "figures": out}


def child(kind: str, src: str, subset: int) -> None:
    result = {"ibis": run_ibis, "pure": run_pure, "pandas": run_pandas}[kind](Path(src), subset)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def measure(kind: str, src: Path, subset: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(src), str(subset)], capture_output=True, text=True, check=True
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[7:]))


def _option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    skip = {_option(o, "") for o in ("--subset", "--repeat", "--folder")}
    args = [a for a in sys.argv[1:] if not a.startswith("--") and a not in skip]
    referrals = int(args[0]) if args else 1_000_000
    subset = min(referrals, int(_option("--subset", "100000")))
    repeat = int(_option("--repeat", "3"))
    folder = Path(_option("--folder", "/tmp/idiograph-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"referrals-{referrals}.parquet"
    console = Console(width=150)
    if not src.exists():
        t = time.perf_counter()
        with console.status(f"generating {referrals:,} referrals"):
            generate(src, referrals)
        console.print(f"generated {src} ({src.stat().st_size / 2**20:,.1f} MiB) in {time.perf_counter() - t:.1f} s")
    kinds = ["ibis"] + ([] if "--no-pandas" in sys.argv else ["pandas"]) + ["pure"]
    results: dict[str, dict[str, Any]] = {}
    spread: dict[str, str] = {}
    for kind in kinds:
        runs = []
        for i in range(1 if kind == "pure" else repeat):  # the pure engine takes minutes and varies little
            with console.status(f"running {kind} ({i + 1})"):
                runs.append(measure(kind, src, subset))
        runs.sort(key=lambda r: r["seconds"])
        results[kind] = runs[len(runs) // 2]  # the median run
        spread[kind] = f"{runs[0]['seconds']:.1f}-{runs[-1]['seconds']:.1f}" if len(runs) > 1 else "-"
    table = Table(
        title=f"Talking Therapies KPIs, totals and 6 breakdowns, {referrals:,} referrals from Parquet, "
        f"period {PERIOD[0]} to {PERIOD[1]} ({os.cpu_count()} cores, {platform.python_version()})"
    )
    for col in ("path", "referrals read", "cells", "wall s (median)", "range", f"s per {referrals:,}", "peak MiB",
                "vs Ibis"):  # fmt: skip
        table.add_column(col, justify="right")
    names = {
        "ibis": "cohort.kpis (Ibis on DuckDB)",
        "pandas": "pandas group-by",
        "pure": "pure engine per group (scaled)",
    }
    base = results["ibis"]["seconds"]
    for kind, r in results.items():
        scaled = r["seconds"] * referrals / r["referrals"] if kind == "pure" else r["seconds"]
        if kind == "pandas":
            scaled = r["seconds"]
        table.add_row(
            names[kind],
            f"{int(r['referrals']):,}",
            f"{int(r['cells']):,}",
            f"{r['seconds']:.2f}",
            spread[kind],
            f"{scaled:.1f}",
            f"{r['peak_mib']:,.0f}",
            f"{scaled / base:.1f}x",
        )
    console.print(table)
    if "pandas" in results:
        same = results["pandas"]["figures"] == results["ibis"]["figures"]
        console.print(f"pandas and Ibis agree in every numerator and denominator of every cell: {same}")
    if "pure" in results:
        console.print(f"pure engine: {results['pure']['load_seconds']:.1f} s of its time reading into objects")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
