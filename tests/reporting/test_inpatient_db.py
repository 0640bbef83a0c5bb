"""Follow-up after inpatient discharge and readmission from the database: imported admission encounters and the
person's appointments, judged at a given time; not available without discharges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.patients.model import Encounter, Person
from idiograph.reporting.inpatient_db import section


def test_section_by_hand(db: Session) -> None:
    a, b = (Person(given_name="T", family_name=n, sex="female") for n in "ab")
    db.add_all([a, b])
    db.flush()
    out_a = datetime(2025, 6, 2, 12, tzinfo=UTC)
    out_b = datetime(2025, 6, 10, 12, tzinfo=UTC)

    def stay(p: Person, start: datetime, end: datetime | None, sid: str) -> None:
        db.add(
            Encounter(
                person_id=p.id, status="finished", class_code="IMP", start=start, end=end, source="t", source_id=sid
            )
        )

    stay(a, out_a - timedelta(days=20), out_a, "a1")
    stay(a, out_a + timedelta(days=25), None, "a2")  # readmitted on day 25, still in hospital
    stay(b, out_b - timedelta(days=9), out_b, "b1")
    for p, at, status in (
        (a, out_a + timedelta(hours=72), "attended"),  # exactly 72 hours: followed up
        (b, out_b + timedelta(hours=30), "did_not_attend"),  # missed: not a follow-up
        (b, out_b + timedelta(hours=80), "attended"),  # too late
    ):
        db.add(Appointment(person_id=p.id, start=at, place="clinic", format="in_person", status=status, created_by="t"))
    db.flush()
    doc = section(db, date(2025, 6, 1), date(2025, 6, 30), as_of=datetime(2025, 8, 1, tzinfo=UTC))
    assert doc["available"] and doc["discharges"] == 2
    assert (doc["follow_up_72_hours"]["numerator"], doc["follow_up_72_hours"]["denominator"]) == (1, 2)
    assert (doc["readmission_30_days"]["numerator"], doc["readmission_30_days"]["denominator"]) == (1, 2)
    early = section(db, date(2025, 6, 1), date(2025, 6, 30), as_of=datetime(2025, 6, 20, tzinfo=UTC))
    assert early["readmission_30_days"]["window_still_open"] == 2 and early["readmission_30_days"]["denominator"] == 0
    none = section(db, date(2025, 1, 1), date(2025, 1, 31), as_of=datetime(2025, 8, 1, tzinfo=UTC))
    assert none["available"] is False and none["follow_up_72_hours"] is None
