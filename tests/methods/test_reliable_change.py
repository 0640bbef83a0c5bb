"""Jacobson-Truax RCI against CLINICAL.md section 3's worked thresholds and hand computation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.methods import reliable_change as jt


def test_phq9_and_gad7_thresholds_match_nhs_talking_therapies() -> None:
    # SD 5.4, r 0.84: SE = 5.4 * 0.4 = 2.16, Sdiff = 2.16 * sqrt 2 = 3.0547, x 1.96 = 5.987 -> 6 points.
    assert jt.standard_error(5.4, 0.84) == pytest.approx(2.16)
    assert jt.s_diff(5.4, 0.84) == pytest.approx(3.05470, abs=1e-5)
    assert jt.threshold(5.4, 0.84) == pytest.approx(5.98722, abs=1e-5)
    assert math.ceil(jt.threshold(5.4, 0.84)) == 6
    # SD 3.5, r 0.83: SE = 1.44309, Sdiff = 2.04083, x 1.96 = 4.0000 -> 4 points.
    assert jt.threshold(3.5, 0.83) == pytest.approx(4.00002, abs=1e-4)


def test_classify_by_hand() -> None:
    # PHQ-9 18 -> 11: change -7, RCI = -7 / 3.05470 = -2.29155: reliable improvement.
    c = jt.classify(18, 11, 5.4, 0.84)
    assert c.rci == pytest.approx(-2.29155, abs=1e-5) and c.direction == "improved" and c.change == -7
    # 18 -> 13: RCI -1.637: not reliable.
    assert jt.classify(18, 13, 5.4, 0.84).direction == "no reliable change"
    # 8 -> 15 deteriorated; for a measure where higher is better the same change is an improvement.
    assert jt.classify(8, 15, 5.4, 0.84).direction == "deteriorated"
    assert jt.classify(8, 15, 5.4, 0.84, lower_is_better=False).direction == "improved"


def test_either_side_of_196() -> None:
    sd, r = 10.0, 0.5  # Sdiff = sqrt(2 * 50) = 10, so the threshold is 19.6 points
    assert jt.s_diff(sd, r) == pytest.approx(10.0)
    assert jt.classify(50, 50 - 19.59, sd, r).direction == "no reliable change"
    assert jt.classify(50, 50 - 19.61, sd, r).direction == "improved"
    assert jt.classify(50, 50 + 19.61, sd, r).direction == "deteriorated"


def test_cutoffs_by_hand() -> None:
    # Clinical M 15, SD 5; functional M 4, SD 3 (lower is better):
    # a = 15 - 10 = 5; b = 4 + 6 = 10; c = (3*15 + 5*4) / 8 = 65/8 = 8.125.
    c = jt.cutoffs(15, 5, 4, 3)
    assert (c.a, c.b, c.c) == (5, 10, pytest.approx(8.125))
    assert jt.cutoffs(15, 5).b is None


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="reliability"):
        jt.rci(1, 2, 5, 1.0)
    with pytest.raises(ValueError, match="sd"):
        jt.rci(1, 2, 0, 0.8)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 100),
    st.floats(0, 100),
    st.floats(0.1, 50),
    st.floats(0.0, 0.99),
)
def test_rci_is_antisymmetric_and_direction_agrees_with_threshold(x1: float, x2: float, sd: float, r: float) -> None:
    assert jt.rci(x1, x2, sd, r) == pytest.approx(-jt.rci(x2, x1, sd, r))
    c = jt.classify(x1, x2, sd, r)
    reliable = abs(x2 - x1) > jt.threshold(sd, r) * (1 + 1e-12)
    unreliable = abs(x2 - x1) < jt.threshold(sd, r) * (1 - 1e-12)
    if reliable:
        assert c.direction != "no reliable change"
    if unreliable:
        assert c.direction == "no reliable change"


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 27), st.integers(0, 27), st.integers(1, 10))
def test_a_criterion_in_points_is_inclusive_and_symmetric(x1: int, x2: int, points: int) -> None:
    rule = jt.Criterion(5.4, 0.84, points)
    there, back = rule.judge(x1, x2), rule.judge(x2, x1)
    assert (there.direction != "no reliable change") == (abs(x2 - x1) >= points)
    flipped = {"improved": "deteriorated", "deteriorated": "improved", "no reliable change": "no reliable change"}
    assert back.direction == flipped[there.direction]
    assert there.threshold == points
