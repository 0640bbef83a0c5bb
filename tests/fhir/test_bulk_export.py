"""FHIR Bulk Data export: kick-off (202 + Content-Location), status (202 X-Progress, then the manifest), NDJSON files
that validate and hold exactly the scope's records, cancel/delete, audit per person; and the operator's CLI."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from idiograph.app import create_app
from idiograph.fhir.model import BulkExport
from idiograph.observations.model import Observation
from idiograph.patients.model import CaseloadAssignment
from idiograph.security.model import AuditRecord, Team

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def exporting(committed, settings, tmp_path, make_staff):  # type: ignore[no-untyped-def]
    """A server whose export threads see what the test commits (a real database, not one rolled-back
    connection), two teams with one person each."""
    from fastapi.testclient import TestClient

    settings = settings.model_copy(update={"export_dir": tmp_path / "exports"})
    app = create_app(settings, database=committed)
    with TestClient(app) as client:
        north = make_staff("north", "clinician", ("North",))
        south = make_staff("south", "clinician", ("South",))
        people = {}
        for staff, name in ((north, "Ada"), (south, "Bea")):
            pid = client.post(
                "/api/v1/people", json={"given_name": name, "family_name": "X", "sex": "female"}, headers=staff.auth
            ).json()["id"]
            rows = [
                {
                    "person_id": pid,
                    "code": "718-7",
                    "value": 130 + i,
                    "time": datetime(2025, 1, 1 + i, tzinfo=UTC).isoformat(),
                    "source_id": f"{name}{i}",
                }
                for i in range(5)
            ]
            assert (
                client.post("/api/v1/observations", json={"observations": rows}, headers=staff.auth).status_code == 200
            )
            people[name] = pid
        yield client, north, south, people, committed


def _wait(client, url: str, auth: dict[str, str]) -> Any:  # type: ignore[no-untyped-def]
    for _ in range(300):
        r = client.get(url, headers=auth)
        if r.status_code != 202:
            return r
        assert r.headers["X-Progress"]
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def _lines(client, url: str, auth: dict[str, str]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = client.get(url, headers={**auth, "Accept": "application/fhir+ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+ndjson")
    out = [json.loads(line) for line in r.text.splitlines() if line]
    for res in out:
        get_fhir_model_class(res["resourceType"]).model_validate(res)
    return out


def test_a_team_export_runs_asynchronously_and_holds_exactly_the_team(exporting) -> None:  # type: ignore[no-untyped-def]
    client, north, south, people, database = exporting
    with database.reader() as s:
        team = s.scalar(select(Team.id).where(Team.name == "North"))
    refused = client.get(f"/fhir/R4/Group/{team}/$export", headers=north.auth)
    assert refused.status_code == 400 and "respond-async" in refused.text
    kick = client.get(f"/fhir/R4/Group/{team}/$export", headers={**north.auth, **ASYNC})
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["Content-Location"]
    assert "/$export-status/" in status_url
    done = _wait(client, status_url, north.auth)
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    files = {o["type"]: o for o in manifest["output"]}
    assert {"Patient", "Observation"} <= set(files)
    patients = _lines(client, files["Patient"]["url"], north.auth)
    assert [p["id"] for p in patients] == [people["Ada"]] and files["Patient"]["count"] == 1
    obs = _lines(client, files["Observation"]["url"], north.auth)
    with database.reader() as s:
        on_team = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == team)
        expected = s.scalar(select(func.count()).select_from(Observation).where(Observation.person_id.in_(on_team)))
        audited = s.scalars(
            select(AuditRecord.person_id).where(AuditRecord.action == "export", AuditRecord.resource_type == "Patient")
        ).all()
    assert len(obs) == expected == 5 and {o["subject"]["reference"] for o in obs} == {f"Patient/{people['Ada']}"}
    assert [str(p) for p in audited] == [people["Ada"]]  # each person exported is in the audit trail
    # someone else cannot see the export, its files, or export a team they are not on
    job = status_url.rsplit("/", 1)[1]
    assert client.get(status_url, headers=south.auth).status_code == 404
    assert client.get(files["Patient"]["url"], headers=south.auth).status_code == 404
    assert client.get(f"/fhir/R4/Group/{team}/$export", headers={**south.auth, **ASYNC}).status_code == 403
    # past the keeping time the files are gone even before anyone starts another export (which sweeps them)
    with database.writer() as w:
        w.get(BulkExport, uuid.UUID(job)).finished_at = datetime.now(UTC) - timedelta(hours=1000)
    expired = client.get(files["Patient"]["url"], headers=north.auth)
    assert expired.status_code == 404 and "expired" in expired.text
    with database.writer() as w:
        w.get(BulkExport, uuid.UUID(job)).finished_at = datetime.now(UTC)
    # deleting removes the files
    assert client.delete(status_url, headers=north.auth).status_code == 202
    assert client.get(files["Patient"]["url"], headers=north.auth).status_code == 404
    assert client.get(f"/fhir/R4/$export-status/{job}", headers=north.auth).status_code == 404


def test_kick_off_parameters_are_checked(exporting) -> None:  # type: ignore[no-untyped-def]
    client, north, _, _, _ = exporting
    for params, field in (
        ({"_type": "Claim"}, "_type"),
        ({"_outputFormat": "text/csv"}, "_outputFormat"),
        ({"_since": "2025-01-01"}, "_since"),
    ):
        r = client.get("/fhir/R4/$export", params=params, headers={**north.auth, **ASYNC})
        assert r.status_code == 400 and field in r.text, (params, r.text)
    assert client.get(f"/fhir/R4/Group/{uuid.uuid4()}/$export", headers={**north.auth, **ASYNC}).status_code == 404
    only = client.get("/fhir/R4/Patient/$export", params={"_type": "Patient"}, headers={**north.auth, **ASYNC})
    manifest = _wait(client, only.headers["Content-Location"], north.auth).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient"] and manifest["output"][0]["count"] == 1


def test_the_operator_exports_the_whole_service_from_the_command_line(run, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idiograph.patients.model import Person
    from idiograph.security.teams import team_by_name

    for name, team in (("Ada", "North"), ("Bea", "South")):
        p = Person(given_name=name, family_name="X", sex="female")
        db.add(p)
        db.flush()
        db.add(CaseloadAssignment(person_id=p.id, team_id=team_by_name(db, team, create=True).id))
    db.commit()
    r = run("export", "bulk", "--out", str(tmp_path / "all"))
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "all" / "Patient.ndjson").read_text().splitlines()
    assert sorted(json.loads(x)["name"][0]["given"][0] for x in lines) == ["Ada", "Bea"]
    r = run("export", "bulk", "--out", str(tmp_path / "north"), "--team", "North")
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "north" / "Patient.ndjson").read_text().splitlines()
    assert [json.loads(x)["name"][0]["given"][0] for x in lines] == ["Ada"]
