"""The care coordinator: named from the person's team, shown in the record's header, the basis of "mine"."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.security.model import AuditRecord
from tests.web.test_pages import login

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1985-12-10"}


def test_a_team_member_is_named_and_shown_and_mine_follows(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    cc = make_staff("cc.north", "care_coordinator", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    r = client.put(
        f"/api/v1/people/{pid}/care-coordinator", json={"user_id": str(cc.principal.user_id)}, headers=clin.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "cc.north" and r.json()["team"] == "North"
    assert [i["id"] for i in client.get("/api/v1/people?mine=true", headers=cc.auth).json()["items"]] == [pid]
    assert client.get("/api/v1/people?mine=true", headers=clin.auth).json()["total"] == 0
    login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert 'id="care-coordinator"' in page and "(care coordinator, North)" in page
    audited = db.scalars(select(AuditRecord.detail).where(AuditRecord.resource_type == "CareCoordinator")).all()
    assert audited == [{"care_coordinator": "cc.north"}]
    cleared = client.put(f"/api/v1/people/{pid}/care-coordinator", json={"user_id": None}, headers=clin.auth)
    assert cleared.status_code == 200 and cleared.json() is None


def test_only_an_active_coordinating_member_of_the_persons_team_can_be_named(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    south = make_staff("south", "clinician", ("South",))
    lead = make_staff("lead", "service_lead", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    for who in (south, lead):
        r = client.put(
            f"/api/v1/people/{pid}/care-coordinator", json={"user_id": str(who.principal.user_id)}, headers=clin.auth
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "user_id"
    r = client.put(f"/api/v1/people/{pid}/care-coordinator", json={"user_id": str(uuid.uuid4())}, headers=clin.auth)
    assert r.status_code == 422
    # someone from another team cannot touch the person at all
    r = client.put(f"/api/v1/people/{pid}/care-coordinator", json={"user_id": None}, headers=south.auth)
    assert r.status_code in (403, 404)


def test_the_record_header_says_risk_alerts_and_plan_first(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.care import service as care

    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert "<strong>Not assessed</strong>" in page and "none booked" in page and "none recorded" in page
    care.record_risk(db, clin.principal, uuid.UUID(pid), "high", "Disclosed plans at assessment")
    db.commit()
    page = client.get(f"/people/{pid}").text
    assert 'class="risk risk-high">High</strong>' in page
    assert "none recorded (high risk)" in page  # a high-risk person with no crisis plan is said plainly
