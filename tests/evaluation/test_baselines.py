"""Scoring detection rules against truth: windows, placebo onsets, equal false alarms; the evaluate command."""

from __future__ import annotations

import json
import math
import random
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


def _case(
    values: list[float], change: int | None, step_days: float = 30, baseline: float | None = None, person: str = "p"
) -> ev.Case:
    pts = tuple((T0 + timedelta(days=step_days * i), v) for i, v in enumerate(values))
    return ev.Case(person, "c", pts, pts[change][0] if change is not None else None, baseline)


def above_5(c: ev.Case) -> list[int]:
    return [i for i, (_, v) in enumerate(c.points) if v > 5]


def test_scoring_by_hand() -> None:
    cases = [_case([1, 1, 1, 9, 9], change=3), _case([1, 9, 1, 1, 1], change=None), _case([1, 1, 1, 1, 9], change=2)]
    r = ev.score("above 5", cases, above_5)
    # first: detected at once (delay 0); second: one false alarm; third: first alarm 60 days after the change
    assert (r.series, r.changed, r.detected, r.false_alarms) == (3, 2, 2, 1)
    assert r.median_delay_days == 30.0
    assert (r.detection(30).k, r.detection(60).k, r.detection().k) == (1, 2, 2)
    # unchanged time: 90 days + 120 days + 60 days
    assert r.person_years == pytest.approx(270 / 365.25)
    assert r.false_alarms_per_person_year == pytest.approx(365.25 / 270)
    # the one unchanged series gets a placebo onset at 60 or 90 days (the true changes sit at 3/4 and 1/2 of
    # their series); its only alarm is at day 30, before either, so chance "detects" nothing here
    assert (r.placebo_series, r.placebo(30).k, r.placebo().k) == (1, 0, 0)


def test_an_alarm_after_the_window_is_not_a_detection() -> None:
    change = 10
    late = _case([0.0] * 10 + [0.0] * 61 + [9.0], change=change, step_days=1)  # alarm 61 days after the change
    edge = _case([0.0] * 10 + [0.0] * 60 + [9.0], change=change, step_days=1)  # exactly 60 days after
    r = ev.score("above 5", [late], above_5)
    assert (r.detection(30).k, r.detection(60).k, r.detection().k) == (0, 0, 1)
    assert r.median_delay(60) is None and r.median_delay_days == 61
    r = ev.score("above 5", [edge], above_5)
    assert (r.detection(30).k, r.detection(60).k) == (0, 1) and r.median_delay(60) == 60
    # other windows on request
    r = ev.score("above 5", [late], above_5, windows=(7, 90))
    assert (r.detection(7).k, r.detection(90).k) == (0, 1)


def _random_panel(n: int, seed: int, days: int = 200) -> tuple[ev.Panel, dict[str, list[int]]]:
    """Half the series change at a random day; alarms fall at random (1% of days), blind to the truth."""
    rng = random.Random(seed)
    cases, alarms = [], {}
    for i in range(n):
        change = rng.randrange(1, days) if i % 2 == 0 else None
        cases.append(_case([0.0] * days, change, step_days=1, person=f"p{i}"))
        alarms[f"p{i}"] = [d for d in range(days) if rng.random() < 0.01]
    return ev.Panel.of(cases, seed=seed + 1), alarms


def test_a_rule_that_alarms_at_random_scores_its_detection_rate_on_placebo_onsets() -> None:
    panel, alarms = _random_panel(4000, seed=11)
    r = ev.score("at random", panel, lambda c: alarms[c.person])
    for w in (30, 60, None):
        d, p = r.detection(w), r.placebo(w)
        assert d.n == p.n == 2000 and d.value is not None and p.value is not None
        se = math.sqrt(d.value * (1 - d.value) / d.n + p.value * (1 - p.value) / p.n)
        assert abs(d.value - p.value) < 3 * se
    # ... and far from zero: at one alarm in 100 days chance alone "detects" about a quarter within 30 days
    chance = r.placebo(30).value
    assert chance is not None and 0.15 < chance < 0.30


def test_a_rule_that_sees_the_change_beats_its_placebo_rate() -> None:
    panel, noise = _random_panel(2000, seed=12)

    def sees(c: ev.Case) -> list[int]:
        hit = [] if c.change_at is None else [(c.change_at - T0).days]  # on the day of the change
        return sorted({*noise[c.person], *hit})

    r = ev.score("sees the change", panel, sees)
    assert r.detection(30).value == 1.0
    hi = r.placebo(30).interval
    assert hi is not None and hi[1] < 0.5


def test_placebo_onsets_are_seeded_and_follow_the_true_positions() -> None:
    cases = [_case([0.0] * 11, change=5, person=f"c{i}") for i in range(5)]
    cases += [_case([0.0] * 11, change=None, person=f"n{i}") for i in range(5)]
    a, b = ev.Panel.of(cases, seed=3), ev.Panel.of(cases, seed=3)
    assert a.placebo == b.placebo
    assert a.placebo[:5] == (None,) * 5
    # every true change is half-way through its series, so every placebo onset is too
    assert all(t == T0 + timedelta(days=150) for t in a.placebo[5:])


def test_matching_finds_the_threshold_with_the_target_false_alarms_by_hand() -> None:
    # one unchanged series, 13 monthly scores over exactly one year, and one series that changes at day 90:
    # 1.246 person-years unchanged in all
    scores = [3, 12, 4, 15, 5, 11, 6, 14, 2, 13, 7, 10, 1]
    null = _case([float(s) for s in scores], change=None, step_days=365.25 / 12)
    changed = _case([1.0, 2.0, 13.0, 14.0], change=2, step_days=45, person="q")
    panel = ev.Panel.of([null, changed])
    years = null.unchanged_years() + changed.unchanged_years()
    assert years == pytest.approx(1 + 90 / 365.25)

    def name(level: float) -> str:
        return f"above {level:g}"

    # 3.0 a year allows floor(3.74) = 3 false alarms: above 12 (15, 14, 13 alarm)
    level, r = ev.match(name, panel, ev.score_value, 3.0)
    assert level == 12 and r.false_alarms == 3 and r.rule == "above 12"
    assert r.detection(30).k == 1  # the changed series' 13 is above 12, at the change
    # 2.0 a year allows floor(2.49) = 2: above 13, and the changed series alarms only 45 days after its change
    level, r = ev.match(name, panel, ev.score_value, 2.0)
    assert level == 13 and r.false_alarms == 2 and r.detection(30).k == 0 and r.detection(60).k == 1
    level, r = ev.match(name, panel, ev.score_value, 100.0)  # more than there are: everything alarms
    assert level == -math.inf and r.false_alarms == len(scores) + 2


def test_matched_population_interval_has_the_target_false_alarms_and_no_slack() -> None:
    prior = ev.Prior(m0=0.0, tau2=1.0, sigma2=0.25)
    rng = random.Random(5)
    cases = [_case([rng.gauss(0, 1.2) for _ in range(12)], change=None, person=f"p{i}") for i in range(60)]
    panel = ev.Panel.of(cases)
    target = 0.6
    cov, r = ev.matched_population(prior, panel, target)
    assert r.false_alarms_per_person_year <= target + 1e-9 and 0.5 < cov < 1
    stat = ev.population_z(prior)
    level, same = ev.match(str, panel, stat, target)
    assert ev.coverage_of(level) == pytest.approx(cov) and same.false_alarms == r.false_alarms
    # no slack: moving the level down to the next result below it gives too many false alarms
    below = max(s for c in cases for s in stat(c) if s < level)
    looser = ev.score("looser", panel, ev.above(stat, below))
    assert looser.false_alarms_per_person_year > target


def test_point_rules_agree_with_the_intervals_they_stand_for() -> None:
    from idiograph.baselines.normal_normal import interval, population_interval

    prior = ev.Prior(m0=1.0, tau2=0.3, sigma2=0.1, scale="log")
    rng = random.Random(9)
    c = _case([math.exp(rng.gauss(1.0, 0.6)) for _ in range(40)], change=None)
    want = [i for i in range(1, 40) if interval(prior, [v for _, v in c.points[:i]], 0.99).outside(c.points[i][1])]
    assert ev.personal_point(prior, 0.99)(c) == want
    pop = population_interval(prior, 0.99)
    assert ev.population_point(prior, 0.99)(c) == [i for i in range(1, 40) if pop.outside(c.points[i][1])]
    assert ev.population_upper(prior, 0.99)(c) == [i for i in range(40) if c.points[i][1] > pop.upper]
    assert ev.threshold(3.0)(_case([2.0, 3.0, 2.9, 4.0], None)) == [1, 3]


def test_relapse_rule_by_hand() -> None:
    base = relapse.recovered_baseline([(T0, 12.0), (T0 + timedelta(days=7), 6.0), (T0 + timedelta(days=14), 4.0)], 2)
    assert base == 5.0
    h = design_cusum(0.5, 48, "upper")
    follow = [(T0 + timedelta(days=30 * (i + 1)), v) for i, v in enumerate([5.0, 6.0, 9.0, 12.0])]
    sig = relapse.first_signal(5.0, follow, 2.0, 0.5, 48)
    # standardised rises 0, 0.5, 2, 3.5 -> CUSUM 0, 0, 1.5, 4.5: crosses h at the fourth score
    assert 1.5 < h < 4.5 and sig is not None and sig.score == 12.0 and sig.statistic == pytest.approx(4.5)
    assert relapse.first_signal(5.0, follow[:2], 2.0, 0.5, 48) is None


def test_evaluate_command_compares_at_equal_false_alarms_within_windows() -> None:
    res = CliRunner().invoke(app, ["baselines", "evaluate", "--people", "2000", "--seed", "7", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{") :])
    assert out["tuning_seeds"] == [2026, 42] and out["windows_days"] == [30, 60]
    rows = out["results"]
    by_measure: dict[tuple[str, str], list[dict]] = {}  # type: ignore[type-arg]
    for r in rows:
        by_measure.setdefault((r["signal"], r["measure"]), []).append(r)
    assert any(s == "relapse" for s, _ in by_measure) and any(s == "shift" for s, _ in by_measure)
    for group in by_measure.values():
        ref = [r for r in group if r["compared"] == "reference"]
        assert len(ref) == 1
        matched = [r for r in group if r["compared"] == "equal false alarms"]
        assert matched
        for m in matched:  # never more false alarms than the personal rule it is compared with
            assert m["false_alarms"] <= ref[0]["false_alarms"]
        for r in group:  # a window only ever removes detections
            w30, w60 = r["windows"]["30"], r["windows"]["60"]
            assert w30["detection"]["detected"] <= w60["detection"]["detected"] <= r["detected"]
            assert w30["placebo"]["detected"] <= w60["placebo"]["detected"] <= r["any_time"]["placebo"]["detected"]
            assert r["false_alarms_per_person_year_low"] <= r["false_alarms_per_person_year"]
    phq = by_measure[("relapse", "Patient Health Questionnaire (PHQ-9)")]
    cusum = next(r for r in phq if r["compared"] == "reference")
    fixed = next(r for r in phq if r["rule"] == "score 10 or more")
    # the fixed threshold as configured is not a fair comparison: it runs at several times the false alarms
    assert fixed["false_alarms_per_person_year_low"] > cusum["false_alarms_per_person_year_high"]
    # late alarms inflate an unwindowed rate; and the CUSUM detects relapses beyond what chance gives it
    assert cusum["windows"]["30"]["detection"]["detected"] < cusum["detected"]
    assert cusum["windows"]["60"]["detection"]["low"] > cusum["windows"]["60"]["placebo"]["high"]


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
