"""Not on track and reviews through the service: fitted on finished episodes, judged at each new score."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from idiograph.alerts.model import Alert
from idiograph.instruments.definitions import instruments
from idiograph.monitoring.recovery import courses, not_on_track
from idiograph.monitoring.recovery.model import RecoveryModel
from idiograph.monitoring.reviews.model import EpisodeReview
from idiograph.patients.model import CaseloadAssignment, Episode
from idiograph.security.model import AuditRecord, Team
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo

PHQ9 = instruments()["phq-9"]


def test_a_score_above_the_boundary_raises_one_alert_with_reasons(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    load_demo(db, 80, 5, synth_params.load(), date.today())
    kinds = set(db.execute(select(RecoveryModel.instrument, RecoveryModel.kind).where(RecoveryModel.active)).all())
    assert kinds == {("phq-9", "curve"), ("phq-9", "nn"), ("gad-7", "curve"), ("gad-7", "nn")}
    # An open episode on the North team with a PHQ-9 score and no not-on-track alert yet.
    north = db.scalar(select(Team.id).where(Team.name == "North Talking Therapies"))
    open_eps = list(
        db.scalars(
            select(Episode)
            .join(CaseloadAssignment, CaseloadAssignment.person_id == Episode.person_id)
            .where(CaseloadAssignment.team_id == north, Episode.discharge_date.is_(None))
        )
    )
    flagged = {a.detail["episode_id"] for a in db.scalars(select(Alert).where(Alert.kind == "not-on-track"))}
    scored = [
        e for e in courses.for_episodes(db, open_eps, "phq-9") if e.episode_id not in flagged and e.scores[0] <= 20
    ]
    assert scored, "the demo should have open North episodes with PHQ-9 scores"
    ep = scored[0]
    clin = make_staff("nurse", "clinician", ("North Talking Therapies",))
    models = not_on_track.active(db)
    worst = dict.fromkeys([i.code for i in PHQ9.items], 3)
    before = db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "not-on-track"))
    r = client.post(
        f"/api/v1/people/{ep.person_id}/responses", json={"instrument": "phq-9", "answers": worst}, headers=clin.auth
    )
    assert r.status_code == 201, r.text
    judged = not_on_track.judge(
        models, "phq-9", courses.for_episodes(db, [db.get(Episode, uuid.UUID(ep.episode_id))], "phq-9")[0]
    )
    assert judged.judgements["curve"].score == 27
    assert judged.off_track, judged  # the worst possible score after an intake of 20 or less is off track
    after = db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "not-on-track"))
    assert after - before == 1
    alert = db.scalar(
        select(Alert).where(Alert.kind == "not-on-track", Alert.person_id == uuid.UUID(judged.episode.person_id))
    )
    assert alert is not None and "PHQ-9 is 27 at session" in alert.reason and "not on track" in alert.reason
    assert not any(w in alert.reason for w in ("Lutz", "Finch", "boundary", "nearest", "curve"))  # plain words
    assert "nearest-neighbour course (Lutz)" in str(alert.detail["workings"])  # the method one click away
    # A second off-track score while the alert is open does not raise another.
    client.post(
        f"/api/v1/people/{ep.person_id}/responses",
        json={"instrument": "phq-9", "answers": worst},
        headers=clin.auth,
    )
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "not-on-track")) == after
    # The person page draws the expected course and its boundary.
    from tests.web.test_pages import login

    login(client, "nurse")
    page = client.get(f"/people/{ep.person_id}").text
    assert "Not on track above this" in page and "Expected course" in page  # in words; the model is the method


def test_reviews_are_due_then_recorded_once(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    person = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}, headers=clin.auth
    ).json()
    start = date.today() - timedelta(weeks=4)
    ep = client.post(
        f"/api/v1/people/{person['id']}/episodes",
        json={
            "referral_date": (start - timedelta(days=10)).isoformat(),
            "referral_source": "gp",
            "presenting_problem": "depression",
            "pathway": "cbt",
        },
        headers=clin.auth,
    )
    assert ep.status_code == 201, ep.text
    answers = dict.fromkeys([i.code for i in PHQ9.items], 2)
    client.post(
        f"/api/v1/people/{person['id']}/responses",
        json={"instrument": "phq-9", "answers": answers, "authored": f"{start.isoformat()}T10:00:00Z"},
        headers=clin.auth,
    )
    client.post(
        f"/api/v1/people/{person['id']}/responses",
        json={"instrument": "phq-9", "answers": dict.fromkeys(answers, 1)},
        headers=clin.auth,
    )
    due = client.get("/api/v1/reviews", headers=clin.auth).json()
    assert [(d["week"], d["status"]) for d in due] == [(4, "due")]
    assert due[0]["baselines"] == [{"instrument": "phq-9", "intake": 18.0, "latest": 9.0, "change": -9.0}]
    other = make_staff("south", "clinician", ("South",))
    assert client.get("/api/v1/reviews", headers=other.auth).json() == []
    eid = ep.json()["id"]
    bad = client.post(f"/api/v1/episodes/{eid}/reviews", json={"week": 5, "note": "Reviewed plan"}, headers=clin.auth)
    assert bad.status_code == 422 and "weeks 4, 8" in bad.text
    done = client.post(
        f"/api/v1/episodes/{eid}/reviews", json={"week": 4, "note": "Improving; continue CBT"}, headers=clin.auth
    )
    assert done.status_code == 201 and done.json()["baseline"] == {"phq-9": {"intake": 18.0, "latest": 9.0}}
    again = client.post(f"/api/v1/episodes/{eid}/reviews", json={"week": 4, "note": "Twice"}, headers=clin.auth)
    assert again.status_code == 409
    assert client.get("/api/v1/reviews", headers=clin.auth).json() == []
    assert db.scalar(select(func.count()).select_from(EpisodeReview)) == 1
    assert (
        db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.resource_type == "EpisodeReview"))
        == 1
    )


def test_reading_a_persons_reviews_is_audited(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    person = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}, headers=clin.auth
    ).json()
    assert client.get(f"/api/v1/people/{person['id']}/reviews", headers=clin.auth).json() == []
    reads = db.scalars(
        select(AuditRecord.person_id).where(AuditRecord.resource_type == "Review", AuditRecord.action == "read")
    ).all()
    assert [str(r) for r in reads] == [person["id"]]
