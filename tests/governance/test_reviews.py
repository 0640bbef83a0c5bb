"""The regular governance review (both backends): a senior clinician reviews a team's delegated decisions and
escalations for last month, signs it off once with notes, and the follow-ups become tasks; bad input names the
field and stores nothing; a clinician cannot sign; an unsigned review is overdue after the policy's days."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from idiograph.care import tasks as care_tasks
from idiograph.care.model import Appointment, Task
from idiograph.db import utcnow
from idiograph.errors import Conflict, Forbidden, InvalidInput, NotFound
from idiograph.governance import reviews
from idiograph.governance import service as governance
from idiograph.governance.model import Decision, Escalation, GovernanceReview
from idiograph.patients.model import Person
from tests.governance.test_overdue_and_queue import _escalated


def _last_month(client, db, make_staff):  # type: ignore[no-untyped-def]
    cc, senior, pid, esc = _escalated(client, db, make_staff)
    appt = db.scalar(select(Appointment.id).where(Appointment.person_id == uuid.UUID(pid)))
    governance.request_change(
        db, cc.principal, uuid.UUID(pid), {"appointment_id": str(appt), "place": "home"}, "Cannot travel this month"
    )
    start, _ = reviews.last_period(utcnow().date())
    when = datetime.combine(start + timedelta(days=3), time(12), UTC)
    for d in db.scalars(select(Decision).where(Decision.person_id == uuid.UUID(pid))):
        d.decided_at = when
    esc.raised_at, esc.due_at = when, when + timedelta(hours=48)
    db.get(Person, uuid.UUID(pid)).nhs_number = "9434765919"
    db.commit()
    team = next(iter(senior.principal.team_ids))
    return cc, senior, pid, team, start


def _counts(db):  # type: ignore[no-untyped-def]
    return (
        db.scalar(select(func.count()).select_from(GovernanceReview)),
        db.scalar(select(func.count()).select_from(Task).where(Task.kind == "governance-follow-up")),
    )


def test_a_senior_signs_off_last_months_review_once_and_follow_ups_become_tasks(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, senior, pid, team, start = _last_month(client, db, make_staff)
    v = reviews.view(db, senior.principal, team, start)
    assert v.counts["delegated"] == 1 and v.counts["escalations"] == 1 and v.counts["overdue"] == 1
    assert v.signed is None and v.overdue == (utcnow().date() > v.end + timedelta(days=10))
    after = v.end + timedelta(days=11)
    assert [(t, s) for t, _, s in reviews.overdue_for(db, senior.principal, today=after)] == [(team, start)]
    assert reviews.overdue_for(db, cc.principal, today=after) == []  # not the reviewing role
    with pytest.raises(Forbidden):
        reviews.sign_off(db, cc.principal, team, start, "Looks fine to me", [])
    with pytest.raises(InvalidInput) as bad:
        reviews.sign_off(
            db, senior.principal, team, start, "ok", [{"text": "Check it", "nhs_number": "0000000000"}, {"text": ""}]
        )
    fields = {p.field for p in bad.value.problems}
    assert fields == {"notes", "follow_ups.0.nhs_number", "follow_ups.1.text"}
    assert _counts(db) == (0, 0)  # nothing half-stored
    review = reviews.sign_off(
        db,
        senior.principal,
        team,
        start,
        "One late escalation; remind the team of the 48 hours",
        [{"text": "Review the appointment plan", "nhs_number": "943-476-5919"}, {"text": "Team talk on deadlines"}],
    )
    assert review.signed_by == "senior" and review.counts["escalations"] == 1
    tasks = list(db.scalars(select(Task).where(Task.kind == "governance-follow-up").order_by(Task.title)))
    assert [(t.title, t.person_id, t.to_role) for t in tasks] == [
        ("Review the appointment plan", uuid.UUID(pid), None),
        ("Team talk on deadlines", None, "senior_clinician"),
    ]
    team_task = tasks[1]
    other = make_staff("senior.other", "senior_clinician", ("Elsewhere",))  # a senior on another team
    assert team_task.id in [t.id for t in care_tasks.open_for(db, senior.principal)]
    assert team_task.id not in [t.id for t in care_tasks.open_for(db, other.principal)]  # never another team's
    with pytest.raises(NotFound):
        care_tasks.complete(db, other.principal, team_task.id, "Closed from another team")
    with pytest.raises(Conflict):
        reviews.sign_off(db, senior.principal, team, start, "Signed again by mistake", [])
    assert _counts(db) == (1, 2)
    assert reviews.overdue_for(db, senior.principal, today=after) == []
    # this month has not ended: it cannot be signed off yet
    with pytest.raises(InvalidInput) as early:
        reviews.sign_off(db, senior.principal, team, utcnow().date(), "Too early to say", [])
    assert [p.field for p in early.value.problems] == ["period"]


def test_the_review_api(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, senior, _, team, start = _last_month(client, db, make_staff)
    url = f"/api/v1/governance/reviews/{team}/{start.isoformat()}"
    r = client.get(url, headers=senior.auth)
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["escalations"] == 1 and r.json()["signed_off"] is None
    body = {"notes": "All in order", "follow_ups": [{"text": "Audit next month"}]}
    assert client.post(f"{url}/sign-off", json=body, headers=cc.auth).status_code == 403
    bad = client.post(f"{url}/sign-off", json={"notes": "", "follow_ups": []}, headers=senior.auth)
    assert bad.status_code == 422 and "notes" in bad.text
    ok = client.post(f"{url}/sign-off", json=body, headers=senior.auth)
    assert ok.status_code == 201, ok.text
    assert ok.json()["signed_off"]["by"] == "senior"
    assert client.post(f"{url}/sign-off", json=body, headers=senior.auth).status_code == 409
    assert db.scalar(select(func.count()).select_from(Escalation)) == 1


def test_the_review_form_ties_a_follow_up_to_the_person_by_nhs_number_typed_any_way(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    _cc, _senior, pid, team, start = _last_month(client, db, make_staff)
    db.commit()
    token = login(client, "senior")
    form = {"team": str(team), "period": f"{start:%Y-%m}", "notes": "One late escalation", "csrf_token": token}
    wrong = client.post("/governance/reviews", data={**form, "follow_ups": "943-476-5918: Check the plan"})
    assert wrong.status_code == 422 and "follow_ups.0.nhs_number" in wrong.text  # a mistyped number, named
    assert _counts(db) == (0, 0)  # nothing half-stored
    ok = client.post(
        "/governance/reviews", data={**form, "follow_ups": "943-476-5919: Check the plan"}, follow_redirects=False
    )
    assert ok.status_code == 303, ok.text
    task = db.scalar(select(Task).where(Task.kind == "governance-follow-up"))
    assert task is not None and (task.title, task.person_id) == ("Check the plan", uuid.UUID(pid))
