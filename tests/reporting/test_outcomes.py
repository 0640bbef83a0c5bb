"""The service summary's outcome rates: national definitions over finished courses, Wilson intervals, and small
numbers suppressed (hand-worked cases)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.patients.model import Episode, Person
from idiograph.reporting.outcomes import service_outcomes

PHQ9, GAD7 = instruments()["phq-9"].total, instruments()["gad-7"].total


def _course(db: Session, n: int, scores: list[tuple[float, float]], discharged: bool = True) -> None:
    person = Person(given_name=f"P{n}", family_name="Test")
    db.add(person)
    db.flush()
    db.add(
        Episode(
            person_id=person.id,
            referral_date=date(2026, 1, 5),
            referral_source="gp",
            presenting_problem="depression",
            pathway="cbt",
            discharge_date=date(2026, 6, 1) if discharged else None,
            discharge_reason="completed" if discharged else None,
        )
    )
    for week, (phq, gad) in enumerate(scores):
        at = datetime(2026, 1, 12 + 7 * week, 10, tzinfo=UTC)
        for total, value in ((PHQ9, phq), (GAD7, gad)):
            db.add(
                Observation(
                    person_id=person.id,
                    system=total.system,
                    code=total.code,
                    value=value,
                    unit="{score}",
                    effective_at=at,
                    source="test",
                    source_id=f"{n}-{week}-{total.code}",
                    recorded_by="test",
                )
            )


def test_rates_on_hand_worked_courses(db: Session) -> None:
    # 12 recover (18/14 -> 5/4: out of caseness, down 13 and 10 points); 12 stay ill (18/14 -> 17/13: one point);
    # 2 courses with one score pair (not finished); 1 still open: neither counts
    for n in range(12):
        _course(db, n, [(18, 14), (12, 9), (5, 4)])
    for n in range(12, 24):
        _course(db, n, [(18, 14), (17, 13)])
    _course(db, 30, [(18, 14)])
    _course(db, 31, [(20, 15)])
    _course(db, 32, [(18, 14), (5, 4)], discharged=False)
    db.flush()
    finished, rates = service_outcomes(db)
    assert finished == 25  # 24 rounded to the nearest 5
    by = {r.name: r for r in rates}
    recovery = by["Recovery"]
    assert recovery.percent == pytest.approx(50.0) and recovery.numerator == 10 and recovery.denominator == 25
    # Wilson 95% for 12/24: 0.3142 to 0.6858 (hand-worked: centre 0.5, half 1.96*sqrt(.25/24+.96/2304)/(1+.16))
    assert recovery.low == pytest.approx(31.42, abs=0.01) and recovery.high == pytest.approx(68.58, abs=0.01)
    assert by["Reliable improvement"].percent == pytest.approx(50.0)
    assert by["Reliable recovery"].percent == pytest.approx(50.0)
    assert by["Reliable deterioration"].percent == 0.0


def test_small_numbers_are_suppressed_and_so_are_rates_that_would_reveal_them(db: Session) -> None:
    for n in range(10):
        _course(db, n, [(18, 14), (5, 4)])
    for n in range(10, 13):
        _course(db, n, [(18, 14), (17, 13)])
    db.flush()
    _, rates = service_outcomes(db)
    recovery = next(r for r in rates if r.name == "Recovery")
    # 10 of 13: the 3 not recovered could be worked out from a rate, so the rate is not shown
    assert recovery.suppressed and recovery.numerator == 10 and recovery.denominator == 15
    deterioration = next(r for r in rates if r.name == "Reliable deterioration")
    assert deterioration.suppressed is False and deterioration.percent == 0.0
