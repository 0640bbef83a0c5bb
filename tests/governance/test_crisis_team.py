"""The crisis team sees what a crisis response needs - the same plan every team sees - and nothing else."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from idiograph.security.model import AuditRecord


def test_crisis_team_reads_the_same_plan_and_nothing_else(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    crisis = make_staff("crisis.team", "crisis_team")
    pid = client.post(
        "/api/v1/people",
        json={"given_name": "Ada", "family_name": "B", "sex": "female", "nhs_number": "9434765919"},
        headers=cc.auth,
    ).json()["id"]
    client.post(
        f"/api/v1/people/{pid}/risk-assessments", json={"level": "high", "summary": "Recent attempt"}, headers=cc.auth
    )
    put = client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "Agreed with Ada", "what_helps": ["Her sister Mary on 07700 900000"]},
        headers=cc.auth,
    )
    assert put.status_code == 200, put.text
    r = client.get("/api/v1/crisis?nhs_number=943 476 5919&reason=Police welfare call", headers=crisis.auth)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["person_id"] == pid and s["risk_level"] == "high"
    assert s["crisis_plan"]["version"] == 1 and s["crisis_plan"]["content"]["what_helps"] == [
        "Her sister Mary on 07700 900000"
    ]
    assert s["crisis_plan"] == client.get(f"/api/v1/people/{pid}/crisis-plan", headers=cc.auth).json()  # the same plan
    # nothing else of the record
    for path in (f"/api/v1/people/{pid}", f"/api/v1/people/{pid}/observations", f"/api/v1/people/{pid}/crisis-plan"):
        assert client.get(path, headers=crisis.auth).status_code == 403, path
    # and care staff do not get the crisis lookup (it would bypass their caseload)
    why = "&reason=Police welfare call"
    assert client.get(f"/api/v1/crisis?nhs_number=9434765919{why}", headers=cc.auth).status_code == 403
    assert client.get(f"/api/v1/crisis?nhs_number=9999999999{why}", headers=crisis.auth).status_code == 404
    audit = db.scalar(select(AuditRecord).where(AuditRecord.resource_type == "CrisisSummary"))
    assert audit is not None and audit.person_id == uuid.UUID(pid) and audit.actor == "crisis.team"


def test_the_person_reads_their_own_plan_by_link(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from idiograph.care import service as care
    from idiograph.care.model import PlanLink
    from idiograph.db import transaction, utcnow

    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "Agreed with Ada", "warning_signs": ["not sleeping for two nights"]},
        headers=cc.auth,
    )
    soon = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat()
    client.post(
        f"/api/v1/people/{pid}/appointments", json={"start": soon, "place": "home", "format": "video"}, headers=cc.auth
    )
    link, token = care.create_plan_link(db, cc.principal, uuid.UUID(pid), 30)
    page = client.get(f"/my-plan/{token}")  # no account
    assert page.status_code == 200
    assert (
        "not sleeping for two nights" in page.text and "video call (home visit)" in page.text and "116 123" in page.text
    )
    assert db.scalar(select(AuditRecord).where(AuditRecord.actor == f"plan-link:{link.id}")) is not None
    assert client.get(f"/my-plan/{token}x").status_code == 410
    with transaction(db):
        db.get(PlanLink, link.id).expires_at = utcnow() - timedelta(minutes=1)
    gone = client.get(f"/my-plan/{token}")
    assert gone.status_code == 410 and "not sleeping" not in gone.text
