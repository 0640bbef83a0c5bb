"""The course model: shapes, bands and chances, against hand-worked values, properties and a simulation."""

from __future__ import annotations

import numpy as np
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
    # with exact end predictions the course at week 1 is 20 - 10 * 9/14 and 16 - 4 * 9/14: gaps 5 * ... by hand
    gaps = sorted([abs(15 - (20 - 10 * 9 / 14)), abs(12 - (16 - 4 * 9 / 14))] * 10)
    assert model.half_["phq-9"]["a"][0] == 0
    assert abs(model.half_["phq-9"]["a"][1] - max(gaps)) < 1e-3  # the 95% quantile of 20 equal-weight gaps: the top
    course = model.predict("a", {"phq-9": 18.0}, {"phq-9": 8.0}, RULES)
    assert course is not None
    assert course.expected["phq-9"] == [18.0, round(18 - 10 * 9 / 14, 1), 8.0]
    assert course.recovery is None and course.deterioration is None  # no GAD-7: no chances


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
    model.half_ = {"phq-9": {"a": [0.0, 2.0]}, "gad-7": {"a": [0.0, 2.0]}}
    model.n_ = {"phq-9": {"a": len(pairs)}, "gad-7": {"a": len(pairs)}}
    model.pairs_ = {"a": pairs}
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
