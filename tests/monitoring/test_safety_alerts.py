"""Safety items raise an alert at once, by every path, once; the lifecycle is recorded and audited."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from idiograph.alerts.kinds import transition_problem
from idiograph.alerts.model import Alert
from idiograph.monitoring import safety
from idiograph.observations import service as observations
from idiograph.security.model import AuditRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}
ITEM9 = "44260-8"


def row(code: str, value: float) -> observations.StoredRow:
    return observations.StoredRow(
        uuid.uuid4(), "http://loinc.org", code, value, datetime(2026, 3, 1, tzinfo=UTC), "api", "x"
    )


def test_the_pipeline_runs_safety_first_then_the_statistical_rules_in_a_written_order() -> None:
    from idiograph import pipeline

    assert [r.name for r in pipeline.RULES] == ["personal baselines", "not on track", "relapse"]


def test_findings_are_item_nine_above_zero_whatever_the_total() -> None:
    assert [f.value for f in safety.findings([row(ITEM9, 1), row(ITEM9, 0), row("44261-6", 27)])] == [1]
    item9_text = "Thoughts that you would be better off dead, or of hurting yourself in some way"
    assert safety.safety_items() == {
        ("http://loinc.org", ITEM9): ("phq-9", item9_text, 0),
        ("urn:idiograph:code", "core-10-06"): ("core-10", "I made plans to end my life", 0),
    }


@pytest.mark.parametrize(
    ("current", "target", "note", "ok"),
    [
        ("raised", "seen", None, True),
        ("raised", "acted", "rang, safe plan", True),
        ("raised", "acted", None, False),
        ("raised", "acted", "ok", False),
        ("seen", "acted", "called GP", True),
        ("raised", "closed", None, False),
        ("seen", "closed", None, False),
        ("acted", "closed", None, True),
        ("closed", "seen", None, False),
        ("acted", "seen", None, False),
    ],
)
def test_lifecycle(current: str, target: str, note: str | None, ok: bool) -> None:
    assert (transition_problem(current, target, note) is None) == ok


def test_an_item_nine_answer_through_the_api_alerts_once_and_runs_its_lifecycle(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    other = make_staff("south", "clinician", ("South",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    answer = {
        "person_id": pid,
        "code": ITEM9,
        "value": 1,
        "time": "2026-03-02T10:00:00Z",
        "source": "ehr",
        "source_id": "q1-item9",
    }
    assert client.post("/api/v1/observations", json={"observations": [answer]}, headers=clin.auth).status_code == 200
    client.post("/api/v1/observations", json={"observations": [answer]}, headers=clin.auth)  # re-sent: no 2nd alert
    zero = {**answer, "value": 0, "source_id": "q2-item9", "time": "2026-03-09T10:00:00Z"}
    client.post("/api/v1/observations", json={"observations": [zero]}, headers=clin.auth)
    alerts = client.get(f"/api/v1/people/{pid}/alerts", headers=clin.auth).json()
    assert len(alerts) == 1 and alerts[0]["kind"] == "safety" and alerts[0]["status"] == "raised"
    assert "answered 'Several days' (PHQ-9 item 9) on 2 Mar 2026" in alerts[0]["reason"]
    assert "(above 0)" not in alerts[0]["reason"] and alerts[0]["detail"]["value"] == 1
    aid = alerts[0]["id"]
    assert client.get(f"/api/v1/people/{pid}/alerts", headers=other.auth).status_code == 403
    flags = client.get("/fhir/R4/Flag", params={"patient": pid, "status": "active"}, headers=clin.auth).json()
    assert flags["total"] == 1 and flags["entry"][0]["resource"]["resourceType"] == "Flag"
    assert client.post(f"/api/v1/alerts/{aid}/close", headers=clin.auth).status_code == 409
    assert client.post(f"/api/v1/alerts/{aid}/act", json={"note": "no"}, headers=clin.auth).status_code == 422
    acted = client.post(f"/api/v1/alerts/{aid}/act", json={"note": "Phoned: safe, plan updated"}, headers=clin.auth)
    assert acted.status_code == 200 and acted.json()["acted_by"] == "clin"
    closed = client.post(f"/api/v1/alerts/{aid}/close", headers=clin.auth).json()
    assert closed["status"] == "closed" and closed["closed_by"] == "clin"
    assert (
        client.get("/fhir/R4/Flag", params={"patient": pid, "status": "active"}, headers=clin.auth).json()["total"] == 0
    )
    actions = db.scalars(
        select(AuditRecord.action)
        .where(AuditRecord.resource_type == "Alert", AuditRecord.action != "read")
        .order_by(AuditRecord.seq)
    ).all()
    assert actions == ["raise", "acted", "closed"]


def test_a_questionnaire_response_with_item_nine_alerts_on_fhir_import(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = copy.deepcopy(synthea_bundle)
    qr = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    qr["item"][-1]["answer"][0]["valueCoding"]["code"] = "LA6569-3"  # item 9: several days
    assert client.post("/fhir/R4", json=bundle, headers=clin.auth).status_code == 200
    assert db.scalar(select(func.count(Alert.id)).where(Alert.kind == "safety", Alert.status == "raised")) == 1


def test_caseload_and_person_page_show_the_alert(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    client.post(
        "/api/v1/observations",
        headers=clin.auth,
        json={"observations": [{"person_id": pid, "code": ITEM9, "value": 2, "time": "2026-03-02T10:00:00Z"}]},
    )
    token = login(client, "clin")
    today = client.get("/today").text
    assert "Safety answer on PHQ-9" in today and "LOVELACE, Ada" in today
    page = client.get(f"/people/{pid}").text
    assert "Safety answer on PHQ-9" in page
    alerts = page[page.index('id="alerts"') :]
    assert "<summary>How this was worked out</summary>" in alerts[: alerts.index("</section>")]  # one click away
    aid = db.scalar(select(Alert.id))
    r = client.post(
        f"/alerts/{aid}/act", data={"note": "Seen in clinic today", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "Seen in clinic today" in client.get(f"/people/{pid}").text


def test_a_fresh_cli_process_raises_the_alert_on_csv_import(committed, tmp_path, settings, db) -> None:  # type: ignore[no-untyped-def]
    """The failure this guards against: the rule registered only when the web app's modules were imported,
    so `idiograph import csv` in its own process stored item-9 answers without an alert."""
    import os
    import subprocess
    import sys

    csv = tmp_path / "answers.csv"
    csv.write_text("person_id,code,value,time\nE1,44260-8,2,2026-03-01T10:00:00Z\nE1,44261-6,12,2026-03-01T10:00:00Z\n")
    env = {**os.environ, "IDIOGRAPH_DATABASE_URL": settings.database_url, "IDIOGRAPH_SECRET_KEY": settings.secret_key}
    create = [
        sys.executable,
        "-m",
        "idiograph.cli",
        "users",
        "create",
        "--username",
        "ops",
        "--role",
        "admin",
        "--team",
        "Imports",
        "--password-stdin",
    ]
    subprocess.run(create, input="a-long-password\n", text=True, env=env, check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "idiograph.cli", "import", "csv", str(csv), "--team", "Imports"],
        text=True,
        env=env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    db.expire_all()
    assert db.scalar(select(func.count(Alert.id)).where(Alert.kind == "safety")) == 1
