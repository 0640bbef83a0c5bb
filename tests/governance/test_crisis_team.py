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
    r = client.get("/api/v1/crisis?nhs_number=943 476 5919", headers=crisis.auth)
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
    assert client.get("/api/v1/crisis?nhs_number=9434765919", headers=cc.auth).status_code == 403
    assert client.get("/api/v1/crisis?nhs_number=9999999999", headers=crisis.auth).status_code == 404
    audit = db.scalar(select(AuditRecord).where(AuditRecord.resource_type == "CrisisSummary"))
    assert audit is not None and audit.person_id == uuid.UUID(pid) and audit.actor == "crisis.team"
