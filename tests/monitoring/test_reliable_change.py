"""Jacobson-Truax RCI against CLINICAL.md section 3's worked thresholds and hand computation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.measures.definitions import instruments
from idiograph.monitoring import reliable_change as jt


def test_phq9_and_gad7_thresholds_match_nhs_talking_therapies() -> None:
    # SD 5.4, r 0.84: SE = 5.4 * 0.4 = 2.16, Sdiff = 2.16 * sqrt 2 = 3.0547, x 1.96 = 5.987 -> 6 points.
    assert jt.standard_error(5.4, 0.84) == pytest.approx(2.16)
    assert jt.s_diff(5.4, 0.84) == pytest.approx(3.05470, abs=1e-5)
    assert jt.threshold(5.4, 0.84) == pytest.approx(5.98722, abs=1e-5)
    assert math.ceil(jt.threshold(5.4, 0.84)) == 6
    # SD 3.5, r 0.83: SE = 1.44309, Sdiff = 2.04083, x 1.96 = 4.0000 -> 4 points.
    assert jt.threshold(3.5, 0.83) == pytest.approx(4.00002, abs=1e-4)


def test_instrument_files_carry_those_inputs_and_the_national_criterion() -> None:
    phq9, gad7 = jt.criterion(instruments()["phq-9"]), jt.criterion(instruments()["gad-7"])
    assert phq9 is not None and gad7 is not None
    assert (phq9.points, gad7.points) == (6, 4)
    # The Jacobson-Truax inputs agree with the criterion to the nearest point, but the criterion decides:
    # GAD-7's computed threshold is 4.00002, so "|RCI| > 1.96" would call a 4-point change unreliable.
    assert math.ceil(jt.threshold(phq9.sd, phq9.reliability)) == 6
    assert jt.threshold(gad7.sd, gad7.reliability) > 4


# Hand-worked boundaries for every shipped instrument: (first, latest) -> direction, or None when the
# instrument has no reliable-change rule (its record says "reliability not known").
BOUNDARIES: dict[str, list[tuple[float, float, str | None]]] = {
    "phq-9": [
        (12, 6, "improved"),
        (12, 7, "no reliable change"),
        (6, 12, "deteriorated"),
        (7, 12, "no reliable change"),
    ],
    "gad-7": [
        (10, 6, "improved"),
        (10, 7, "no reliable change"),
        (6, 10, "deteriorated"),
        (7, 10, "no reliable change"),
    ],
    "phq-2": [(6, 0, None)],
    "pcl-5": [(60, 0, None)],
    "audit": [(30, 0, None)],
    "wsas": [(30, 0, None)],
    "core-10": [(30, 0, None)],
}


def test_every_instrument_has_a_hand_worked_boundary() -> None:
    assert set(BOUNDARIES) == set(instruments())
    for inst_id, cases in BOUNDARIES.items():
        for first, latest, expected in cases:
            change = jt.since_first(instruments()[inst_id], [first, latest])
            assert change is not None
            got = change.change.direction if change.change else None
            assert got == expected, (inst_id, first, latest)


def test_the_record_and_the_national_metrics_agree_at_the_boundary() -> None:
    """One clinical fact, one answer: a GAD-7 change of exactly 4 points (found: the record said "no
    reliable change" while the NHS Talking Therapies metrics counted it)."""
    from idiograph.monitoring.recovery import classify as nhs_tt

    for (p0, p1), (g0, g1) in [((9, 9), (10, 6)), ((12, 6), (5, 5)), ((9, 9), (6, 10)), ((6, 12), (5, 5))]:
        record_phq = jt.since_first(instruments()["phq-9"], [p0, p1])
        record_gad = jt.since_first(instruments()["gad-7"], [g0, g1])
        assert record_phq and record_gad and record_phq.change and record_gad.change
        directions = {record_phq.change.direction, record_gad.change.direction}
        o = nhs_tt([(p0, g0), (p1, g1)], attended_treatment=2)
        assert o.reliable_improvement == ("improved" in directions and "deteriorated" not in directions)
        assert o.reliable_deterioration == ("deteriorated" in directions)


def test_jacobson_truax_decides_where_there_is_no_criterion() -> None:
    rule = jt.Criterion(sd=10.0, reliability=0.5)  # Sdiff 10: reliable beyond 19.6 points
    assert rule.threshold == pytest.approx(19.6)
    assert rule.judge(50, 50 - 19.59).direction == "no reliable change"
    assert rule.judge(50, 50 - 19.61).direction == "improved"
    assert "Jacobson-Truax" in rule.method
    assert "6 or more points" in jt.Criterion(5.4, 0.84, 6).method


def test_a_single_score_has_no_change_to_judge() -> None:
    one = jt.since_first(instruments()["phq-9"], [14])
    assert one is not None and one.change is None and one.n == 1


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
