"""State changes that must happen once (escalation answers, attendance, a review) are conditional updates:
fired concurrently, one succeeds and the rest get a clear 409, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from idiograph.care import service as care
from idiograph.care.model import Appointment, AppointmentPlan
from idiograph.db import Database
from idiograph.errors import Conflict
from idiograph.governance import service as governance
from idiograph.governance.model import Decision, Escalation
from idiograph.security.model import AuditRecord

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def _race(committed: Database, jobs: list[Callable[..., object]]) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[..., object]) -> None:
        barrier.wait()
        try:
            with committed.writer() as s:
                job(s)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # anything else is a failure of the control, reported by the assertion
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _person_with_plan(client, make_staff):  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    seniors = [make_staff(f"senior{i}", "senior_clinician", ("North",)) for i in range(3)]
    pid = client.post("/api/v1/people", json={"given_name": "Ada", "family_name": "Byron"}, headers=cc.auth).json()[
        "id"
    ]
    client.post(f"/api/v1/people/{pid}/appointment-plan", json={"default_frequency": "weekly"}, headers=cc.auth)
    appt = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": SOON.isoformat(), "place": "clinic", "format": "in_person"},
        headers=cc.auth,
    ).json()["id"]
    return cc, seniors, pid, appt


def test_six_simultaneous_answers_to_one_escalation_give_one_answer(committed, db, client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: six simultaneous approve/reject calls by three seniors all succeeded, and on SQLite the escalation
    ended "rejected" with its change in force."""
    cc, seniors, pid, _ = _person_with_plan(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"frequency": "monthly", "rationale": "Wants fewer sessions"},
        headers=cc.auth,
    )
    assert r.json()["status"] == "pending"
    db.rollback()
    esc_id = db.scalar(select(Escalation.id))
    jobs = [
        (lambda s, who=who, ok=ok: governance.answer(s, who.principal, esc_id, ok, f"answer from {who.username}"))
        for who in seniors
        for ok in (True, False)
    ]
    outcomes = _race(committed, jobs)
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"], outcomes
    db.rollback()
    esc = db.get(Escalation, esc_id)
    decision = db.get(Decision, esc.decision_id)
    plan = db.get(AppointmentPlan, uuid.UUID(pid))
    assert esc.status in ("approved", "rejected")
    assert decision.status == ("applied" if esc.status == "approved" else "rejected")
    assert plan.frequency == ("monthly" if esc.status == "approved" else "weekly")  # never rejected yet applied
    answers = db.scalars(select(AuditRecord).where(AuditRecord.resource_type == "Escalation")).all()
    assert len(answers) == 1


def test_ten_simultaneous_attendance_records_give_one(committed, db, client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: ten simultaneous attendance updates all succeeded."""
    cc, _, _, appt = _person_with_plan(client, make_staff)
    jobs = [lambda s: care.record_attendance(s, cc.principal, uuid.UUID(appt), "attended") for _ in range(10)]
    outcomes = _race(committed, jobs)
    assert sorted(outcomes) == ["conflict"] * 9 + ["ok"], outcomes
    db.rollback()
    assert db.get(Appointment, uuid.UUID(appt)).status == "attended"
    # a later correction to another status is allowed and says what it corrected
    with committed.writer() as s:
        care.record_attendance(s, cc.principal, uuid.UUID(appt), "did_not_attend")
    db.rollback()
    last = db.scalars(
        select(AuditRecord).where(AuditRecord.resource_type == "Appointment").order_by(AuditRecord.seq.desc())
    ).first()
    assert last.detail == {"status": "did_not_attend", "corrected_from": "attended"}


def test_five_simultaneous_recordings_of_one_review_give_one(committed, db, client, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.monitoring.reviews import service as reviews
    from idiograph.monitoring.reviews.model import EpisodeReview

    cc, _, pid, _ = _person_with_plan(client, make_staff)
    ep = {"referral_date": "2026-01-05", "referral_source": "gp", "presenting_problem": "depression", "pathway": "cbt"}
    eid = client.post(f"/api/v1/people/{pid}/episodes", json=ep, headers=cc.auth).json()["id"]
    jobs = [lambda s, i=i: reviews.record(s, cc.principal, uuid.UUID(eid), 4, f"review note {i}") for i in range(5)]
    outcomes = _race(committed, jobs)
    assert sorted(outcomes) == ["conflict"] * 4 + ["ok"], outcomes
    db.rollback()
    assert len(db.scalars(select(EpisodeReview)).all()) == 1
