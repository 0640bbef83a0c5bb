"""Governed change through the API: delegated authority applies at once, beyond it escalates to the named
role and applies only when approved; high risk tightens; every decision keeps its rationale and policy."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan
from idiograph.errors import Conflict
from idiograph.governance import service as governance
from idiograph.governance.model import Decision, Escalation
from idiograph.security.model import AuditRecord

SOON = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)


def _setup(client, make_staff):  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    senior = make_staff("senior", "senior_clinician", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Byron", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    appt = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": SOON.isoformat(), "place": "clinic", "format": "in_person"},
        headers=cc.auth,
    )
    assert appt.status_code == 201, appt.text
    plan = client.post(f"/api/v1/people/{pid}/appointment-plan", json={"default_frequency": "weekly"}, headers=cc.auth)
    assert plan.status_code == 201, plan.text
    return cc, senior, pid, appt.json()["id"]


def test_within_authority_applies_and_beyond_it_waits_for_approval(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, senior, pid, appt_id = _setup(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={
            "appointment_id": appt_id,
            "place": "home",
            "format": "video",
            "rationale": "Works shifts; asked for video from home",
        },
        headers=cc.auth,
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert (
        d["status"] == "applied"
        and d["authority"] == "delegated"
        and d["change"] == "appointment.place+appointment.format"
    )
    assert d["policy_version"] and "care coordinator may" in d["policy_reason"]
    appt = db.get(Appointment, uuid.UUID(appt_id))
    db.refresh(appt)
    assert (appt.place, appt.format) == ("home", "video")
    # monthly is two steps from the pathway's weekly: escalated, nothing changes yet
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"frequency": "monthly", "rationale": "Stable for three months; wants fewer sessions"},
        headers=cc.auth,
    )
    assert r.status_code == 201, r.text
    pending = r.json()
    assert pending["status"] == "pending" and "2 steps" in pending["policy_reason"]
    plan = db.get(AppointmentPlan, uuid.UUID(pid))
    db.refresh(plan)
    assert plan.frequency == "weekly"
    esc = db.scalar(select(Escalation).where(Escalation.decision_id == uuid.UUID(pending["id"])))
    assert esc is not None and esc.to_role == "senior_clinician"
    assert timedelta(hours=47) < esc.due_at - esc.raised_at <= timedelta(hours=48)
    # the care coordinator cannot approve their own escalation; the senior clinician can
    assert (
        client.post(
            f"/api/v1/escalations/{esc.id}/answer", json={"approve": True, "note": "fine by me"}, headers=cc.auth
        ).status_code
        == 403
    )
    queue = client.get("/api/v1/governance/queue", headers=senior.auth).json()
    assert [e["id"] for e in queue["pending"]] == [str(esc.id)]
    assert [x["id"] for x in queue["delegated"]] == [d["id"]]
    ok = client.post(
        f"/api/v1/escalations/{esc.id}/answer",
        json={"approve": True, "note": "Agreed: review in 3 months"},
        headers=senior.auth,
    )
    assert ok.status_code == 200, ok.text
    db.refresh(plan)
    assert plan.frequency == "monthly"
    story = client.get(f"/api/v1/people/{pid}/decisions", headers=cc.auth).json()
    assert [(s["status"], s["authority"]) for s in story] == [("applied", "delegated"), ("applied", "approved")]
    assert story[1]["rationale"] == "Stable for three months; wants fewer sessions"
    assert (
        client.post(
            f"/api/v1/escalations/{esc.id}/answer",
            json={"approve": False, "note": "changed my mind"},
            headers=senior.auth,
        ).status_code
        == 409
    )
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.resource_type.in_(["Decision", "Escalation"]))
        )
        >= 3
    )


def test_high_risk_turns_a_delegated_change_into_an_escalation(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, _senior, pid, appt_id = _setup(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/risk-assessments", json={"level": "high", "summary": "Recent overdose"}, headers=cc.auth
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "format": "phone", "rationale": "Prefers phone this week"},
        headers=cc.auth,
    )
    d = r.json()
    assert d["status"] == "pending" and "high-risk" in d["policy_reason"]
    assert d["based_on"]["risk_assessment"]["level"] == "high"
    esc = db.scalar(select(Escalation).where(Escalation.decision_id == uuid.UUID(d["id"])))
    assert esc.due_at - esc.raised_at <= timedelta(hours=24)

    # any change at high risk waits for approval, even a new time; the crisis plan does not wait
    later = (SOON + timedelta(days=1)).isoformat()
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "start": later, "rationale": "Clashes with work"},
        headers=cc.auth,
    )
    assert r.json()["status"] == "pending"
    plan = client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "Safety plan after overdose", "contacts": ["Crisis team"]},
        headers=cc.auth,
    )
    assert plan.status_code == 200


def test_bad_changes_are_refused_whole_with_their_fields(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, _s, pid, appt_id = _setup(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "place": "moon", "format": "in_person", "rationale": "because"},
        headers=cc.auth,
    )
    assert r.status_code == 422 and any(e["field"] == "place" for e in r.json()["errors"])
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "place": "remote", "format": "in_person", "rationale": "because"},
        headers=cc.auth,
    )
    assert r.status_code == 422 and "remote appointment cannot be in person" in r.text
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "place": "home", "rationale": ""},
        headers=cc.auth,
    )
    assert r.status_code == 422 and "rationale" in r.text
    assert db.scalar(select(func.count()).select_from(Decision)) == 0


def test_two_simultaneous_crisis_plan_edits_one_wins_the_other_is_told(committed, db, make_staff, client) -> None:  # type: ignore[no-untyped-def]
    cc, senior, pid, _ = _setup(client, make_staff)
    first = client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={
            "expected_version": 0,
            "rationale": "First plan with Ada",
            "triggers": ["anniversary in March"],
            "contacts": ["sister"],
        },
        headers=cc.auth,
    )
    assert first.status_code == 200, first.text
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def edit(name: str, principal, content: dict) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            with committed.writer() as s:
                plan = governance.save_crisis_plan(s, principal, uuid.UUID(pid), content, 1, f"edit by {name}")
            results[name] = plan.version
        except Conflict as exc:
            results[name] = exc

    a = threading.Thread(
        target=edit, args=("ccoord", cc.principal, {"triggers": ["anniversary in March", "housing letters"]})
    )
    b = threading.Thread(
        target=edit, args=("senior", senior.principal, {"triggers": ["anniversary in March"], "what_helps": ["a walk"]})
    )
    a.start(), b.start()
    a.join(), b.join()
    wins = [k for k, v in results.items() if v == 2]
    losers = [k for k, v in results.items() if isinstance(v, Conflict)]
    assert len(wins) == 1 and len(losers) == 1, results
    assert "changed" in str(results[losers[0]]) and "reload" in str(results[losers[0]])
    db.rollback()  # end the test's own snapshot to see what the threads committed
    plans = list(
        db.scalars(select(CrisisPlan).where(CrisisPlan.person_id == uuid.UUID(pid)).order_by(CrisisPlan.version))
    )
    assert [(p.version, p.current) for p in plans] == [(1, False), (2, True)]  # nothing lost: version 1 kept
    current = client.get(f"/api/v1/people/{pid}/crisis-plan", headers=senior.auth).json()
    assert current["version"] == 2 and current["updated_by"] == wins[0]
    stale = client.put(
        f"/api/v1/people/{pid}/crisis-plan", json={"expected_version": 1, "rationale": "late edit"}, headers=cc.auth
    )
    assert stale.status_code == 409 and "reload" in stale.text


@pytest.mark.parametrize("level", ["low", "medium", "high"])
def test_risk_levels_are_recorded_with_author(client, db, make_staff, level: str) -> None:  # type: ignore[no-untyped-def]
    cc, _s, pid, _ = _setup(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/risk-assessments", json={"level": level, "summary": "Reviewed today"}, headers=cc.auth
    )
    assert r.status_code == 201 and r.json()["author"] == "ccoord"
    bad = client.post(
        f"/api/v1/people/{pid}/risk-assessments",
        json={"level": "extreme", "summary": "Reviewed today"},
        headers=cc.auth,
    )
    assert bad.status_code == 422


def test_discharge_is_a_decision_that_records_what_it_rested_on(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from idiograph.db import transaction
    from idiograph.patients.model import Episode

    cc, senior, pid, _ = _setup(client, make_staff)
    with transaction(db):
        db.add(
            Episode(
                person_id=uuid.UUID(pid),
                referral_date=date.today() - timedelta(days=90),
                referral_source="gp",
                presenting_problem="depression",
                pathway="cbt",
            )
        )
    answers = {
        i: 0
        for i in ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
    }
    r = client.post(
        f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": answers}, headers=cc.auth
    )
    assert r.status_code == 201, r.text
    asked = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"discharge": "recovered", "rationale": "PHQ-9 0; goals met"},
        headers=cc.auth,
    )
    d = asked.json()
    assert d["status"] == "pending" and "may not discharge" in d["policy_reason"]
    assert (
        d["based_on"]["observations"][0]["measure"].startswith("Patient Health Questionnaire")
        and d["based_on"]["observations"][0]["value"] == 0
    )
    ok = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"discharge": "recovered", "rationale": "Reviewed: goals met"},
        headers=senior.auth,
    )
    assert ok.json()["status"] == "applied"
    ep = db.scalar(select(Episode).where(Episode.person_id == uuid.UUID(pid)))
    db.refresh(ep)
    assert ep.discharge_date == date.today() and ep.discharge_reason == "recovered"
    bad = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"discharge": "recovered", "rationale": "again please"},
        headers=senior.auth,
    )
    assert bad.status_code == 422 and "no open episode" in bad.text


def test_governance_page_and_export_for_a_senior(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    cc, _senior, pid, appt_id = _setup(client, make_staff)
    client.post(
        f"/api/v1/people/{pid}/changes",
        json={"frequency": "six_weekly", "rationale": "Asked for less"},
        headers=cc.auth,
    )
    client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "format": "phone", "rationale": "Childcare"},
        headers=cc.auth,
    )
    login(client, "senior")
    page = client.get("/governance")
    assert page.status_code == 200
    assert "Escalations waiting for a decision (1)" in page.text and "Overdue reviews" in page.text
    assert "Childcare" in page.text  # a decision under delegated authority this month
    csv_text = client.get("/governance.csv").text
    assert csv_text.splitlines()[0].startswith("kind,id,person_id")
    assert "escalation," in csv_text and "Childcare" in csv_text
    # free text that a spreadsheet would run as a formula is neutralised
    client.post(
        f"/api/v1/people/{pid}/changes",
        json={"appointment_id": appt_id, "place": "community", "rationale": '=HYPERLINK("http://x")'},
        headers=cc.auth,
    )
    exported = client.get("/governance.csv").text
    import csv as csv_module

    cells = [c for row in csv_module.reader(exported.splitlines()) for c in row]
    assert '\'=HYPERLINK("http://x")' in cells and not any(c.startswith("=") for c in cells)
