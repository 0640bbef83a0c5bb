"""Pages through the cookie session: CSRF on forms, roles, audit of page reads."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from idiograph.security.model import AuditRecord
from tests.conftest import PASSWORD

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female", "nhs_number": "9434765919"}


def login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert fresh != token  # rotated at sign-in
    return fresh


def test_login_needs_csrf_and_right_password(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("clin", "clinician", ("North",))
    r = client.post("/login", data={"username": "clin", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "clin", "password": "wrong-one", "csrf_token": token})
    assert r.status_code == 401 and "Wrong username or password" in r.text
    cookie = client.cookies.get("idiograph_session")
    assert cookie is not None


def test_unauthenticated_pages_redirect_to_login(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/caseload", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_caseload_and_person_page_with_chart(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    client.post(
        "/api/v1/observations",
        headers=clin.auth,
        json={
            "observations": [
                {"person_id": pid, "code": "44261-6", "value": v, "time": f"2026-03-0{i + 1}T10:00:00Z"}
                for i, v in enumerate([18, 14, 9])
            ]
        },
    )
    login(client, "clin")
    caseload = client.get("/caseload?sort=latest&desc=true")
    assert caseload.status_code == 200 and "LOVELACE, Ada" in caseload.text
    page = client.get(f"/people/{pid}")
    assert page.status_code == 200
    assert "PHQ-9 — 3 results" in page.text and '"y": [18.0, 14.0, 9.0]' in page.text
    assert "/vendor/plotly.min.js" in page.text and not re.search(r'src="(https?:)?//', page.text)
    assert client.get("/vendor/plotly.min.js").status_code == 200
    # one page view, one audit record naming what it showed (it was about 8 records, one per service call)
    before = db.scalar(select(func.max(AuditRecord.seq)))
    client.get(f"/people/{pid}")
    db.expire_all()
    views = db.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert [(v.action, v.resource_type, v.actor, v.person_id) for v in views] == [
        ("read", "View", "clin", uuid.UUID(pid))
    ]
    shown = {x["type"] for x in views[0].detail["showed"]}
    assert {"Person", "Episode", "Observation", "Alert", "Decision", "Baseline"} <= shown
    assert {"SelfReportLink", "Escalation"} <= shown
    assert views[0].detail["via"] == "web"
    # the care page names what it showed too: risk, the plan and escalations included
    before = db.scalar(select(func.max(AuditRecord.seq)))
    assert client.get(f"/people/{pid}/care").status_code == 200
    db.expire_all()
    care = db.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert len(care) == 1 and {"RiskAssessment", "AppointmentPlan", "Escalation", "Appointment"} <= {
        x["type"] for x in care[0].detail["showed"]
    }


def test_forms_without_csrf_are_refused(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    north = make_staff("north", "clinician", ("North",))
    make_staff("south", "clinician", ("South",))
    pid = client.post("/api/v1/people", json=PERSON, headers=north.auth).json()["id"]
    token = login(client, "south")
    page = client.get(f"/people/{pid}")
    assert page.status_code == 403 and "Break the glass" in page.text
    r = client.post(f"/people/{pid}/break-glass", data={"reason": "Crisis line call, record needed now"})
    assert r.status_code == 403
    r = client.post(
        f"/people/{pid}/break-glass",
        data={"reason": "Crisis line call, record needed now", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    opened = client.get(f"/people/{pid}")
    assert opened.status_code == 200 and "break-the-glass" in opened.text


def test_commissioner_sees_aggregates_only(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("icb", "commissioner")
    for i in range(9):
        client.post(
            "/api/v1/people", json={"given_name": f"P{i}", "family_name": "Person", "sex": "male"}, headers=clin.auth
        )
    login(client, "icb")
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/summary"
    summary = client.get("/summary")
    assert summary.status_code == 200 and "Person" not in summary.text.replace("People", "")
    assert "<dd>10</dd>" in summary.text  # 9 rounded to the nearest 5
    assert client.get("/caseload").status_code == 403


def test_admin_sees_the_audit_trail(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("root", "admin")
    login(client, "root")
    page = client.get("/audit")
    assert page.status_code == 200 and "no record has been changed" in page.text and "Signed in" in page.text


def test_a_caseload_longer_than_a_page_is_paged_with_its_total(client, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by a new user: the caseload listed the first 500 of 851 people and said "500 people"; 29 people
    with open alerts were simply not there. Now every page says how many there are and links to the next."""
    from idiograph.worklist import service

    clin = make_staff("clin", "clinician", ("North",))
    for name in ("Ada", "Grace", "Mary"):
        r = client.post("/api/v1/people", json={"given_name": name, "family_name": "Test"}, headers=clin.auth)
        assert r.status_code == 201, r.text
    login(client, "clin")
    monkeypatch.setattr(service, "PAGE", 2)
    page = client.get("/caseload?sort=name")
    assert "Showing 1 to 2 of 3" in page.text and "TEST, Ada" in page.text and "TEST, Mary" not in page.text
    nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
    assert nxt is not None and "sort=name" in nxt.group(1)
    second = client.get(nxt.group(1).replace("&amp;", "&"))
    assert "Showing 3 to 3 of 3" in second.text and "TEST, Mary" in second.text and 'rel="next"' not in second.text
