"""The chosen option's band on the record follows the intervention in place."""

from __future__ import annotations

from datetime import UTC, datetime

from idiograph.governance.model import Decision
from idiograph.instruments.definitions import instruments
from idiograph.web.pages.chosen import bands

COURSE = {
    "weeks": [0, 1, 2],
    "measures": {"phq-9": {"expected": [15, 12, 10], "lower": [15, 6, 3], "upper": [15, 18, 17]}},
}


def _decision(change: str, prediction: dict | None, status: str = "applied") -> Decision:  # type: ignore[type-arg]
    return Decision(change=change, status=status, based_on={"prediction": prediction} if prediction else {})


def test_the_band_is_the_intervention_now_in_place_and_none_after_a_change_without_a_choice() -> None:
    shown = {"option": "cbt", "label": "Individual CBT", "course": COURSE, "course_start": "2026-11-01T10:00:00+00:00"}
    total = instruments()["phq-9"].total
    drawn = bands([_decision("intervention", shown)])
    band = drawn[(total.system, total.code)]
    assert band.option == "Individual CBT" and band.points[0][0] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert [p[2:] for p in band.points] == [(15, 15), (6, 18), (3, 17)]
    # a frequency change later leaves the band; a change of intervention without choosing removes it
    assert bands([_decision("intervention", shown), _decision("appointment.frequency", None)])
    assert bands([_decision("intervention", shown), _decision("intervention", None)]) == {}
    # a choice still waiting for a senior clinician is not the intervention in place
    assert bands([_decision("intervention", shown, status="pending")]) == {}
