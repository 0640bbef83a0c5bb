"""Appointments say what they are for and which referral they belong to; reports read treatment contacts from that
(NHS Talking Therapies appointment types: treatment, assessment and treatment, review and treatment)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.patients.model import Episode, Person
from idiograph.reporting.kpis import compute
from idiograph.reporting.referrals_db import contact_roles, referrals_from_db

SOON = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def t(day: int) -> datetime:
    return datetime(2025, 3, day, 10, tzinfo=UTC)


def test_contact_roles_by_hand() -> None:
    # untyped, as before: the first is the assessment, the rest treatment contacts
    assert contact_roles([(t(3), None), (t(10), None), (t(17), None)]) == (t(3), [t(10), t(17)])
    # typed: a review without treatment ("other") is no treatment contact; "review and treatment" is one
    typed = [(t(3), "assessment"), (t(10), "other"), (t(17), "review_and_treatment"), (t(24), "treatment")]
    assert contact_roles(typed) == (t(3), [t(17), t(24)])
    # assessment and treatment in one contact: both the assessment and the first treatment contact
    assert contact_roles([(t(3), "assessment_and_treatment"), (t(10), "treatment")]) == (t(3), [t(3), t(10)])
    # the assessment missed (not attended, so not here): the treatment contacts are not taken for an assessment
    assert contact_roles([(t(10), "treatment"), (t(17), "treatment")]) == (None, [t(10), t(17)])
    # order is by time, whatever order they come in; an untyped contact after an assessment is treatment
    assert contact_roles([(t(17), None), (t(3), "assessment")]) == (t(3), [t(17)])


def _episode(db: Session, person: Person, start: date, end: date | None) -> Episode:
    ep = Episode(
        person_id=person.id,
        referral_date=start,
        referral_source="gp",
        presenting_problem="depression",
        pathway="step 2",
        discharge_date=end,
        discharge_reason="completed" if end else None,
    )
    db.add(ep)
    db.flush()
    return ep


def test_two_attended_contacts_one_of_them_not_treatment_is_not_a_finished_course(db: Session) -> None:
    person = Person(given_name="T", family_name="C", sex="female")
    db.add(person)
    db.flush()
    first = _episode(db, person, date(2025, 1, 6), date(2025, 2, 28))
    second = _episode(db, person, date(2025, 2, 3), date(2025, 4, 30))  # overlapping repeat referral
    for day, kind, ep in (
        (3, "assessment", second),
        (10, "other", second),
        (17, "treatment", second),
        (24, "treatment", first),  # the later referral was open that day too: this one was booked for the first
    ):
        db.add(
            Appointment(
                person_id=person.id,
                start=datetime(2025, 2, day, 10, tzinfo=UTC),
                place="clinic",
                format="in_person",
                status="attended",
                created_by="t",
                contact_type=kind,
                episode_id=ep.id,
            )
        )
    db.flush()
    table = {r.referral_id: r for r in referrals_from_db(db)}
    own = table[str(second.id)]
    assert (own.assessed_date, own.first_treatment_date, own.attended_treatment) == (
        date(2025, 2, 3),
        date(2025, 2, 17),
        1,
    )
    assert table[str(first.id)].attended_treatment == 1
    kpis = compute([own], date(2025, 4, 1), date(2025, 4, 30)).kpis
    assert kpis["finished_course"].numerator == 0  # one treatment contact: not finished, though two attended


def test_booking_says_what_it_is_for_and_links_the_open_episode(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    ep = {"referral_date": "2026-01-05", "referral_source": "gp", "presenting_problem": "depression", "pathway": "cbt"}
    eid = client.post(f"/api/v1/people/{pid}/episodes", json=ep, headers=clin.auth).json()["id"]
    body = {"start": SOON.isoformat(), "place": "clinic", "format": "in_person", "contact_type": "assessment"}
    made = client.post(f"/api/v1/people/{pid}/appointments", json=body, headers=clin.auth)
    assert made.status_code == 201, made.text
    assert made.json()["contact_type"] == "assessment" and made.json()["episode_id"] == eid
    bad = client.post(f"/api/v1/people/{pid}/appointments", json={**body, "contact_type": "therapy"}, headers=clin.auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "contact_type"
    other = client.post(
        f"/api/v1/people/{pid}/appointments", json={**body, "episode_id": str(uuid.uuid4())}, headers=clin.auth
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "episode_id"
    assert len(client.get(f"/api/v1/people/{pid}/appointments", headers=clin.auth).json()) == 1  # nothing else kept


def test_without_an_open_referral_only_other_appointments_are_booked(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    body = {"start": SOON.isoformat(), "place": "clinic", "format": "in_person"}
    for kind in ("treatment", "assessment", "review_and_treatment"):
        refused = client.post(
            f"/api/v1/people/{pid}/appointments", json={**body, "contact_type": kind}, headers=clin.auth
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "contact_type"
        assert "no open" in refused.json()["errors"][0]["reason"]
    other = client.post(f"/api/v1/people/{pid}/appointments", json={**body, "contact_type": "other"}, headers=clin.auth)
    assert other.status_code == 201 and other.json()["episode_id"] is None
    assert len(client.get(f"/api/v1/people/{pid}/appointments", headers=clin.auth).json()) == 1
