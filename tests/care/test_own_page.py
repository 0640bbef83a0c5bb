"""The person's own page by their link: scores in plain words, goals, appointments and the crisis plan; updating
preferences and asking for changes, each a task for their team (an ongoing dialogue); caps, CSRF, expired and
withdrawn links, and the audit trail naming the person via the link."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.care import in_words, own_page, tasks
from idiograph.care import service as care
from idiograph.care.model import PlanLink, Preferences, Task
from idiograph.db import transaction, utcnow
from idiograph.errors import Conflict, InvalidInput
from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.security.model import AuditRecord
from tests.web.test_pages import login

LOINC = "http://loinc.org"
PHQ9, GAD7 = "44261-6", "70274-6"


def _score(db: Session, pid: uuid.UUID, code: str, value: float, when: datetime) -> None:
    db.add(
        Observation(
            person_id=pid,
            system=LOINC,
            code=code,
            value=value,
            unit="{score}",
            effective_at=when,
            source="test",
            source_id=f"{code}-{when.isoformat()}",
            recorded_by="test",
        )
    )


@pytest.fixture
def setup(client, db, make_staff) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Ada on North with a crisis plan, a video appointment, PHQ-9 18 then 9 (a big improvement out of the
    clinical range) and GAD-7 10 then 8 (about the same), preferences recorded by her team, and a link."""
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Byron", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "Agreed with Ada", "contacts": ["Sister Mary on 07700 900123"]},
        headers=cc.auth,
    )
    soon = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat()
    r = client.post(
        f"/api/v1/people/{pid}/appointments", json={"start": soon, "place": "home", "format": "video"}, headers=cc.auth
    )
    assert r.status_code == 201, r.text
    client.put(
        f"/api/v1/people/{pid}/preferences",
        json={"expected_version": 0, "days": ["tue"], "involve": ["Sister Mary"]},
        headers=cc.auth,
    )
    person = uuid.UUID(pid)
    with transaction(db):
        _score(db, person, PHQ9, 18, datetime(2026, 9, 1, 10, tzinfo=UTC))
        _score(db, person, PHQ9, 9, datetime(2026, 11, 3, 10, tzinfo=UTC))
        _score(db, person, GAD7, 10, datetime(2026, 9, 1, 10, tzinfo=UTC))
        _score(db, person, GAD7, 8, datetime(2026, 11, 2, 10, tzinfo=UTC))
    link, token = care.create_plan_link(db, cc.principal, person, 30)
    db.commit()
    return {"cc": cc, "pid": person, "link": link, "token": token}


@pytest.fixture
def person(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The person's own browser: no account, its own cookies."""
    with TestClient(app) as c:
        yield c


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _prefs_form(page: str, **answers: Any) -> dict[str, Any]:
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    return {"csrf_token": _csrf(page), "expected_version": version, **answers}


def _by_link(db: Session, link: PlanLink) -> list[AuditRecord]:
    return list(db.scalars(select(AuditRecord).where(AuditRecord.actor == f"plan-link:{link.id}")))


def _count(db: Session, model: Any, **where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0


# -- the page ------------------------------------------------------------------------------------------------------


def test_the_page_says_scores_in_words_with_appointments_plan_and_numbers(setup, person, db) -> None:  # type: ignore[no-untyped-def]
    page = person.get(f"/my-plan/{setup['token']}")
    assert page.status_code == 200
    text = page.text
    assert "Your PHQ-9 (low mood) score was 9 on 3 Nov" in text
    assert "down from 18 when you started: that is a big improvement." in text
    assert "It is now below the level where services usually offer treatment." in text
    assert "Your GAD-7 (anxiety) score was 8 on 2 Nov" in text and "that is about the same" in text
    assert "video call (home visit)" in text and '<a href="tel:07700900123">07700 900123</a>' in text
    assert 'href="tel:999"' in text and 'href="tel:111"' in text and "option 2" in text and 'href="tel:116123"' in text
    words = re.sub(r"<[^>]+>", " ", text)  # what the person reads (not the form's values)
    assert "RCI" not in words and "caseness" not in words and "in_person" not in words  # no jargon or codes
    assert "You have not written any goals yet" in text
    assert "this is not for emergencies" in text  # a request is not how to get help now
    # the reads are audited as the person via the link: the plan, appointments, scores, preferences, requests
    (record,) = _by_link(db, setup["link"])
    shown = {r["type"] for r in record.detail.get("showed", [])}
    assert {"CrisisPlan", "Appointment", "Observation", "Preferences", "Task"} <= shown, record.detail
    assert record.role == "person" and record.person_id == setup["pid"]


def test_a_score_in_words_for_one_score_a_worsening_and_no_reliable_change() -> None:
    phq = instruments()["phq-9"]
    today = date(2026, 12, 2)
    at = datetime(2026, 10, 1, 9, tzinfo=UTC)
    one = in_words.story(phq, [(at, 12)], today)
    assert one is not None and "This is your first score" in one.sentence and not one.worse
    worse = in_words.story(phq, [(at, 8), (at + timedelta(days=30), 15)], today)
    assert (
        worse is not None
        and worse.worse
        and "up from 8 when you started: that is a real change for the worse" in (worse.sentence)
    )
    same = in_words.story(phq, [(at + timedelta(days=30), 10), (at, 14)], today)  # given in any order
    assert (
        same is not None
        and "score was 10 on 31 Oct, down from 14" in same.sentence
        and "about the same" in (same.sentence)
    )
    # the national criterion is 6 points: 5 down is no reliable change, 6 down is
    assert "big improvement" in in_words.story(phq, [(at, 14), (at + timedelta(days=1), 8)], today).sentence  # type: ignore[union-attr]
    last_year = in_words.story(phq, [(datetime(2025, 3, 4, 9, tzinfo=UTC), 5)], today)
    assert last_year is not None and "on 4 Mar 2025" in last_year.sentence
    assert "A change counts as real when it is 6 points or more" in last_year.how_judged  # the national criterion
    # no published reliability: no change is judged, and the page does not pretend one is
    core = in_words.story(instruments()["core-10"], [(at, 20), (at + timedelta(days=40), 9)], today)
    assert core is not None and "no agreed size of a real change" in core.how_judged
    assert "big improvement" not in core.sentence and "compared with 20 when you started" in core.sentence
    # a Jacobson-Truax threshold in fractions of a point is said as the whole points a total must move
    assert in_words._points(5.3) == "6" and in_words._points(6.0) == "6"


def test_expired_withdrawn_or_wrong_links_open_nothing_and_write_nothing(setup, person, db) -> None:  # type: ignore[no-untyped-def]
    token, link = setup["token"], setup["link"]
    page = person.get(f"/my-plan/{token}")
    form = _prefs_form(page.text, days=["mon"])
    ask = {"csrf_token": _csrf(page.text), "kind": "something-else", "text": "Please call me back"}
    assert person.get(f"/my-plan/{token}x").status_code == 410
    assert person.post(f"/my-plan/{token}x/requests", data=ask).status_code == 410
    for change in ({"revoked_at": utcnow()}, {"expires_at": utcnow() - timedelta(minutes=1)}):
        with transaction(db):
            row = db.get(PlanLink, link.id)
            row.revoked_at, row.expires_at = None, utcnow() + timedelta(days=1)
            for k, v in change.items():
                setattr(row, k, v)
        gone = person.get(f"/my-plan/{token}")
        assert gone.status_code == 410 and "Sister Mary" not in gone.text and "PHQ-9" not in gone.text
        assert person.post(f"/my-plan/{token}/preferences", data=form).status_code == 410
        assert person.post(f"/my-plan/{token}/requests", data=ask).status_code == 410
        with pytest.raises(care.PlanLinkGone):
            own_page.ask_for_change(db, token, "something-else", "Please call me back")
        db.rollback()
    assert _count(db, Task) == 0 and _count(db, Preferences, person_id=setup["pid"]) == 1


# -- preferences -------------------------------------------------------------------------------------------------


def test_preferences_from_the_page_are_a_new_version_and_a_task_saying_what_changed(setup, person, client, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    page = person.get(f"/my-plan/{token}").text
    assert "Tuesday" in page  # what her team recorded
    form = _prefs_form(
        page,
        days=["wed", "mon"],
        periods=["morning"],
        formats=["video"],
        language="Polish",
        interpreter="yes",
        goals=["Get back to work", "Sleep through the night", ""],
    )
    r = person.post(f"/my-plan/{token}/preferences", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?sent=preferences#sent"), r.text
    latest = db.scalar(select(Preferences).where(Preferences.person_id == pid).order_by(Preferences.version.desc()))
    assert latest.version == 2 and latest.recorded_by == "the person (via link)"
    d = latest.data
    assert d["days"] == ["mon", "wed"] and d["goals"] == ["Get back to work", "Sleep through the night"]
    assert d["involve"] == ["Sister Mary"]  # what only her team records is kept
    (task,) = db.scalars(select(Task).where(Task.person_id == pid))
    assert task.kind == "preferences-changed" and task.status == "open" and task.created_by.startswith("plan-link:")
    lines = task.detail.splitlines()
    assert "Days: Tuesday → Monday, Wednesday" in lines
    assert "Times of day: not said → mornings" in lines and "Ways to meet: not said → video call" in lines
    assert "Language: not said → Polish (interpreter needed)" in lines
    assert "Goals: not said → Get back to work; Sleep through the night" in lines
    assert not any("Who to involve" in x for x in lines)
    actions = {(a.action, a.resource_type) for a in _by_link(db, setup["link"])}
    assert {("update", "Preferences"), ("create", "Task")} <= actions
    # the person sees it saved, their goals, and the message in their list
    after = person.get(r.headers["location"]).text
    assert "Saved. Your care team has been told what changed." in after
    assert "<li>Get back to work</li>" in after and "You updated your preferences" in after and "Received" in after
    # her team sees every preference in words (days and times included), the history and the task
    login(client, "ccoord")
    care_page = client.get(f"/people/{pid}/care").text
    assert "<li>Days: Monday, Wednesday</li>" in care_page and "<li>Times of day: mornings</li>" in care_page
    assert "Goals: Get back to work; Sleep through the night" in care_page
    assert 'id="preferences-history"' in care_page and "<li>Days: Tuesday → Monday, Wednesday</li>" in care_page
    assert "The person changed their preferences (version 2)" in care_page


def test_unchanged_stale_or_bad_preferences_save_nothing(setup, person, client, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    page = person.get(f"/my-plan/{token}").text
    same = person.post(f"/my-plan/{token}/preferences", data=_prefs_form(page, days=["tue"]), follow_redirects=False)
    assert same.status_code == 303 and same.headers["location"].endswith("?sent=nothing#sent")
    bad = person.post(
        f"/my-plan/{token}/preferences",
        data=_prefs_form(page, days=["someday"], goals=["a", "b", "c", "d"], language="x" * 36),
    )
    assert bad.status_code == 422
    assert 'id="days-error"' in bad.text and 'id="goals-error"' in bad.text and 'id="language-error"' in bad.text
    assert 'value="c"' in bad.text and f'value="{"x" * 36}"' in bad.text  # what was typed is kept
    # her team saves in between: the person's stale form is refused, their typing kept, nothing overwritten
    client.put(
        f"/api/v1/people/{pid}/preferences", json={"expected_version": 1, "days": ["fri"]}, headers=setup["cc"].auth
    )
    stale = person.post(
        f"/my-plan/{token}/preferences", data=_prefs_form(page, days=["sat"], goals=["Walk the dog daily"])
    )
    assert stale.status_code == 409 and "Your team updated your preferences" in stale.text
    assert 'value="Walk the dog daily"' in stale.text and "<dd>Friday</dd>" in stale.text
    assert 'name="expected_version" value="2"' in stale.text  # saving again is from what is now shown
    assert _count(db, Preferences, person_id=pid) == 2 and _count(db, Task) == 0
    with pytest.raises(Conflict):
        own_page.update_preferences(db, token, {"days": ["sat"]}, 1)
    db.rollback()
    with pytest.raises(InvalidInput) as e:
        own_page.update_preferences(db, token, {"goals": ["x" * 201]}, 2)
    assert e.value.problems[0].field == "goal_1"


def test_a_forged_or_stale_form_is_refused_and_keeps_what_was_typed(setup, person, db) -> None:  # type: ignore[no-untyped-def]
    token = setup["token"]
    person.get(f"/my-plan/{token}")
    r = person.post(f"/my-plan/{token}/requests", data={"kind": "more-sessions", "text": "Weekly please, not monthly"})
    assert r.status_code == 403 and "nothing was sent" in r.text and "Weekly please, not monthly" in r.text
    r = person.post(
        f"/my-plan/{token}/preferences", data={"csrf_token": "forged", "expected_version": "1", "days": ["mon"]}
    )
    assert r.status_code == 403
    assert _count(db, Task) == 0 and _count(db, Preferences, person_id=setup["pid"]) == 1


def test_the_clinicians_form_keeps_the_persons_goals(setup, person, client, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    page = person.get(f"/my-plan/{token}").text
    person.post(f"/my-plan/{token}/preferences", data=_prefs_form(page, days=["tue"], goals=["Swim again"]))
    csrf = login(client, "ccoord")
    care_page = client.get(f"/people/{pid}/care").text
    assert 'name="goals" maxlength="200" value="Swim again"' in care_page
    r = client.post(
        f"/people/{pid}/care/preferences",
        data={"csrf_token": csrf, "expected_version": "2", "days": ["thu"], "goals": ["Swim again", ""]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    # a form without the goal fields (an older page) keeps them too
    r = client.post(
        f"/people/{pid}/care/preferences",
        data={"csrf_token": csrf, "expected_version": "3", "days": ["fri"]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    latest = db.scalar(select(Preferences).where(Preferences.person_id == pid).order_by(Preferences.version.desc()))
    assert latest.version == 4 and latest.data["goals"] == ["Swim again"] and latest.data["days"] == ["fri"]


# -- requests ------------------------------------------------------------------------------------------------------


def test_a_request_is_a_task_for_the_team_and_the_answer_comes_back(setup, person, client, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    page = person.get(f"/my-plan/{token}").text
    ask = {"csrf_token": _csrf(page), "kind": "appointment-time", "text": "Could we meet after 5pm? I start work."}
    r = person.post(f"/my-plan/{token}/requests", data=ask, follow_redirects=False)
    assert r.status_code == 303, r.text
    (task,) = db.scalars(select(Task).where(Task.person_id == pid))
    assert task.kind == "person-request" and task.title == "The person asks about the time of their appointments"
    assert task.detail == "Could we meet after 5pm? I start work." and task.status == "open"
    assert ("create", "Task") in {(a.action, a.resource_type) for a in _by_link(db, setup["link"])}
    mine = person.get(f"/my-plan/{token}").text
    assert "You asked about the time of your appointments" in mine and "<strong>Received</strong>" in mine
    # her team sees it on the care page (and Today lists it) and records it done with a note she reads
    csrf = login(client, "ccoord")
    assert task in tasks.open_for(db, setup["cc"].principal)
    care_page = client.get(f"/people/{pid}/care").text
    assert "The person asks about the time of their appointments" in care_page and f'id="task-{task.id}"' in care_page
    short = client.post(f"/people/{pid}/care/tasks/{task.id}/done", data={"csrf_token": csrf, "note": "ok"})
    assert short.status_code == 422
    done = client.post(
        f"/people/{pid}/care/tasks/{task.id}/done",
        data={"csrf_token": csrf, "note": "Moved to Thursdays at 5.30pm from next week"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    answered = person.get(f"/my-plan/{token}").text
    assert "<strong>Done</strong>" in answered and "Moved to Thursdays at 5.30pm from next week" in answered
    # a task of another person cannot be closed from this person's page
    other = client.post(
        "/api/v1/people", json={"given_name": "Bo", "family_name": "C", "sex": "male"}, headers=setup["cc"].auth
    ).json()["id"]
    r = client.post(f"/people/{other}/care/tasks/{task.id}/done", data={"csrf_token": csrf, "note": "Closing it"})
    assert r.status_code == 404


def test_bad_requests_are_refused_naming_the_field(setup, person, db) -> None:  # type: ignore[no-untyped-def]
    token = setup["token"]
    csrf = _csrf(person.get(f"/my-plan/{token}").text)
    r = person.post(f"/my-plan/{token}/requests", data={"csrf_token": csrf, "kind": "nonsense", "text": "hi"})
    assert r.status_code == 422 and 'id="kind-error"' in r.text and 'id="text-error"' in r.text
    r = person.post(
        f"/my-plan/{token}/requests", data={"csrf_token": csrf, "kind": "something-else", "text": "x\x00y z"}
    )
    assert r.status_code == 422 and "NUL" in r.text
    r = person.post(
        f"/my-plan/{token}/requests", data={"csrf_token": csrf, "kind": "something-else", "text": "a" * 2001}
    )
    assert r.status_code == 422 and "at most 2000" in r.text
    assert _count(db, Task) == 0


def test_requests_are_capped_open_and_per_day(setup, person, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    csrf = _csrf(person.get(f"/my-plan/{token}").text)
    for i in range(own_page.MAX_OPEN_REQUESTS):
        r = person.post(
            f"/my-plan/{token}/requests",
            data={"csrf_token": csrf, "kind": "something-else", "text": f"Request number {i}"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    over = person.post(
        f"/my-plan/{token}/requests", data={"csrf_token": csrf, "kind": "fewer-sessions", "text": "One more thing"}
    )
    assert over.status_code == 429 and "5 requests waiting" in over.text and "One more thing" in over.text
    assert _count(db, Task, person_id=pid, kind="person-request") == own_page.MAX_OPEN_REQUESTS
    page = person.get(f"/my-plan/{token}").text
    assert 'id="request-form"' not in page and "You have 5 requests waiting" in page
    # the team answers them all; the day's cap still holds
    with transaction(db):
        for t in db.scalars(select(Task).where(Task.person_id == pid)):
            t.status = "done"
    for i in range(own_page.MAX_MESSAGES_PER_DAY - own_page.MAX_OPEN_REQUESTS):
        own_page.ask_for_change(db, token, "something-else", f"Later request {i}")
    with pytest.raises(own_page.TooMany):
        own_page.ask_for_change(db, token, "something-else", "Eleventh today")
    db.rollback()


def test_the_team_withdraws_the_persons_links(setup, person, client, db) -> None:  # type: ignore[no-untyped-def]
    token, pid = setup["token"], setup["pid"]
    assert person.get(f"/my-plan/{token}").status_code == 200
    csrf = login(client, "ccoord")
    assert client.post(f"/people/{pid}/care/plan-link/withdraw", data={}).status_code == 403  # CSRF
    r = client.post(f"/people/{pid}/care/plan-link/withdraw", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    gone = person.get(f"/my-plan/{token}")
    assert gone.status_code == 410 and "Sister Mary" not in gone.text and 'href="tel:999"' in gone.text
    db.expire_all()
    assert db.get(PlanLink, setup["link"].id).revoked_at is not None
    assert (
        db.scalar(
            select(AuditRecord).where(AuditRecord.resource_type == "PlanLink", AuditRecord.action == "update")
        ).actor
        == "ccoord"
    )
    # a new link works again
    _, fresh = care.create_plan_link(db, setup["cc"].principal, pid, 7)
    db.commit()
    assert person.get(f"/my-plan/{fresh}").status_code == 200
