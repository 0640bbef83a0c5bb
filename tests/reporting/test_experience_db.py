"""Experience of choice from the database: responses in the period by England's days, rates per question under
disclosure control."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from idiograph.measures.model import ExperienceResponse
from idiograph.patients.model import Person
from idiograph.reporting.experience_db import experience_document

Q1 = "747861000000100"


def test_period_is_whole_days_in_england_and_rates_follow_disclosure(db: Session) -> None:
    person = Person(given_name="Test", family_name="Experience", sex="female")
    db.add(person)
    db.flush()

    def answer(when: datetime, value: str, form: str = "peq-assessment") -> None:
        db.add(ExperienceResponse(person_id=person.id, form=form, version="t", answers={Q1: value}, authored_at=when))

    # 30 June 2025 23:30 UTC is 1 July 00:30 in London (summer time): in July, not June
    answer(datetime(2025, 6, 30, 23, 30, tzinfo=UTC), "N")
    # 31 May 23:30 UTC is 1 June 00:30 in London: in June
    answer(datetime(2025, 5, 31, 23, 30, tzinfo=UTC), "Y")
    for i in range(19):
        answer(datetime(2025, 6, 10, 9, i, tzinfo=UTC), "Y" if i < 11 else "N")
    db.flush()
    doc = experience_document(db, date(2025, 6, 1), date(2025, 6, 30))
    forms = {f["id"]: f for f in doc["forms"]}
    assert forms["peq-assessment"]["responses"] == 20  # 20 answered in June (England's days)
    assert forms["peq-discharge"]["responses"] == 0
    q1 = next(q for q in doc["questions"] if q["form"] == "peq-assessment" and q["code"] == Q1)
    # 12 Yes of 20 = 60.0% (Wilson 38.7% to 78.1%), published as 10 of 20
    assert (q1["rate"], q1["ci"], q1["numerator"], q1["denominator"]) == (60.0, [38.7, 78.1], 10, 20)
    assert "Patient Experience Questionnaire" in doc["source"]
    july = experience_document(db, date(2025, 7, 1), date(2025, 7, 31))
    assert next(f for f in july["forms"] if f["id"] == "peq-assessment")["responses"] is None  # 1: suppressed


def test_the_kpi_document_carries_experience_and_a_folder_says_it_has_none(db: Session) -> None:
    from idiograph.reporting.kpi_report import report_document
    from idiograph.reporting.referrals_db import kpi_document
    from idiograph.security.principal import Principal

    person = Person(given_name="Test", family_name="Experience", sex="female")
    db.add(person)
    db.flush()
    for i in range(20):
        db.add(
            ExperienceResponse(
                person_id=person.id,
                form="peq-discharge",
                version="t",
                answers={"747921000000103": "4" if i < 12 else "1"},
                authored_at=datetime(2025, 6, 10, 9, i, tzinfo=UTC),
            )
        )
    db.flush()
    doc = kpi_document(db, Principal.system("test"), date(2025, 4, 1), date(2025, 6, 30))
    involved = next(q for q in doc["experience"]["questions"] if q["code"] == "747921000000103")
    assert doc["experience"]["available"] is True and (involved["rate"], involved["denominator"]) == (60.0, 20)
    assert not [n for n in doc["notes"] if n.startswith("experience and community_outcomes")]
    off = kpi_document(db, Principal.system("test"), date(2025, 4, 2), date(2025, 6, 30))
    assert [n for n in off["notes"] if n.startswith("experience and community_outcomes")]  # said, off the grid
    folder = report_document([], date(2025, 4, 1), date(2025, 6, 30))
    assert folder["experience"]["available"] is False and "self-report link" in folder["experience"]["note"]
