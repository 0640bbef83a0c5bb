"""Scoring detection rules against truth, the relapse rule, and the evaluate/compute commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.evaluation import baselines as ev
from idiograph.methods.change_detection import design_cusum
from idiograph.monitoring.relapse import signal as relapse

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _case(values: list[float], change: int | None, step_days: int = 30, baseline: float | None = None) -> ev.Case:
    pts = tuple((T0 + timedelta(days=step_days * i), v) for i, v in enumerate(values))
    return ev.Case("p", "c", pts, pts[change][0] if change is not None else None, baseline)


def test_scoring_by_hand() -> None:
    cases = [_case([1, 1, 1, 9, 9], change=3), _case([1, 9, 1, 1, 1], change=None), _case([1, 1, 1, 1, 9], change=2)]
    r = ev.score("above 5", cases, lambda c: [i for i, (_, v) in enumerate(c.points) if v > 5])
    # first: detected at once (delay 0); second: one false alarm; third: detected 60 days after the change
    assert (r.series, r.changed, r.detected, r.false_alarms) == (3, 2, 2, 1)
    assert r.median_delay_days == 30.0
    # unchanged time: 90 days + 120 days + 60 days
    assert r.person_years == pytest.approx(270 / 365.25)
    assert r.false_alarms_per_person_year == pytest.approx(365.25 / 270)


def test_relapse_rule_by_hand() -> None:
    base = relapse.recovered_baseline([(T0, 12.0), (T0 + timedelta(days=7), 6.0), (T0 + timedelta(days=14), 4.0)], 2)
    assert base == 5.0
    h = design_cusum(0.5, 48, "upper")
    follow = [(T0 + timedelta(days=30 * (i + 1)), v) for i, v in enumerate([5.0, 6.0, 9.0, 12.0])]
    sig = relapse.first_signal(5.0, follow, 2.0, 0.5, 48)
    # standardised rises 0, 0.5, 2, 3.5 -> CUSUM 0, 0, 1.5, 4.5: crosses h at the fourth score
    assert 1.5 < h < 4.5 and sig is not None and sig.score == 12.0 and sig.statistic == pytest.approx(4.5)
    assert relapse.first_signal(5.0, follow[:2], 2.0, 0.5, 48) is None


def test_matched_population_interval_has_no_more_false_alarms_than_the_target() -> None:
    prior = ev.Prior(m0=0.0, tau2=1.0, sigma2=0.25)
    cases = [_case([0.1 * ((i * 7 + j) % 5 - 2) + (i % 3 - 1) for j in range(12)], change=None) for i in range(30)]
    cov, r = ev.matched_population(prior, cases, 0.2)
    assert r.false_alarms_per_person_year <= 0.2 + 1e-9 and 0.5 < cov < 1


def test_evaluate_command_reports_every_signal(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["baselines", "evaluate", "--people", "600", "--seed", "7", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{") :])
    signals = {(r["signal"], r["rule"].split(" (")[0]) for r in out["results"]}
    assert ("shift", "personal interval") in signals and ("shift", "population interval") in signals
    assert ("relapse", "personal CUSUM") in signals and any(s[1].startswith("score") for s in signals)
    for r in out["results"]:
        assert r["detection_rate"] is None or 0 <= r["detection_rate"] <= 1
        assert r["false_alarms"] >= 0 and r["series"] >= r["changed"] >= r["detected"]


def test_compute_command_writes_the_file_or_says_why_not(tmp_path: Path) -> None:
    src = tmp_path / "obs.parquet"
    pq.write_table(
        pa.table(
            {
                "person_id": ["a", "a", "b", "b"],
                "code": ["718-7"] * 4,
                "value": [140.0, 142.0, 130.0, 131.0],
                "time": pa.array([T0, T0 + timedelta(days=9), T0, T0 + timedelta(days=5)], pa.timestamp("us", "UTC")),
            }
        ),
        src,
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["baselines", "compute", "--observations", str(src), "--out", str(tmp_path / "o.csv")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "o.csv").read_text().splitlines()[0].startswith('"person_id","code","n","setpoint"')
    bad = runner.invoke(
        app,
        ["baselines", "compute", "--observations", str(src), "--out", str(tmp_path / "o.csv"), "--method", "median"],
    )
    assert bad.exit_code == 2 and "--method" in bad.output
