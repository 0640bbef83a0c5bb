"""Expected-recovery models, the not-on-track rule, its evaluation, and review schedules (pure)."""

from __future__ import annotations

import math
import random
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.recovery.expected import Course, CurveModel, NeighbourModel
from idiograph.monitoring.recovery.not_on_track import decide
from idiograph.monitoring.reviews.schedule import schedule


def synthetic_courses(n: int, seed: int, noise: float = 2.0) -> list[Course]:
    """Courses from a known law: y = 2 + 0.8*intake + (-1 - 0.1*intake)*ln(s) + noise."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        intake = rng.uniform(8, 25)
        scores = [intake]
        for s in range(2, rng.randint(3, 12) + 1):
            scores.append(2 + 0.8 * intake + (-1 - 0.1 * intake) * math.log(s) + rng.gauss(0, noise))
        out.append(Course(tuple(scores), (intake, rng.uniform(5, 20), rng.uniform(18, 70))))
    return out


def test_curve_recovers_a_known_law_and_its_spread() -> None:
    m = CurveModel.fit(synthetic_courses(3000, 1), tail=0.10)
    assert m.coef == pytest.approx((2, 0.8, -1, -0.1), abs=0.15)
    assert m.sd[0] == pytest.approx(2.0, abs=0.15)
    # Expected at session 4 for intake 20: 2 + 16 + (-1 - 2) ln 4 = 13.841; boundary + 1.2816 x 2.
    e = m.expectation(20, 4)
    assert e.expected == pytest.approx(13.841, abs=0.3)
    assert e.upper - e.expected == pytest.approx(1.2815516 * m.sd[2], abs=1e-6)


def test_curve_boundary_is_calibrated_on_fresh_courses() -> None:
    """On courses from the same law that the model never saw, about 10% of scores fall above the boundary."""
    m = CurveModel.fit(synthetic_courses(3000, 2), tail=0.10)
    fresh = synthetic_courses(3000, 99)
    above = total = 0
    for c in fresh:
        for s in range(2, len(c.scores) + 1):
            j = m.judge(c.scores[:s])
            assert j is not None
            above += j.off_track
            total += 1
    assert above / total == pytest.approx(0.10, abs=0.015)


def test_neighbour_model_by_hand() -> None:
    """Two past episodes identical in intake; the pooled log-linear fit through their scores by hand."""
    past = [Course((10.0, 8.0, 6.0), (10.0, 5.0, 30.0)), Course((12.0, 9.0, 7.0), (10.0, 5.0, 30.0))]
    past += [Course((20.0, 20.0), (30.0, 20.0, 60.0))] * 10  # far away
    m = NeighbourModel.fit(past, k=2, tail=0.10)
    p = m.predict((10.0, 5.0, 30.0))
    x = np.log([1, 2, 3, 1, 2, 3])
    y = np.array([10, 8, 6, 12, 9, 7], dtype=float)
    b, a = np.polyfit(x, y, 1)
    assert (p.a, p.b, p.n) == (pytest.approx(a), pytest.approx(b), 6)
    resid = y - (a + b * x)
    assert p.sigma == pytest.approx(math.sqrt((resid**2).sum() / 4))
    again = NeighbourModel.from_bytes(m.to_bytes())
    assert again.predict((10.0, 5.0, 30.0)) == p


def test_curve_params_round_trip_and_refuse_too_little_data() -> None:
    m = CurveModel.fit(synthetic_courses(200, 3))
    assert CurveModel.from_params(m.to_params()) == m
    with pytest.raises(ValueError, match="too few"):
        CurveModel.fit([Course((10.0, 9.0))])
    with pytest.raises(ValueError, match="too few"):
        NeighbourModel.fit([Course((10.0, 9.0), (1.0,))])


@pytest.mark.parametrize(
    ("rule", "curve", "nn", "flag"),
    [
        ("curve", True, False, True),
        ("curve", False, True, False),
        ("nn", False, True, True),
        ("either", False, True, True),
        ("either", False, False, False),
        ("both", True, False, False),
        ("both", True, True, True),
    ],
)
def test_rules(rule: str, curve: bool, nn: bool, flag: bool) -> None:
    from idiograph.monitoring.recovery.expected import Judgement

    def j(off: bool) -> Judgement:
        return Judgement(3, 10, 8, 9 if off else 11)

    assert decide(rule, {"curve": j(curve), "nn": j(nn)}) is flag


def test_a_rule_falls_back_when_its_model_cannot_judge() -> None:
    from idiograph.monitoring.recovery.expected import Judgement

    off = Judgement(3, 10, 8, 9)
    assert decide("nn", {"curve": off}) is True  # no intake variables for the neighbour model
    assert decide("nn", {}) is False


@pytest.mark.parametrize(
    ("today", "statuses"),
    [
        (date(2026, 1, 20), ["upcoming", "upcoming"]),  # week 4 is 29 Jan: due from 22 Jan
        (date(2026, 1, 22), ["due", "upcoming"]),
        (date(2026, 2, 5), ["due", "upcoming"]),  # 7 days after: still due
        (date(2026, 2, 6), ["overdue", "upcoming"]),
        (date(2026, 2, 19), ["overdue", "due"]),  # week 8 is 26 Feb
        (date(2026, 3, 6), ["overdue", "overdue"]),
    ],
)
def test_review_schedule_edges(today: date, statuses: list[str]) -> None:
    slots = schedule(date(2026, 1, 1), (4, 8), today)
    assert [s.due for s in slots] == [date(2026, 1, 29), date(2026, 2, 26)]
    assert [s.status for s in slots] == statuses
    assert schedule(date(2026, 1, 1), (4, 8), today, done={4})[0].status == "done"


def test_settings_file_is_valid_and_rejects_nonsense() -> None:
    s = monitoring_settings.load()
    assert s.reviews.weeks_for("cbt") == (4, 8)
    assert s.reviews.weeks_for("guided_self_help") == (3, 6)
    with pytest.raises(ValueError, match="increasing"):
        monitoring_settings.parse(
            "not_on_track: {instruments: [phq-9], rule: curve, tail: 0.1, neighbours: 50}\n"
            "reviews: {default_weeks: [8, 4], due_before_days: 7, overdue_after_days: 7}"
        )
    with pytest.raises(ValueError, match="rule"):
        monitoring_settings.parse(
            "not_on_track: {instruments: [phq-9], rule: always, tail: 0.1, neighbours: 50}\n"
            "reviews: {default_weeks: [4], due_before_days: 7, overdue_after_days: 7}"
        )


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 27), st.integers(2, 20), st.floats(0.02, 0.4))
def test_boundary_is_above_expected_and_wider_for_a_smaller_tail(intake: float, session: int, tail: float) -> None:
    base = CurveModel.fit(synthetic_courses(300, 5), tail)
    stricter = CurveModel(base.coef, base.sd, tail / 2, base.n_episodes)
    e, e2 = base.expectation(intake, session), stricter.expectation(intake, session)
    assert e.upper > e.expected and e2.upper > e.upper and e2.expected == e.expected
