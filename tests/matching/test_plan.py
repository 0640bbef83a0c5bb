"""The therapy plan before the first session: drafted from the allocation, the intake goals, the preferences and
the review schedule; versioned (only the newest is current and answerable, H-098); accepted or a change asked for
through the person's link, the change arriving as exactly one task in the same transaction (H-099); refused whole
on a bad answer or a dead link; the API and the FHIR CarePlan; the person's page and the staff panel."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.care import service as care
from idiograph.care import tasks
from idiograph.care.model import Appointment, AppointmentPlan, PlanLink, Task
from idiograph.db import transaction, utcnow
from idiograph.errors import Conflict, InvalidInput
from idiograph.fhir import mapping_out
from idiograph.fhir.intake_mapping import derived_id
from idiograph.governance.model import Decision
from idiograph.intake.model import IntakeRecord
from idiograph.matching import plan as therapy_plan
from idiograph.matching.model import Allocation, Therapist, TherapyPlan
from idiograph.security.model import AuditRecord
from tests.web.test_pages import login

GOALS = {"goals": [{"goal": "Get back to work", "rating": 2}, {"goal": "See friends again", "rating": 3}]}


def _count(db: Session, model: Any, **where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0


def _allocate(db: Session, s: dict[str, Any], code: str = "T1", name: str = "Sam Rivers") -> Allocation:
    with transaction(db):
        t = Therapist(
            code=code,
            name=name,
            profession="clinical_psychologist",
            formats=["in_person", "video"],
            places=["clinic", "home"],
            capacity=3,
        )
        db.add(t)
        db.flush()
        a = Allocation(
            person_id=s["pid"], episode_id=s["episode_id"], therapist_id=t.id, decision_id=None, allocated_by="clin"
        )
        db.add(a)
    return a


def _draft(db: Session, s: dict[str, Any], **kw: Any) -> TherapyPlan:
    a = _allocate(db, s, **kw)
    with transaction(db):
        p = therapy_plan.draft(db, a, "clin")
    return p


@pytest.fixture
def s(client, db, make_staff) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Ada on North with an open CBT episode, two intake goals, preferences for video at home on Tuesday
    mornings, and a link to her own page."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Byron", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    episode = {
        "referral_date": date.today().isoformat(),
        "referral_source": "gp",
        "presenting_problem": "depression",
        "pathway": "cbt",
    }
    r = client.post(f"/api/v1/people/{pid}/episodes", json=episode, headers=clin.auth)
    assert r.status_code == 201, r.text
    r = client.put(f"/api/v1/people/{pid}/intake/goals", json={"answers": GOALS}, headers=clin.auth)
    assert r.status_code == 200, r.text
    r = client.put(
        f"/api/v1/people/{pid}/preferences",
        json={"expected_version": 0, "days": ["tue"], "periods": ["morning"], "formats": ["video"], "places": ["home"]},
        headers=clin.auth,
    )
    assert r.status_code == 200, r.text
    person = uuid.UUID(pid)
    link, token = care.create_plan_link(db, clin.principal, person, 30)
    db.commit()
    rec = db.scalar(select(IntakeRecord).where(IntakeRecord.person_id == person))
    assert rec is not None
    return {
        "clin": clin,
        "pid": person,
        "episode_id": rec.episode_id,
        "intake_id": rec.id,
        "link": link,
        "token": token,
    }


@pytest.fixture
def person(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The person's own browser: no account, its own cookies."""
    with TestClient(app) as c:
        yield c


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


# -- drafting ------------------------------------------------------------------------------------------------------


def test_a_draft_holds_what_was_arranged_with_goals_reviews_and_what_to_expect(db, s) -> None:  # type: ignore[no-untyped-def]
    plan = _draft(db, s)
    c = plan.content
    assert (plan.version, plan.current, plan.status, plan.created_by) == (1, True, "proposed", "clin")
    assert c["intervention"] == {
        "id": "cbt",
        "label": "Individual CBT",
        "chosen_from_options": False,
        "decision_id": None,
        "chosen_on": None,
    }
    assert c["therapist"]["name"] == "Sam Rivers" and c["therapist"]["profession_label"] == "Clinical psychologist"
    # no appointment plan: the person's preferences the therapist offers
    assert (c["format"], c["place"], c["frequency"], c["from"]) == ("video", "home", None, "preferences")
    assert (c["days"], c["periods"]) == (["tue"], ["morning"])
    assert c["goals"] == {"intake_record_id": str(s["intake_id"]), "items": ["Get back to work", "See friends again"]}
    # a suggested first time (not booked) on a Tuesday morning by video at home, and reviews dated from it
    first = c["first"]
    assert first["booked"] is False and (first["format"], first["place"]) == ("video", "home")
    shown = therapy_plan.shown(plan)
    assert shown.first is not None and shown.first.astimezone(care.slots.LONDON).weekday() == 1
    assert [w for w, _ in shown.reviews] == [4, 8]
    assert shown.reviews[0][1] == shown.first.astimezone(care.slots.LONDON).date() + timedelta(weeks=4)
    assert tuple(c["expect"]) == therapy_plan.expectations().interventions["cbt"] != therapy_plan.expectations().default
    created = db.scalar(
        select(AuditRecord).where(AuditRecord.resource_type == "TherapyPlan", AuditRecord.action == "create")
    )
    assert created is not None and created.actor == "clin" and created.person_id == s["pid"]


def test_the_appointment_plan_and_a_choice_from_the_options_are_used_when_there(db, s) -> None:  # type: ignore[no-untyped-def]
    with transaction(db):
        db.add(
            AppointmentPlan(
                person_id=s["pid"],
                frequency="fortnightly",
                default_frequency="weekly",
                place="clinic",
                format="in_person",
            )
        )
        common = {
            "person_id": s["pid"],
            "change": "intervention",
            "rationale": "Chosen with Ada",
            "requested_by": "clin",
            "requested_role": "clinician",
            "status": "applied",
            "authority": "delegated",
            "policy_version": "1",
            "policy_reason": "allowed",
        }
        chosen = Decision(
            **common,
            summary="intervention: Individual CBT",
            payload={"intervention": "cbt"},
            based_on={"prediction": {"option": "cbt"}},
            decided_at=utcnow() - timedelta(days=2),
        )
        db.add(chosen)
    c = _draft(db, s).content
    assert (c["format"], c["place"], c["frequency"], c["from"]) == (
        "in_person",
        "clinic",
        "fortnightly",
        "appointment plan",
    )
    assert c["intervention"]["chosen_from_options"] is True and c["intervention"]["decision_id"] == str(chosen.id)
    # a later change of intervention not made from the options: no longer "chosen from the options"
    with transaction(db):
        db.add(Decision(**common, summary="x", payload={"intervention": "cbt"}, based_on={}, decided_at=utcnow()))
    assert _draft(db, s, code="T2").content["intervention"]["chosen_from_options"] is False


def test_the_first_time_is_with_the_therapist_allocated_never_someone_elses_booking(db, s) -> None:  # type: ignore[no-untyped-def]
    """Found by a new user's trial: the plan named the allocated therapist but gave as the first appointment one
    booked with another clinician (another format, another place), which the person's own page listed just below."""
    soon = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    with transaction(db):
        db.add(Appointment(person_id=s["pid"], start=soon, place="clinic", format="phone", with_whom="Liam Robinson",
                           created_by="clin"))  # fmt: skip
    first = _draft(db, s).content["first"]
    assert first["booked"] is False and first["start"] != soon.isoformat()
    assert (first["format"], first["place"]) == ("video", "home")  # what was arranged with this therapist
    start = datetime.fromisoformat(first["start"])
    assert abs((start - soon).total_seconds()) >= 50 * 60  # clear of the person's other appointment
    assert start.astimezone(care.slots.LONDON).weekday() < 5  # a working day
    # booked with the therapist allocated: that is the first appointment
    later = soon + timedelta(days=3)
    with transaction(db):
        db.add(Appointment(person_id=s["pid"], start=later, place="home", format="video", with_whom="Jo Marsh",
                           created_by="clin"))  # fmt: skip
    first = _draft(db, s, code="T2", name="Jo Marsh").content["first"]
    assert first["booked"] is True and datetime.fromisoformat(first["start"]) == later


def test_a_new_version_replaces_the_current_one(db, s) -> None:  # type: ignore[no-untyped-def]
    """H-098: only the newest plan is current, and the person's page shows it with its version."""
    first = _draft(db, s)
    second = _draft(db, s, code="T2", name="Jo Marsh")
    db.refresh(first)
    assert (first.current, second.current, second.version) == (False, True, 2)
    assert therapy_plan.current(db, s["pid"]).id == second.id  # type: ignore[union-attr]
    assert _count(db, TherapyPlan, person_id=s["pid"], current=True) == 1


# -- the person's answer -------------------------------------------------------------------------------------------


def test_accepting_through_the_link(db, s) -> None:  # type: ignore[no-untyped-def]
    plan = _draft(db, s)
    with transaction(db):
        therapy_plan.answer_by_link(db, s["token"], True, "", plan.version)
    db.refresh(plan)
    assert plan.status == "accepted" and plan.answered_at is not None and plan.answer_note is None
    assert _count(db, Task, person_id=s["pid"]) == 0
    with pytest.raises(Conflict, match="already answered"):
        therapy_plan.answer_by_link(db, s["token"], False, "Can we meet at the clinic?", plan.version)
    db.rollback()


def test_asking_for_a_change_opens_exactly_one_task(db, s) -> None:  # type: ignore[no-untyped-def]
    """H-099: the change asked for is a task for the team, stored with the answer."""
    plan = _draft(db, s)
    with transaction(db):
        therapy_plan.answer_by_link(db, s["token"], False, "  Could we meet at the clinic instead?  ", plan.version)
    db.refresh(plan)
    assert plan.status == "change_requested" and plan.answer_note == "Could we meet at the clinic instead?"
    rows = list(db.scalars(select(Task).where(Task.person_id == s["pid"])))
    assert len(rows) == 1
    assert rows[0].kind == "therapy-plan-change" and rows[0].detail == "Could we meet at the clinic instead?"
    assert rows[0].created_by == f"plan-link:{s['link'].id}" and rows[0].status == "open"
    assert rows[0] in tasks.from_person(db, s["clin"].principal, s["pid"])  # the team sees it with the others
    with pytest.raises(Conflict):  # asked once: a second answer to the same version is refused
        therapy_plan.answer_by_link(db, s["token"], False, "And another thing please", plan.version)
    db.rollback()
    assert _count(db, Task, person_id=s["pid"]) == 1


def test_a_lost_task_loses_the_answer_too(db, s, person, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """H-099: if the task cannot be opened, the status is not stored either (one transaction)."""
    plan = _draft(db, s)
    page = person.get(f"/my-plan/{s['token']}").text

    def broken(*a: Any, **k: Any) -> Task:
        raise InvalidInput("no task was opened")

    monkeypatch.setattr(tasks, "create", broken)
    r = person.post(
        f"/my-plan/{s['token']}/therapy-plan",
        data={"csrf_token": _csrf(page), "version": "1", "answer": "change", "text": "Please, the clinic instead"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "Not sent." in r.text
    db.expire_all()
    assert db.get(TherapyPlan, plan.id).status == "proposed"  # type: ignore[union-attr]
    assert _count(db, Task, person_id=s["pid"]) == 0


def test_an_answer_to_a_version_no_longer_current_is_refused(db, s) -> None:  # type: ignore[no-untyped-def]
    """H-098: the person answered the plan they read, not one drafted since."""
    _draft(db, s)
    _draft(db, s, code="T2", name="Jo Marsh")
    with pytest.raises(Conflict) as e:
        therapy_plan.answer_by_link(db, s["token"], True, "", 1)
    assert e.value.problems[0].field == "version"
    db.rollback()
    assert therapy_plan.current(db, s["pid"]).status == "proposed"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["", "   ", "ok", "\u200b\u200b\u200b\u200b\u200b\u200b", "bad\x00text", "x" * 2001])
def test_a_change_without_words_is_refused_naming_the_field(db, s, text: str) -> None:  # type: ignore[no-untyped-def]
    _draft(db, s)
    with pytest.raises(InvalidInput) as e:
        therapy_plan.answer_by_link(db, s["token"], False, text, 1)
    assert [p.field for p in e.value.problems] == ["text"]
    db.rollback()
    assert therapy_plan.current(db, s["pid"]).status == "proposed"  # type: ignore[union-attr]
    assert _count(db, Task, person_id=s["pid"]) == 0


@pytest.mark.parametrize("how", ["withdrawn", "expired"])
def test_a_dead_link_answers_nothing(db, s, how: str) -> None:  # type: ignore[no-untyped-def]
    _draft(db, s)
    with transaction(db):
        if how == "withdrawn":
            care.withdraw_plan_links(db, s["clin"].principal, s["pid"])
        else:
            db.get(PlanLink, s["link"].id).expires_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    with pytest.raises(care.PlanLinkGone):
        therapy_plan.answer_by_link(db, s["token"], False, "Please change the time", 1)
    db.rollback()
    assert therapy_plan.current(db, s["pid"]).status == "proposed"  # type: ignore[union-attr]
    assert _count(db, Task, person_id=s["pid"]) == 0
    with pytest.raises(care.PlanLinkGone):
        therapy_plan.read_by_link(db, s["token"])
    db.rollback()


# -- API and FHIR --------------------------------------------------------------------------------------------------


def test_the_api_gives_the_current_plan_or_a_clear_404(client, db, s, make_staff) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/people/{s['pid']}/therapy-plan"
    r = client.get(url, headers=s["clin"].auth)
    assert r.status_code == 404 and "no therapy plan yet" in r.json()["detail"]
    plan = _draft(db, s)
    with transaction(db):
        therapy_plan.answer_by_link(db, s["token"], False, "Could it be later in the day?", 1)
    got = client.get(url, headers=s["clin"].auth).json()
    assert got["id"] == str(plan.id) and got["version"] == 1 and got["status"] == "change_requested"
    assert got["answer_note"] == "Could it be later in the day?" and got["content"]["therapist"]["name"] == "Sam Rivers"
    other = make_staff("other", "clinician", ("South",))
    assert client.get(url, headers=other.auth).status_code == 403  # not on their caseload
    commissioner = make_staff("comm", "commissioner", ("North",))
    assert client.get(url, headers=commissioner.auth).status_code == 403
    reads = db.scalars(
        select(AuditRecord.actor).where(AuditRecord.resource_type == "TherapyPlan", AuditRecord.action == "read")
    )
    assert "clin" in set(reads)


def test_the_fhir_care_plan(client, db, s) -> None:  # type: ignore[no-untyped-def]
    old = _draft(db, s)
    plan = _draft(db, s, code="T2", name="Jo Marsh")
    db.refresh(old)
    res = mapping_out.therapy_care_plan(plan)
    get_fhir_model_class("CarePlan").model_validate(res)
    assert (res["status"], res["intent"], res["meta"]["versionId"]) == ("active", "plan", "2")
    assert res["category"][0]["coding"][0]["code"] == "therapy-plan"
    assert res["subject"] == {"reference": f"Patient/{s['pid']}"}
    assert res["contributor"] == [{"display": "Jo Marsh, Clinical psychologist"}]
    assert [g["display"] for g in res["goal"]] == ["Get back to work", "See friends again"]
    assert res["goal"][0]["reference"] == f"Goal/{derived_id(s['intake_id'], 'goal:1')}"
    details = [a["detail"] for a in res["activity"]]
    assert details[0]["code"]["coding"][0]["code"] == "cbt" and details[0]["performer"] == [{"display": "Jo Marsh"}]
    assert [d["code"].get("text") for d in details[1:]] == ["Review at week 4", "Review at week 8"]
    assert mapping_out.therapy_care_plan(old)["status"] == "revoked"
    # in $everything beside the crisis and appointment plans; searchable by its category
    r = client.get(f"/fhir/R4/Patient/{s['pid']}/$everything", params={"_type": "CarePlan"}, headers=s["clin"].auth)
    assert r.status_code == 200, r.text
    plans = [e["resource"] for e in r.json()["entry"]]
    therapy = [p for p in plans if p["category"][0]["coding"][0]["code"] == "therapy-plan"]
    assert {(p["id"], p["status"]) for p in therapy} == {(str(plan.id), "active"), (str(old.id), "revoked")}
    r = client.get(
        "/fhir/R4/CarePlan",
        params={"patient": str(s["pid"]), "category": "therapy-plan", "status": "active"},
        headers=s["clin"].auth,
    )
    assert [e["resource"]["id"] for e in r.json().get("entry", [])] == [str(plan.id)]


# -- pages ---------------------------------------------------------------------------------------------------------


def test_the_person_reads_and_answers_their_plan_on_their_page(client, db, s, person) -> None:  # type: ignore[no-untyped-def]
    assert "Your therapy plan" not in person.get(f"/my-plan/{s['token']}").text  # none yet: no section
    _draft(db, s)
    page = person.get(f"/my-plan/{s['token']}").text
    assert "Your therapy plan" in page and "Sam Rivers, clinical psychologist" in page
    assert "Individual CBT" in page and "Video call (home visit)" in page and "Get back to work" in page
    assert "week 4" in page and "week 8" in page and "Your team will confirm your first appointment" in page
    words = re.sub(r"<[^>]+>", " ", page)
    assert "in_person" not in words and "change_requested" not in words  # no codes
    # a change asked for without words: named beside this form, nothing stored
    r = person.post(
        f"/my-plan/{s['token']}/therapy-plan",
        data={"csrf_token": _csrf(page), "version": "1", "answer": "change", "text": " "},
        follow_redirects=False,
    )
    assert r.status_code == 422 and 'id="therapy_text-error"' in r.text and 'id="text-error"' not in r.text
    assert _count(db, Task, person_id=s["pid"]) == 0
    # without the page's token: refused
    r = person.post(
        f"/my-plan/{s['token']}/therapy-plan",
        data={"csrf_token": "forged", "version": "1", "answer": "accept"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    r = person.post(
        f"/my-plan/{s['token']}/therapy-plan",
        data={"csrf_token": _csrf(page), "version": "1", "answer": "change", "text": "Could we meet at the clinic?"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("sent=plan-change#therapy-plan")
    page = person.get(r.headers["location"]).text
    assert "You asked for a change" in page and "Could we meet at the clinic?" in page
    assert 'id="therapy-plan-form"' not in page  # answered: no second answer
    # the team's care page shows the plan, its status and the person's words
    login(client, "clin")
    care_page = client.get(f"/people/{s['pid']}/care").text
    assert 'id="therapy-plan"' in care_page and "Change asked for" in care_page
    assert "Could we meet at the clinic?" in care_page and "version 1" in care_page
    # the team's answer comes back to the person's page, under what they sent
    task = db.scalar(select(Task).where(Task.person_id == s["pid"]))
    with transaction(db):
        tasks.complete(db, s["clin"].principal, task.id, "Moved to the clinic on Tuesdays")  # type: ignore[union-attr]
    page = person.get(f"/my-plan/{s['token']}").text
    assert "You asked about your therapy plan" in page and "Moved to the clinic on Tuesdays" in page


def test_accepting_on_the_page(client, db, s, person) -> None:  # type: ignore[no-untyped-def]
    _draft(db, s)
    page = person.get(f"/my-plan/{s['token']}").text
    r = person.post(
        f"/my-plan/{s['token']}/therapy-plan",
        data={"csrf_token": _csrf(page), "version": "1", "answer": "accept", "text": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "You accepted this plan" in person.get(r.headers["location"]).text
    login(client, "clin")
    assert "Accepted" in client.get(f"/people/{s['pid']}/care").text
    assert _count(db, Task, person_id=s["pid"]) == 0
