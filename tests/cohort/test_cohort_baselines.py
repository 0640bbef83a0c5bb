"""The whole-population computation agrees with the per-person modules to 1e-9 (DESIGN rule 4), on DuckDB
and on Spark, and never depends on the order of the input."""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from idiograph.baselines import biological_variation as bv
from idiograph.baselines import normal_normal as nn
from idiograph.baselines.intervals import to_model
from idiograph.cohort import baselines as cb

CODES = {"718-7": 138.0, "3016-3": 1.8, "44261-6": 8.0, "x-local": 50.0, "x-alone": 5.0}
T0 = datetime(2022, 1, 1)


def _observations(seed: int) -> pa.Table:
    """Random people and measures: 1-12 results each, some at the same time, one measure with one person."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(80):
        for code, base in CODES.items():
            if code == "x-alone" and p > 0:
                continue
            level = base * math.exp(rng.normal(0, 0.15))
            n = int(rng.integers(1, 13))
            days = sorted(int(d) for d in rng.integers(0, 1500, n))
            if n > 2:
                days[-1] = days[-2]  # a tie at the latest time: the larger value counts as latest
            for d in days:
                v = level * math.exp(rng.normal(0, 0.08))
                if code == "44261-6":
                    v = float(min(27, max(0, round(v))))
                rows.append((f"person-{p:03d}", code, float(v), T0 + timedelta(days=d, hours=int(rng.integers(0, 2)))))
    rng.shuffle(rows)
    return pa.table(
        {
            "person_id": [r[0] for r in rows],
            "code": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "time": pa.array([r[3] for r in rows], pa.timestamp("us")),
        }
    )


def _series(t: pa.Table) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for r in t.to_pylist():
        out[(r["person_id"], r["code"])].append((r["time"], r["value"]))
    return {k: sorted(v) for k, v in out.items()}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


def _expected_eb(series: dict[tuple[str, str], list[tuple[datetime, float]]], coverage: float) -> dict:  # type: ignore[type-arg]
    info = {m.code: m for m in cb.measure_info()}
    out = {}
    for code in CODES:
        m = info.get(code)
        scale = "log" if m and m.log else "linear"
        bounds = (m.lo, m.hi) if m else (None, None)
        mine = {k: v for k, v in series.items() if k[1] == code}
        try:
            prior = nn.estimate_prior(
                [nn.PersonSums.of(to_model(v, scale) for _, v in pts) for pts in mine.values()], scale
            )  # type: ignore[arg-type]
        except ValueError:
            prior = None
        for key, pts in mine.items():
            vals = [v for _, v in pts]
            if prior is None:
                out[key] = (len(vals), None, None, None, "no population prior", vals[-1], None)
                continue
            iv = nn.interval(prior, vals, coverage, bounds)
            earlier = nn.interval(prior, vals[:-1], coverage, bounds)
            method = "empirical Bayes (log scale)" if scale == "log" else "empirical Bayes"
            out[key] = (len(vals), iv.setpoint, iv.lower, iv.upper, method, vals[-1], earlier.outside(vals[-1]))
    return out


def _expected_coskun(series: dict[tuple[str, str], list[tuple[datetime, float]]], coverage: float) -> dict:  # type: ignore[type-arg]
    table = {v.code: v for v in bv.table().values()}
    out = {}
    for key, pts in series.items():
        vals = [v for _, v in pts]
        iv = bv.pri(vals, table.get(key[1]), coverage)
        earlier = bv.pri(vals[:-1], table.get(key[1]), coverage)
        out[key] = (
            len(vals),
            iv.setpoint if iv else None,
            iv.lower if iv else None,
            iv.upper if iv else None,
            iv.method if iv else "too few results and no published CVI",
            vals[-1],
            earlier.outside(vals[-1]) if earlier else None,
        )
    return out


def _check(out_path: Path, expected: dict) -> None:  # type: ignore[type-arg]
    got = pq.read_table(out_path).to_pylist() if out_path.suffix == ".parquet" else pacsv.read_csv(out_path).to_pylist()
    assert len(got) == len(expected)
    for r in got:
        n, sp, lo, hi, method, latest, outside = expected[(r["person_id"], r["code"])]
        assert r["n"] == n and r["method"] == method, r
        assert _close(r["setpoint"], sp) and _close(r["lower"], lo) and _close(r["upper"], hi), (r, sp, lo, hi)
        assert r["latest_value"] == pytest.approx(latest, rel=1e-12) and r["latest_outside"] == outside, r


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    t = _observations(20261123)
    path = tmp_path_factory.mktemp("cohort") / "obs.parquet"
    pq.write_table(t, path)
    return path, t


@pytest.mark.parametrize("coverage", [0.95, 0.99])
def test_empirical_bayes_agrees_with_the_per_person_module(observations, tmp_path: Path, coverage: float) -> None:  # type: ignore[no-untyped-def]
    path, t = observations
    out = tmp_path / "eb.parquet"
    n = cb.compute(path, out, "eb", coverage)
    assert n == len(_series(t))
    _check(out, _expected_eb(_series(t), coverage))


def test_coskun_agrees_with_the_per_person_module(observations, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, t = observations
    out = tmp_path / "coskun.csv"
    cb.compute(path, out, "coskun", 0.95)
    _check(out, _expected_coskun(_series(t), 0.95))


def test_setpoint_rows_are_the_per_person_module(observations, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, t = observations
    out = tmp_path / "sp.parquet"
    cb.compute(path, out, "setpoint", 0.95)
    got = {(r["person_id"], r["code"]): r for r in pq.read_table(out).to_pylist()}
    series = _series(t)
    assert len(got) == len(series)
    some = 0
    for key, pts in series.items():
        want = cb.setpoint_row(key[0], key[1], pts, 0.95)
        r = got[key]
        assert (
            r["method"] == want["method"]
            and _close(r["setpoint"], want["setpoint"])
            and _close(r["upper"], want["upper"])
        )
        some += r["setpoint"] is not None
    assert some > 0


def test_input_order_and_csv_do_not_change_the_result(observations, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, t = observations
    reversed_csv = tmp_path / "obs.csv"
    pacsv.write_csv(t.take(list(range(t.num_rows - 1, -1, -1))), reversed_csv)
    cb.compute(path, tmp_path / "a.parquet", "eb")
    cb.compute(reversed_csv, tmp_path / "b.parquet", "eb")
    key = lambda r: (r["person_id"], r["code"])  # noqa: E731
    a = sorted(pq.read_table(tmp_path / "a.parquet").to_pylist(), key=key)
    b = sorted(pq.read_table(tmp_path / "b.parquet").to_pylist(), key=key)
    assert [(r["n"], r["latest_value"], r["latest_outside"], r["method"]) for r in a] == [
        (r["n"], r["latest_value"], r["latest_outside"], r["method"]) for r in b
    ]
    for x, y in zip(a, b, strict=True):
        assert _close(x["lower"], y["lower"]) and _close(x["upper"], y["upper"])


def test_bad_input_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,code,val,time\np,718-7,1,2024-01-01T00:00:00\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(cb.InputError, match=r"missing column.*value"):
        cb.compute(bad, out)
    with pytest.raises(cb.InputError, match=r"out: .*neither"):
        cb.compute(bad, tmp_path / "out.xlsx")
    with pytest.raises(cb.InputError, match="coverage"):
        cb.compute(bad, out, coverage=1.5)
    with pytest.raises(cb.InputError, match="does not exist"):
        cb.compute(tmp_path / "nope.parquet", out)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_spark_local_mode_agrees_with_the_per_person_module(observations, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, t = observations
    out = tmp_path / "spark.parquet"
    cb.compute(path, out, "eb", 0.95, engine="spark")
    _check(out, _expected_eb(_series(t), 0.95))
    cb.compute(path, tmp_path / "spark-coskun.parquet", "coskun", 0.95, engine="spark")
    _check(tmp_path / "spark-coskun.parquet", _expected_coskun(_series(t), 0.95))
