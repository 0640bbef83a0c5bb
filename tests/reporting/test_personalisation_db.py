"""Personalisation from the database: hand-built rows give hand-worked shares and comparisons; one aggregate audit
record per read; a clinician may not read it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment, CrisisPlan, Preferences
from idiograph.errors import NotPermitted
from idiograph.governance.model import Decision, Escalation
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.patients.model import Encounter, Person
from idiograph.reporting.personalisation import comparisons
from idiograph.reporting.personalisation_db import inputs, judged, personalisation_section
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal

D = date.fromisoformat
START, END = D("2025-03-01"), D("2025-06-30")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(D(day), datetime.min.time(), UTC).replace(hour=hour)


def test_judged_by_hand() -> None:
    # Monday 7 April 2025 10:00 UTC is 11:00 in London: a Monday morning
    data = {"days": ["mon"], "periods": ["morning"], "places": ["home"], "formats": ["video"]}
    assert judged(data, at("2025-04-07"), "home", "video") == {"time": True, "place": True, "format": True}
    assert judged(data, at("2025-04-07", 16), "clinic", "video") == {"time": False, "place": False, "format": True}
    assert judged({"places": ["clinic"]}, at("2025-04-08"), "clinic", "phone") == {
        "time": None,
        "place": True,
        "format": None,
    }


@pytest.fixture
def rows(db: Session) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for name in "abcd":
        p = Person(given_name="Test", family_name=name, sex="female")
        db.add(p)
        db.flush()
        ids[name] = p.id

    def prefs(name: str, day: str, data: dict[str, object]) -> None:
        db.add(Preferences(person_id=ids[name], version=1, data=data, recorded_by="t", recorded_at=at(day)))

    def appt(name: str, day: str, place: str, fmt: str, status: str) -> None:
        db.add(Appointment(person_id=ids[name], start=at(day), place=place, format=fmt, status=status, created_by="t"))

    def phq(name: str, total: int) -> None:
        db.add(
            QuestionnaireResponseRecord(
                person_id=ids[name],
                instrument="phq-9",
                authored_at=at("2025-03-02"),
                status="completed",
                total=total,
                source="test",
                source_id=f"qr-{name}",
            )
        )

    prefs("a", "2025-03-01", {"days": ["mon"], "periods": ["morning"], "places": ["home"], "formats": ["video"]})
    appt("a", "2025-04-07", "home", "video", "attended")  # all three met
    appt("a", "2025-04-08", "clinic", "in_person", "did_not_attend")  # none met
    appt("a", "2025-07-15", "clinic", "in_person", "did_not_attend")  # after the period
    appt("a", "2025-04-09", "clinic", "in_person", "booked")  # no attendance outcome
    prefs("b", "2025-03-01", {"places": ["home"]})
    appt("b", "2025-04-09", "clinic", "in_person", "did_not_attend")  # place not met
    appt("c", "2025-04-09", "clinic", "in_person", "attended")  # no preference stated
    prefs("d", "2025-05-01", {"places": ["clinic"]})
    appt("d", "2025-04-10", "clinic", "in_person", "attended")  # before the preference was stated
    appt("d", "2025-05-12", "clinic", "in_person", "attended")  # place met
    phq("a", 12)
    phq("b", 14)  # both moderate (10-14)
    db.add(CrisisPlan(person_id=ids["a"], version=1, content={}, updated_by="t", updated_at=at("2025-02-01")))
    db.add(
        Encounter(
            person_id=ids["b"], status="finished", class_code="IMP", start=at("2025-05-01"), source="t", source_id="e1"
        )
    )

    def decision(name: str, day: str, authority: str) -> Decision:
        d = Decision(
            person_id=ids[name],
            change="appointment.time",
            summary="s",
            payload={},
            rationale="r",
            based_on={},
            requested_by="t",
            requested_role="clinician",
            decided_at=at(day),
            status="applied" if authority != "pending" else "pending",
            authority=authority,
            policy_version="1",
            policy_reason="p",
        )
        db.add(d)
        db.flush()
        return d

    decision("a", "2025-04-01", "delegated")
    decision("a", "2025-01-01", "delegated")  # before the period
    esc = decision("b", "2025-04-02", "approved")
    db.add(
        Escalation(
            decision_id=esc.id,
            person_id=ids["b"],
            to_role="service_lead",
            reason="r",
            raised_at=at("2025-04-02", 10),
            due_at=at("2025-04-05"),
            status="approved",
            answered_at=at("2025-04-03", 16),
        )
    )
    db.flush()
    return ids


def test_hand_worked_section_from_the_database(db: Session, rows: dict[str, uuid.UUID]) -> None:
    out = personalisation_section(db, Principal.system("test"), START, END)
    pref = out["preferred"]
    # time: a's two appointments (1 met); place: a 1/2, b 0/1, d 1/1 (d's April one predates the preference)
    assert (pref["time"]["numerator"], pref["time"]["denominator"]) == (1, 2)
    assert (pref["place"]["numerator"], pref["place"]["denominator"]) == (2, 4)
    assert (pref["format"]["numerator"], pref["format"]["denominator"]) == (1, 2)
    gov = out["governance"]
    assert (gov["delegated"]["numerator"], gov["delegated"]["denominator"]) == (1, 2)
    assert gov["escalations"] == 1 and gov["median_hours_to_answer"] == 30.0
    # published: every arm here is 1 to 7, so each comparison is withheld
    assert all(
        out["comparisons"][k]["suppressed"] for k in ("dna_by_preferences_met", "crisis_admission_by_crisis_plan")
    )
    c = comparisons(*inputs(db, START, END)[:2])  # the unrounded figures, by hand
    dna = c["dna_by_preferences_met"]
    # met: a (1 of 2 appointments met everything: half) and d; not met: b. Moderate band: a 1/2 vs b 1/1
    assert (dna["with"]["numerator"], dna["with"]["denominator"]) == (1, 4)
    assert (dna["without"]["numerator"], dna["without"]["denominator"]) == (1, 1)
    assert dna["difference"] == -50.0  # d has no baseline PHQ-9 and no one unmet beside them: adds nothing
    crisis = c["crisis_admission_by_crisis_plan"]
    assert (crisis["with"]["numerator"], crisis["with"]["denominator"]) == (0, 1)
    assert (crisis["without"]["numerator"], crisis["without"]["denominator"]) == (1, 3)
    assert crisis["difference"] == -100.0
    assert out["by"]["sex"][0]["group"] == "female"


def test_one_aggregate_audit_record_and_no_clinician(db: Session, rows: dict[str, uuid.UUID], make_staff) -> None:  # type: ignore[no-untyped-def]
    before = db.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    lead = make_staff("lead1", "service_lead")
    personalisation_section(db, lead.principal, START, END)
    found = db.scalars(
        select(AuditRecord).where(AuditRecord.seq > before, AuditRecord.resource_type == "PersonalisationReport")
    ).all()
    assert len(found) == 1 and found[0].person_id is None and found[0].actor == "lead1"
    assert found[0].detail == {"from": "2025-03-01", "to": "2025-06-30", "people": 4}
    with pytest.raises(NotPermitted):
        personalisation_section(db, make_staff("clin1", "clinician").principal, START, END)


def test_kpi_document_carries_the_section_and_keeps_its_keys(db: Session, rows: dict[str, uuid.UUID]) -> None:
    from idiograph.reporting.kpi_report import report_document
    from idiograph.reporting.referrals_db import kpi_document

    doc = kpi_document(db, Principal.system("test"), START, END)
    assert {"period", "kpis", "community", "by", "supplementary", "funnel", "notes"} <= set(doc)
    assert doc["personalisation"]["available"] is True
    assert doc["personalisation"]["preferred"]["place"]["denominator"] == 4
    folder = report_document([], START, END)
    assert folder["personalisation"]["available"] is False and "Not available" in folder["personalisation"]["note"]
