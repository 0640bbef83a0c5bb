"""Ingestion through the API: validated whole, idempotent, access-checked, audited; bad input is 4xx."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.observations.model import Observation
from idiograph.patients.model import Person

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count(Observation.id))) or 0


def _setup(client, make_staff):  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    return clin, pid


def obs(pid: str, **kw):  # type: ignore[no-untyped-def]
    return {"person_id": pid, "code": "44261-6", "value": 14, "time": "2026-03-02T10:00:00Z", **kw}


def test_batch_is_stored_once_and_re_sending_changes_nothing(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = _setup(client, make_staff)
    batch = {
        "observations": [
            obs(pid),
            obs(pid, code="14334-7", value=0.71, unit="mmol/L"),
            obs(pid, time="2026-03-09T10:00:00+00:00", value=11, source="ehr", source_id="X1"),
        ]
    }
    r = client.post("/api/v1/observations", json=batch, headers=clin.auth)
    assert r.status_code == 200 and r.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "people": 1,
        "checks_not_run": [],
    }
    again = client.post("/api/v1/observations", json=batch, headers=clin.auth)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3, "people": 1, "checks_not_run": []}
    corrected = client.post(
        "/api/v1/observations",
        json={"observations": [obs(pid, time="2026-03-09T10:00:00+00:00", value=10, source="ehr", source_id="X1")]},
        headers=clin.auth,
    )
    assert corrected.json()["updated"] == 1
    assert _count(db) == 3
    series = client.get(f"/api/v1/people/{pid}/observations?code=44261-6", headers=clin.auth).json()
    assert [(o["value"], o["unit"]) for o in series] == [(14.0, "{score}"), (10.0, "{score}")]


def test_one_bad_row_stores_nothing_and_names_every_field(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = _setup(client, make_staff)
    batch = {
        "observations": [
            obs(pid),
            obs(pid, code="99999-9"),
            obs(pid, value=28),
            obs(pid, value=3.5),
            obs(pid, unit="mg"),
            obs(pid, time="2099-01-01T00:00:00Z"),
        ]
    }
    r = client.post("/api/v1/observations", json=batch, headers=clin.auth)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {
        "observations/1/code",
        "observations/2/value",
        "observations/3/value",
        "observations/4/unit",
        "observations/5/time",
    }
    assert _count(db) == 0


def test_schema_level_rejections_are_4xx_problem_json(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = _setup(client, make_staff)
    cases = [
        (b'{"observations": [', 400, "body"),
        (json.dumps({"observations": [obs(pid, value="lots")]}).encode(), 422, "body/observations/0/value"),
        (
            json.dumps({"observations": [obs(pid, time="2026-02-30T10:00:00Z")]}).encode(),
            422,
            "body/observations/0/time",
        ),
        (
            json.dumps({"observations": [obs(pid, time="2026-02-03T10:00:00")]}).encode(),
            422,
            "body/observations/0/time",
        ),
        (json.dumps({"observations": [obs("not-a-uuid")]}).encode(), 422, "body/observations/0/person_id"),
        (json.dumps({"observations": []}).encode(), 422, "body/observations"),
        (json.dumps({"observations": [obs(pid, colour="blue")]}).encode(), 422, "body/observations/0/colour"),
    ]
    for body, status, field in cases:
        r = client.post("/api/v1/observations", content=body, headers={**clin.auth, "Content-Type": "application/json"})
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert _count(db) == 0


def test_oversized_payload_is_413(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, _ = _setup(client, make_staff)
    big = b'{"observations": [' + b" " * (3 * 1024 * 1024) + b"]}"
    r = client.post("/api/v1/observations", content=big, headers={**clin.auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["status"] == 413


def test_cannot_write_to_someone_elses_record(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    _, pid = _setup(client, make_staff)
    other = make_staff("south", "clinician", ("South",))
    r = client.post("/api/v1/observations", json={"observations": [obs(pid)]}, headers=other.auth)
    assert r.status_code == 403 and _count(db) == 0


def test_csv_upload_is_transactional_and_idempotent(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    good = (
        "person_id,code,value,time,given_name,family_name,nhs_number\n"
        "E1,44261-6,15,2026-02-01T09:00:00Z,Mary,Seacole,4010232137\n"
        "E1,44261-6,12,2026-02-08T09:00:00Z,,,\n"
        "E2,14334-7,0.8,2026-02-01,,,\n"
    )
    files = {"file": ("scores.csv", good, "text/csv")}
    r = client.post("/api/v1/import/csv", files=files, data={"source": "ehr"}, headers=clin.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "people": 2,
        "checks_not_run": [],
        "people_created": 2,
    }
    r2 = client.post("/api/v1/import/csv", files=files, data={"source": "ehr"}, headers=clin.auth)
    assert r2.json()["unchanged"] == 3 and r2.json()["people_created"] == 0
    bad = good + "E3,44261-6,40,2026-02-01,,,\n"
    r3 = client.post(
        "/api/v1/import/csv", files={"file": ("s.csv", bad, "text/csv")}, data={"source": "other"}, headers=clin.auth
    )
    assert r3.status_code == 422 and r3.json()["errors"][0]["field"] == "line 5/value"
    assert _count(db) == 3
    caseload = client.get("/api/v1/people", headers=clin.auth).json()["items"]
    assert sorted(p["family_name"] for p in caseload) == ["E2", "Seacole"]


def test_a_csv_import_cannot_take_over_another_teams_person(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: an import matched another team's person by NHS number, rewrote their demographics, stored
    observations on them and joined them to the importer's caseload, after which the record opened."""
    from idiograph.patients.model import CaseloadAssignment, Person

    north = make_staff("north", "clinician", ("North",))
    south = make_staff("south", "clinician", ("South",))
    pid = client.post(
        "/api/v1/people",
        json={"given_name": "Mary", "family_name": "Seacole", "nhs_number": "4010232137"},
        headers=north.auth,
    ).json()["id"]
    takeover = (
        "person_id,code,value,time,given_name,family_name,nhs_number\nX1,44261-6,3,2026-02-01,Eve,Mallory,4010232137\n"
    )
    r = client.post("/api/v1/import/csv", files={"file": ("t.csv", takeover, "text/csv")}, headers=south.auth)
    assert r.status_code == 403 and "another team's caseload" in r.json()["detail"]
    db.expire_all()
    person = db.get(Person, uuid.UUID(pid))
    assert (person.given_name, person.family_name) == ("Mary", "Seacole")
    assert _count(db) == 0
    assert db.scalars(select(CaseloadAssignment.team_id).where(CaseloadAssignment.person_id == person.id)).all() == [
        north.principal.team_ids and next(iter(north.principal.team_ids))
    ]
    assert client.get(f"/api/v1/people/{pid}", headers=south.auth).status_code == 403


def test_a_bulk_loader_may_add_results_but_never_widens_a_caseload(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Administrators load feeds (no person access): results reach an existing person, who joins no new team."""
    from idiograph.patients.model import CaseloadAssignment

    north = make_staff("north", "clinician", ("North",))
    admin = make_staff("ops", "admin", ("Imports",))
    pid = client.post(
        "/api/v1/people",
        json={"given_name": "Mary", "family_name": "Seacole", "nhs_number": "4010232137"},
        headers=north.auth,
    ).json()["id"]
    feed = (
        "person_id,code,value,time,nhs_number\nF1,44261-6,3,2026-02-01,4010232137\nF2,44261-6,9,2026-02-01,9434765919\n"
    )
    r = client.post("/api/v1/import/csv", files={"file": ("f.csv", feed, "text/csv")}, headers=admin.auth)
    assert r.status_code == 200, r.text
    assert r.json()["people_created"] == 1
    db.expire_all()
    teams = db.scalars(select(CaseloadAssignment.team_id).where(CaseloadAssignment.person_id == uuid.UUID(pid))).all()
    assert teams == [next(iter(north.principal.team_ids))]


def test_a_csv_with_a_nul_is_refused_on_every_backend(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Once stored on SQLite and a 500 on PostgreSQL: now a 422 naming the line, and nothing stored."""
    clin = make_staff("clin", "clinician", ("North",))
    text = "person_id,code,value,time,family_name\nE\x001,44261-6,15,2026-02-01T09:00:00Z,Seacole\n"
    r = client.post("/api/v1/import/csv", files={"file": ("s.csv", text, "text/csv")}, headers=clin.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "line 2", r.text
    assert _count(db) == 0


def test_an_import_cannot_pass_its_people_off_as_generated(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found in review: a CSV with source "synth:x" gave real people the identifiers of generated ones, so the
    demo's guard against loading into a real database would count them as its own."""
    clin = make_staff("clin", "clinician", ("North",))
    csv = "person_id,code,value,time,given_name,family_name\nE1,718-7,140,2026-01-05T09:00:00Z,Mary,Seacole\n"
    files = {"file": ("x.csv", csv, "text/csv")}
    r = client.post("/api/v1/import/csv", files=files, data={"source": "synth:7"}, headers=clin.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "person E1/identifier", r.text
    assert "reserved for generated" in r.json()["errors"][0]["reason"]
    assert db.scalar(select(func.count()).select_from(Person)) == 0
