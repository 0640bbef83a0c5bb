"""The intake baseline on the person's record: recorded section by section on a form (CSRF, labelled fields,
named errors, nothing kept when refused), shown at the top with each contributor's profession."""

from __future__ import annotations

import re

from sqlalchemy import select

from idiograph.intake.definition import definition
from idiograph.intake.model import IntakeRecord
from idiograph.security.principal import Principal
from idiograph.security.service import set_profession
from tests.intake.test_record import EPISODE, PERSON
from tests.web.test_pages import login


def _csrf(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_clinician_records_sections_on_the_page_and_sees_the_baseline(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    set_profession(db, Principal.system(), "clin", "mental_health_nurse", definition().professions)
    db.commit()
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    client.post(f"/api/v1/people/{pid}/episodes", json=EPISODE, headers=clin.auth)
    login(client, "clin")
    record = client.get(f"/people/{pid}")
    assert 'id="intake-title">Intake baseline' in record.text and "No intake assessment is recorded" in record.text
    form = client.get(f"/people/{pid}/intake/presenting")
    assert form.status_code == 200 and '<label for="problem_duration_months">' in form.text
    bad = client.post(
        f"/people/{pid}/intake/presenting",
        data={"csrf_token": _csrf(form), "presenting_problem": "depression", "problem_duration_months": "soon"},
    )
    assert bad.status_code == 422 and 'href="#problem_duration_months"' in bad.text and "must be a number" in bad.text
    assert 'aria-invalid="true" aria-describedby="problem_duration_months-error"' in bad.text
    assert db.scalar(select(IntakeRecord.id)) is None
    ok = client.post(
        f"/people/{pid}/intake/presenting",
        data={"csrf_token": _csrf(form), "presenting_problem": "panic", "problem_duration_months": "8"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    refused = client.post(
        f"/people/{pid}/intake/psychosocial",
        data={"csrf_token": _csrf(form), "psychosocial_recorded": "no", "housing": "homeless"},
    )
    assert refused.status_code == 422 and "has not agreed" in refused.text
    client.post(f"/people/{pid}/intake/psychosocial", data={"csrf_token": _csrf(form), "psychosocial_recorded": "no"})
    client.post(
        f"/people/{pid}/intake/goals",
        data={"csrf_token": _csrf(form), "goal_1": "Sleep through the night", "goal_1_rating": "3"},
    )
    client.post(f"/people/{pid}/intake-goal-ratings", data={"csrf_token": _csrf(form), "rating_1": "7"})
    page = client.get(f"/people/{pid}").text
    panel = page.split('id="intake"')[1].split("</section>")[0]
    assert "Presenting problem: Panic; How long it has lasted (months): 8" in panel
    assert "not recorded: the person did not agree" in panel
    assert "Sleep through the night: <strong>3</strong>/10 at intake, <strong>7</strong>/10" in panel
    assert panel.count("Mental health nurse") == 3
    assert page.index('id="intake"') < page.index('id="measures"')


def test_without_the_csrf_token_nothing_is_saved(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    client.post(f"/api/v1/people/{pid}/episodes", json=EPISODE, headers=clin.auth)
    login(client, "clin")
    r = client.post(
        f"/people/{pid}/intake/presenting", data={"presenting_problem": "panic", "problem_duration_months": "8"}
    )
    assert r.status_code == 403
    assert db.scalar(select(IntakeRecord.id)) is None


def test_the_week_4_review_shows_then_and_now(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from datetime import date, timedelta

    from idiograph.instruments.definitions import instruments

    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    start = date.today() - timedelta(weeks=4)
    episode = {**EPISODE, "referral_date": (start - timedelta(days=10)).isoformat(), "pathway": "cbt"}
    assert client.post(f"/api/v1/people/{pid}/episodes", json=episode, headers=clin.auth).status_code == 201
    answers = dict.fromkeys([i.code for i in instruments()["phq-9"].items], 2)
    client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": answers, "authored": f"{start.isoformat()}T10:00:00Z"},
        headers=clin.auth,
    )
    client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": dict.fromkeys(answers, 1)},
        headers=clin.auth,
    )
    goals = {"goals": [{"goal": "Walk the dog daily", "rating": 2}, {"goal": "Cook again", "rating": 4}]}
    client.put(f"/api/v1/people/{pid}/intake/goals", json={"answers": goals}, headers=clin.auth)
    client.post(
        f"/api/v1/people/{pid}/intake/goals/ratings", json={"ratings": [{"goal": 1, "rating": 6}]}, headers=clin.auth
    )
    login(client, "clin")
    page = client.get("/reviews").text
    cell = page.split('class="then-and-now"')[1].split("</td>")[0]
    assert "PHQ-9 18 → 9 (-9)" in cell
    record = client.get(f"/people/{pid}").text.split('id="reviews"')[1].split("</section>")[0]
    assert "Walk the dog daily 2 → 6; Cook again 4 → 4" in record
    assert "Walk the dog daily: 2 → 6" in cell and 'Cook again: 4 → 4 <span class="muted">(not re-rated yet)' in cell


def test_reviews_and_decisions_carry_the_profession_of_who_made_them(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """One picture from every discipline: a review and a decision say who made them and in which profession."""
    from datetime import date, timedelta

    from idiograph.governance.model import Decision
    from idiograph.instruments.definitions import instruments
    from idiograph.monitoring.reviews.model import EpisodeReview

    clin = make_staff("clin", "clinician", ("North",))
    set_profession(db, Principal.system(), "clin", "social_worker", definition().professions)
    db.commit()
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    start = date.today() - timedelta(weeks=4)
    episode = {**EPISODE, "referral_date": (start - timedelta(days=10)).isoformat(), "pathway": "cbt"}
    eid = client.post(f"/api/v1/people/{pid}/episodes", json=episode, headers=clin.auth).json()["id"]
    answers = dict.fromkeys([i.code for i in instruments()["phq-9"].items], 2)
    client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": answers, "authored": f"{start.isoformat()}T10:00:00Z"},
        headers=clin.auth,
    )
    r = client.post(
        f"/api/v1/episodes/{eid}/reviews", json={"week": 4, "note": "Improving; housing sorted"}, headers=clin.auth
    )
    assert r.status_code in (200, 201), r.text
    db.expire_all()
    assert db.scalar(select(EpisodeReview.completed_profession)) == "social_worker"
    login(client, "clin")
    reviews = client.get(f"/people/{pid}").text.split('id="reviews"')[1].split("</section>")[0]
    assert "Improving; housing sorted" in reviews and "Recorded by clin (Social worker)" in reviews
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"intervention": "medication_review", "rationale": "Wants to review the sertraline first"},
        headers=clin.auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["requested_profession"] == "social_worker"
    db.expire_all()
    decision = db.scalar(select(Decision).where(Decision.person_id == __import__("uuid").UUID(pid)))
    assert decision is not None and decision.requested_profession == "social_worker"
    decisions = client.get(f"/people/{pid}").text.split('id="decisions"')[1].split("</section>")[0]
    assert "clin (clinician, Social worker)" in decisions
