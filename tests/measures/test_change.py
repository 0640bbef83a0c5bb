"""Each instrument's one reliable-change rule: hand-worked boundaries, and the record agreeing with the NHS
Talking Therapies metrics (CLINICAL.md sections 2-3)."""

from __future__ import annotations

import math

import pytest

from idiograph.instruments.definitions import ReliableChange, instruments
from idiograph.measures import change
from idiograph.methods import reliable_change as jt


def test_instrument_files_carry_those_inputs_and_the_national_criterion() -> None:
    phq9, gad7 = change.criterion(instruments()["phq-9"]), change.criterion(instruments()["gad-7"])
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
    # a mean on 1-7 where higher is better; no published reliable-change criterion could be verified (dialog.yaml)
    "dialog": [(2.0, 6.5, None), (6.5, 1.0, None)],
}


def test_every_instrument_has_a_hand_worked_boundary() -> None:
    assert set(BOUNDARIES) == set(instruments())
    for inst_id, cases in BOUNDARIES.items():
        for first, latest, expected in cases:
            found = change.since_first(instruments()[inst_id], [first, latest])
            assert found is not None
            got = found.change.direction if found.change else None
            assert got == expected, (inst_id, first, latest)


def test_the_record_and_the_national_metrics_agree_at_the_boundary() -> None:
    """One clinical fact, one answer: a GAD-7 change of exactly 4 points (found: the record said "no
    reliable change" while the NHS Talking Therapies metrics counted it)."""
    from idiograph.monitoring.outcomes.nhs_talking_therapies import classify as nhs_tt

    for (p0, p1), (g0, g1) in [((9, 9), (10, 6)), ((12, 6), (5, 5)), ((9, 9), (6, 10)), ((6, 12), (5, 5))]:
        record_phq = change.since_first(instruments()["phq-9"], [p0, p1])
        record_gad = change.since_first(instruments()["gad-7"], [g0, g1])
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
    one = change.since_first(instruments()["phq-9"], [14])
    assert one is not None and one.change is None and one.n == 1


def test_a_higher_is_better_instrument_judges_a_rise_as_improvement() -> None:
    """Direction comes from the instrument file: the same 2-point rise is a deterioration on a symptom scale and
    an improvement on a satisfaction scale (DIALOG-like), with the same threshold."""
    rc = ReliableChange(sd=1.0, reliability=0.5, points=1, source="test")
    satisfaction = instruments()["dialog"].model_copy(update={"reliable_change": rc})
    symptom = satisfaction.model_copy(update={"higher_is_better": False})
    up_symptom = change.since_first(symptom, [3.0, 5.0])
    up_satisfaction = change.since_first(satisfaction, [3.0, 5.0])
    down_satisfaction = change.since_first(satisfaction, [5.0, 3.0])
    small = change.since_first(satisfaction, [3.0, 3.5])
    assert up_symptom and up_symptom.change and up_symptom.change.direction == "deteriorated"
    assert up_satisfaction and up_satisfaction.change and up_satisfaction.change.direction == "improved"
    assert down_satisfaction and down_satisfaction.change and down_satisfaction.change.direction == "deteriorated"
    assert small and small.change and small.change.direction == "no reliable change"
