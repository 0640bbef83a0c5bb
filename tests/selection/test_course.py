"""The course model: shapes, bands and chances, against hand-worked values, properties and a simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.selection.course import CourseModel, Rules, Trajectory, _quantile, weeks_for

RULES = Rules(
    caseness={"phq-9": 10, "gad-7": 8},
    reliable={"phq-9": 6, "gad-7": 4},
    scale={"phq-9": (0, 27), "gad-7": (0, 21)},
)


def test_a_score_between_two_given_is_interpolated_and_the_last_is_held_after_the_end() -> None:
    t = Trajectory(np.array([0.0, 14.0]), np.array([20.0, 10.0]))
    assert t.at_weeks(np.array([0.0, 1.0, 2.0, 5.0])).tolist() == [20.0, 15.0, 10.0, 10.0]


def test_the_share_of_change_by_each_week_is_the_ratio_of_sums_worked_by_hand() -> None:
    # option a: two episodes, 20 -> 10 by week 2 (half at week 1) and 16 -> 12 by week 1 (all at week 1)
    # share at week 1 = ((15 - 20) + (12 - 16)) / ((10 - 20) + (12 - 16)) = 9 / 14
    trs = [
        Trajectory(np.array([0.0, 14.0]), np.array([20.0, 10.0])),
        Trajectory(np.array([0.0, 7.0]), np.array([16.0, 12.0])),
    ]
    many = trs * 10  # the shape needs 20 episodes; copies leave the ratio as it is
    n = len(many)
    model = CourseModel(weeks=2).fit(
        ["a", "b"],
        np.zeros(n, dtype=int),
        np.tile([0.5, 0.5], (n, 1)),
        {"phq-9": many},
        {"phq-9": np.array([t.scores[-1] for t in many])},
    )
    assert np.allclose(model.shape_["phq-9"]["a"], [0, 9 / 14, 1], atol=1e-4)
    assert "b" not in model.shape_["phq-9"]  # nobody received b
    assert all(half[0] == 0 for half in model.half_["phq-9"]["a"].values())  # week 0 is the intake score itself
    course = model.predict("a", {"phq-9": 18.0}, {"phq-9": 8.0}, RULES)
    assert course is not None
    assert course.expected["phq-9"] == [18.0, round(18 - 10 * 9 / 14, 1), 8.0]
    assert course.recovery is None and course.deterioration is None  # no GAD-7: no chances


def test_the_band_at_a_week_is_the_conformal_quantile_of_the_gaps_of_scores_given_that_week() -> None:
    # 40 episodes from 20 to 10 by week 2; at week 1 scores 15 +/- d for d = 1..20, so the share of change at week 1
    # is 0.5, the expected course 15 and the gaps 1, 1, 2, 2, ..., 20, 20. At coverage 0.5 with the conformal step,
    # the first k with k / 41 >= 0.5 is k = 21: the 21st smallest gap, 11. At week 2 every score is the end: gap 0.
    trs = [
        Trajectory(np.array([0.0, 7.0, 14.0]), np.array([20.0, 15.0 + sign * d, 10.0]))
        for d in range(1, 21)
        for sign in (1, -1)
    ]
    n = len(trs)
    model = CourseModel(weeks=2, coverage=0.5).fit(
        ["a", "b"], np.zeros(n, dtype=int), np.full((n, 2), 0.5), {"phq-9": trs}, {"phq-9": np.full(n, 10.0)}
    )
    assert np.allclose(model.shape_["phq-9"]["a"], [0, 0.5, 1])
    assert set(model.half_["phq-9"]["a"]) == {"all", "3"}  # everyone started at 20: the most severe group
    assert model.half_["phq-9"]["a"]["all"] == [0.0, 11.0, 0.0]


def test_bands_are_calibrated_within_intake_severity_groups() -> None:
    """Milder starts scatter less: their band is narrower than the severe group's, not the pooled width."""
    rng = np.random.default_rng(5)
    trs, ends = [], []
    for i in range(400):
        start = 6.0 if i % 2 else 22.0
        sd = 1.0 if i % 2 else 5.0
        end = start * 0.5
        days = np.arange(9) * 7.0
        scores = start + (end - start) * days / days[-1] + np.r_[0, rng.normal(0, sd, 8)]
        trs.append(Trajectory(days, scores))
        ends.append(end)
    n = len(trs)
    model = CourseModel(weeks=8).fit(
        ["a", "b"], np.zeros(n, dtype=int), np.full((n, 2), 0.5), {"phq-9": trs}, {"phq-9": np.array(ends)}
    )
    mild, severe, pooled = (model.half_["phq-9"]["a"][g][4] for g in ("0", "3", "all"))
    assert mild < 3 < pooled < severe
    a = model.predict("a", {"phq-9": 6.0}, {"phq-9": 3.0}, RULES)
    assert a is not None and a.upper["phq-9"][4] - a.lower["phq-9"][4] == pytest.approx(2 * mild, abs=0.11)


def test_the_weighted_quantile_takes_the_conformal_step_and_is_infinite_beyond_every_value() -> None:
    v = np.arange(1.0, 11.0)
    # ten equal weights: cum = k / 11; the 0.5 level is reached at the 6th value
    assert _quantile(v, np.ones(10), 0.5) == 6.0
    assert _quantile(v, np.ones(10), 0.95) == float("inf")  # 10/11 < 0.95
    assert _quantile(np.arange(1.0, 101.0), np.ones(100), 0.95) == 96.0  # ceil(0.95 * 101) = 96


def _pairs_model(pairs: list[list[float]]) -> CourseModel:
    model = CourseModel(weeks=1)
    model.options_ = ("a",)
    model.shape_ = {"phq-9": {"a": [0.0, 1.0]}, "gad-7": {"a": [0.0, 1.0]}}
    model.half_ = {"phq-9": {"a": {"all": [0.0, 2.0]}}, "gad-7": {"a": {"all": [0.0, 2.0]}}}
    model.n_ = {"phq-9": {"a": len(pairs)}, "gad-7": {"a": len(pairs)}}
    model.pairs_ = {"a": {"all": pairs}}
    return model


def test_recovery_and_deterioration_are_counted_as_nhs_talking_therapies_does() -> None:
    # expected ends PHQ-9 9, GAD-7 7 from 15 and 12; four residual pairs of equal weight:
    # (0, 0) -> 9, 7 recovered; (+1, 0) -> 10, 7 at caseness; (0, +1) -> 9, 8 at caseness; (-3, -1) recovered
    model = _pairs_model([[0, 0, 1], [1, 0, 1], [0, 1, 1], [-3, -1, 1]])
    course = model.predict("a", {"phq-9": 15.0, "gad-7": 12.0}, {"phq-9": 9.0, "gad-7": 7.0}, RULES)
    assert course is not None and course.recovery == 0.5 and course.deterioration == 0.0
    # from 4 and 3 (not at caseness): recovery does not apply; ends 9.6 -> 10 (+6 reliable) in two of four
    course = model.predict("a", {"phq-9": 4.0, "gad-7": 3.0}, {"phq-9": 9.6, "gad-7": 3.0}, RULES)
    assert course is not None and course.recovery is None
    # residuals 0, +1, 0, -3 on 9.6: 10 (+6), 11 (+7), 10 (+6), 7 (+3); GAD-7 3, 3, 4, 2: none +4
    assert course.deterioration == 0.75


def test_weights_count_in_the_chances() -> None:
    model = _pairs_model([[0, 0, 3], [5, 0, 1]])
    course = model.predict("a", {"phq-9": 15.0, "gad-7": 12.0}, {"phq-9": 5.0, "gad-7": 5.0}, RULES)
    assert course is not None and course.recovery == 0.75


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(0, 27),
    end=st.floats(-5, 35),
    gad_start=st.floats(0, 21),
    gad_end=st.floats(-5, 25),
)
def test_a_course_stays_on_the_scale_its_band_holds_it_and_chances_are_probabilities(
    start: float, end: float, gad_start: float, gad_end: float
) -> None:
    model = _pairs_model([[0, 0, 1], [4, -2, 2], [-6, 3, 1]])
    course = model.predict("a", {"phq-9": start, "gad-7": gad_start}, {"phq-9": end, "gad-7": gad_end}, RULES)
    assert course is not None
    for m, (low, high) in RULES.scale.items():
        for lo, e, hi in zip(course.lower[m], course.expected[m], course.upper[m], strict=True):
            assert low <= lo <= e <= hi <= high
    for p in (course.recovery, course.deterioration):
        assert p is None or 0 <= p <= 1


def _simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[Trajectory], np.ndarray, np.ndarray]:
    """Episodes under two options: intake 10-25, a person-level end drawn around a known expected end, scores every
    week for 6-12 weeks moving towards it with noise."""
    t = rng.integers(0, 2, n)
    start = rng.uniform(10, 25, n)
    expected = np.where(t == 0, 0.6, 0.45) * start
    trs = []
    for i in range(n):
        weeks = int(rng.integers(6, 13))
        end = expected[i] + rng.normal(0, 3)
        days = np.arange(weeks + 1) * 7.0
        frac = 1 - np.exp(-days / 21)
        frac /= frac[-1]
        scores = np.clip(start[i] + frac * (end - start[i]) + np.r_[0, rng.normal(0, 1.5, weeks)], 0, 27)
        trs.append(Trajectory(days, scores))
    return t, trs, start, expected


def test_on_simulated_courses_the_band_covers_about_95_percent_of_held_out_scores_week_by_week() -> None:
    rng = np.random.default_rng(11)
    t, trs, _, expected = _simulate(3000, rng)
    model = CourseModel(weeks=weeks_for(trs)).fit(
        ["a", "b"], t, np.full((t.size, 2), 0.5), {"phq-9": trs}, {"phq-9": expected}
    )
    t2, trs2, start2, expected2 = _simulate(3000, np.random.default_rng(12))
    inside = np.zeros(model.weeks + 1)
    for i in range(t2.size):
        c = model.predict("ab"[t2[i]], {"phq-9": start2[i]}, {"phq-9": expected2[i]}, RULES)
        assert c is not None
        seen = trs2[i].at_weeks(np.arange(model.weeks + 1, dtype=float))
        inside += (np.array(c.lower["phq-9"]) - 0.05 <= seen) & (seen <= np.array(c.upper["phq-9"]) + 0.05)
    coverage = inside[1:] / t2.size
    assert coverage.min() >= 0.93, coverage
    assert coverage.mean() <= 0.975, coverage  # a band, not the whole scale


def test_chances_use_the_residuals_of_the_persons_severity_group_and_the_pooled_ones_without_one() -> None:
    model = _pairs_model([[6, 0, 1]])
    model.pairs_["a"]["0"] = [[0, 0, 1]]
    mild = model.predict("a", {"phq-9": 4.0, "gad-7": 3.0}, {"phq-9": 4.0, "gad-7": 3.0}, RULES)
    moderate = model.predict("a", {"phq-9": 12.0, "gad-7": 3.0}, {"phq-9": 12.0, "gad-7": 3.0}, RULES)
    assert mild is not None and mild.deterioration == 0.0  # its own group's residual: no change
    assert moderate is not None and moderate.deterioration == 1.0  # no group "1": the pooled residual, +6
