"""The intake record: a section saved whole or not at all, marked with the contributor's profession, psychosocial
context only with the person's agreement (H-092), goals re-rated over time, every read and write audited, and
nothing for someone without access to the person."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import Forbidden
from idiograph.intake import service as intake
from idiograph.intake.definition import definition
from idiograph.intake.model import IntakeRecord
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal
from idiograph.security.service import set_profession

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1985-12-10"}
EPISODE = {
    "referral_date": "2026-10-01",
    "referral_source": "gp",
    "presenting_problem": "depression",
    "pathway": "step_2",
}
PRESENTING = {"presenting_problem": "depression", "problem_duration_months": 14}
SOCIAL = {"psychosocial_recorded": True, "housing": "unsettled", "money_worries": True}
GOALS = {"goals": [{"goal": "Get back to work", "rating": 2}, {"goal": "See friends again", "rating": 3}]}


def _person(client, staff) -> str:  # type: ignore[no-untyped-def]
    pid = client.post("/api/v1/people", json=PERSON, headers=staff.auth).json()["id"]
    r = client.post(f"/api/v1/people/{pid}/episodes", json=EPISODE, headers=staff.auth)
    assert r.status_code == 201, r.text
    return pid


def _audited(db: Session, action: str) -> list[dict]:  # type: ignore[type-arg]
    q = select(AuditRecord.detail).where(AuditRecord.resource_type == "IntakeRecord", AuditRecord.action == action)
    return list(db.scalars(q))


def test_sections_are_stored_marked_with_profession_and_read_back(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    set_profession(db, Principal.system(), "clin", "clinical_psychologist", definition().professions)
    db.commit()
    pid = _person(client, clin)
    for section, answers in (("presenting", PRESENTING), ("psychosocial", SOCIAL), ("goals", GOALS)):
        r = client.put(f"/api/v1/people/{pid}/intake/{section}", json={"answers": answers}, headers=clin.auth)
        assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/people/{pid}/intake", headers=clin.auth).json()
    assert got["definition"] == f"intake/{definition().version}" and got["psychosocial_consent"] is True
    sections = {s["id"]: s for s in got["sections"]}
    assert sections["presenting"]["answers"] == PRESENTING
    assert sections["presenting"]["contributed"]["profession"] == "clinical_psychologist"
    assert sections["history"]["recorded"] is False and sections["history"]["contributed"] is None
    assert [(g["goal"], g["first"], g["latest"]) for g in got["goals"]] == [
        ("Get back to work", 2, 2),
        ("See friends again", 3, 3),
    ]
    assert [d["section"] for d in _audited(db, "create") + _audited(db, "update")] == [
        "presenting",
        "psychosocial",
        "goals",
    ]
    assert _audited(db, "read")
    flat = intake.answers_by_episode(db, Principal.system(), [db.scalar(select(IntakeRecord.episode_id))])
    assert next(iter(flat.values()))["housing"] == "unsettled"
    assert intake.answers_by_episode(db, Principal.system()) == flat  # every episode's, for the service's models
    assert intake.answers_by_episode(db, clin.principal, list(flat)) == flat


def test_a_bad_section_is_refused_whole_naming_every_field(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    bad = {"presenting_problem": "sadness", "problem_duration_months": -1, "housing": "settled"}
    r = client.put(f"/api/v1/people/{pid}/intake/presenting", json={"answers": bad}, headers=clin.auth)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"presenting_problem", "problem_duration_months", "housing"}
    r = client.put(f"/api/v1/people/{pid}/intake/nonsense", json={"answers": {}}, headers=clin.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "section"
    assert db.scalar(select(IntakeRecord.id)) is None
    assert not _audited(db, "create")


def test_psychosocial_context_is_refused_without_agreement_and_cleared_on_withdrawal(
    client, db: Session, make_staff
) -> None:  # type: ignore[no-untyped-def]
    """H-092: psychosocial context recorded without the person's agreement."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    url = f"/api/v1/people/{pid}/intake/psychosocial"
    unasked = {k: v for k, v in SOCIAL.items() if k != "psychosocial_recorded"}
    for answers in ({**SOCIAL, "psychosocial_recorded": False}, unasked):
        r = client.put(url, json={"answers": answers}, headers=clin.auth)
        assert r.status_code == 422, r.text
        assert {e["field"] for e in r.json()["errors"]} & {"housing", "psychosocial_recorded"}
    assert db.scalar(select(IntakeRecord.id)) is None
    assert client.put(url, json={"answers": SOCIAL}, headers=clin.auth).status_code == 200
    r = client.put(url, json={"answers": {"psychosocial_recorded": False}}, headers=clin.auth)
    assert r.status_code == 200
    got = {s["id"]: s for s in r.json()["sections"]}["psychosocial"]
    assert got["answers"] == {"psychosocial_recorded": False} and r.json()["psychosocial_consent"] is False


def test_someone_without_access_gets_nothing_and_stores_nothing(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    south = make_staff("south", "clinician", ("South",))
    pid = _person(client, clin)
    r = client.put(f"/api/v1/people/{pid}/intake/presenting", json={"answers": PRESENTING}, headers=south.auth)
    assert r.status_code in (403, 404)
    assert db.scalar(select(IntakeRecord.id)) is None
    client.put(f"/api/v1/people/{pid}/intake/presenting", json={"answers": PRESENTING}, headers=clin.auth)
    assert client.get(f"/api/v1/people/{pid}/intake", headers=south.auth).status_code in (403, 404)
    r = client.post(
        f"/api/v1/people/{pid}/intake/goals/ratings", json={"ratings": [{"goal": 1, "rating": 9}]}, headers=south.auth
    )
    assert r.status_code in (403, 404)
    episode = db.scalar(select(IntakeRecord.episode_id))
    for principal, episodes in ((south.principal, [episode]), (clin.principal, None)):
        with pytest.raises(Forbidden):
            intake.answers_by_episode(db, principal, episodes)


def test_goals_are_rerated_over_time_keeping_the_intake_rating(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    url = f"/api/v1/people/{pid}/intake/goals/ratings"
    assert client.post(url, json={"ratings": [{"goal": 1, "rating": 5}]}, headers=clin.auth).status_code == 422
    client.put(f"/api/v1/people/{pid}/intake/goals", json={"answers": GOALS}, headers=clin.auth)
    r = client.post(url, json={"ratings": [{"goal": 3, "rating": 5}]}, headers=clin.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ratings.3"
    r = client.post(url, json={"ratings": [{"goal": 1, "rating": 6}]}, headers=clin.auth)
    assert r.status_code == 200, r.text
    first = r.json()["goals"][0]
    assert (first["first"], first["latest"], len(first["ratings"])) == (2, 6, 2)
    assert first["ratings"][1]["by"] == "clin" and first["ratings"][1]["date"] == date.today().isoformat()
    # the goals section saved again in the same words keeps the later rating
    again = {"goals": [{"goal": "get back to work", "rating": 1}]}
    r = client.put(f"/api/v1/people/{pid}/intake/goals", json={"answers": again}, headers=clin.auth)
    assert [x["rating"] for x in r.json()["goals"][0]["ratings"]] == [1, 6]
    assert _audited(db, "update")[-2]["goals_rerated"] == [1]


def test_the_migration_built_the_table_and_the_profession(db: Session) -> None:
    from sqlalchemy import inspect

    insp = inspect(db.get_bind())
    assert "intake_record" in insp.get_table_names()
    assert "profession" in {c["name"] for c in insp.get_columns("user_account")}


def test_goal_words_too_long_or_text_with_nul_are_refused(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    long = {"goals": [{"goal": "x" * 301, "rating": 3}]}
    r = client.put(f"/api/v1/people/{pid}/intake/goals", json={"answers": long}, headers=clin.auth)
    assert r.status_code == 422 and "at most 300 characters" in r.text
    nul = {"previous_treatment": "none", "current_medication": "sertraline\x00"}
    r = client.put(f"/api/v1/people/{pid}/intake/history", json={"answers": nul}, headers=clin.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_medication"
    assert db.scalar(select(IntakeRecord.id)) is None
