"""Administrators manage accounts on the page (H-070): create with named field errors, role, teams, a temporary
password shown once, deactivation that ends sessions; every change audited; nobody else may."""

from __future__ import annotations

import re

from sqlalchemy import select

from idiograph.security.model import AuditRecord, User
from tests.web.test_pages import login


def _csrf(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _token(client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_an_administrator_adds_an_account_with_a_temporary_password_shown_once(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("other", "clinician", ("North", "South"))
    make_staff("root", "admin")
    login(client, "root")
    csrf = _csrf(client.get("/admin/users"))
    made = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "j.smith",
            "display_name": "Jo Smith",
            "role": "care_coordinator",
            "team": ["North"],
        },
    )
    assert made.status_code == 200 and "j.smith created" in made.text
    temporary = re.search(r'<p class="link-box">([^<]+)</p>', made.text).group(1)
    assert len(temporary) >= 10
    listed = client.get("/admin/users")
    assert temporary not in listed.text  # once only
    row = listed.text.split('id="user-j.smith"')[1].split("</tr>")[0]
    assert "Jo Smith" in row and "care coordinator" in row and "North" in row and "never" in row
    client.cookies.clear()
    assert _token(client, "j.smith", temporary).status_code == 200
    db.expire_all()
    created = db.scalars(select(AuditRecord).where(AuditRecord.actor == "root", AuditRecord.action == "create")).all()
    assert [r.detail["username"] for r in created] == ["j.smith"]


def test_a_refused_new_account_names_each_field_and_keeps_nothing(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("root", "admin")
    login(client, "root")
    csrf = _csrf(client.get("/admin/users"))
    empty = client.post("/admin/users", data={"csrf_token": csrf})
    assert empty.status_code == 422
    assert "Username: enter one" in empty.text and "Full name: enter" in empty.text and "Role: choose one" in empty.text
    short = client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "x.y", "display_name": "X Y", "role": "clinician", "password": "short"},
    )
    assert short.status_code == 422 and "Password: password must be at least 10 characters" in short.text
    assert 'value="x.y"' in short.text  # what was typed is kept, except the password
    bad = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "bad name!",
            "display_name": "X",
            "role": "clinician",
            "password": "long-enough-1",
        },
    )
    assert "Username: 3-80 letters" in bad.text
    db.expire_all()
    assert db.scalar(select(User.id).where(User.username.in_(["x.y", "bad name!"]))) is None


def test_an_administrator_changes_role_and_teams_but_not_their_own_role(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.security.teams import team_by_name

    clin = make_staff("clin", "clinician", ("North",))
    team_by_name(db, "South", create=True)
    db.commit()
    make_staff("root", "admin")
    login(client, "root")
    csrf = _csrf(client.get("/admin/users"))
    done = client.post("/admin/users/clin/role", data={"csrf_token": csrf, "role": "senior_clinician"})
    assert "clin is now senior clinician" in done.text
    assert client.get("/api/v1/me", headers=clin.auth).json()["role"] == "senior_clinician"  # from her next request
    teams = client.post("/admin/users/clin/teams", data={"csrf_token": csrf, "team": ["South"]})
    assert "clin&#39;s teams: South" in teams.text or "clin's teams: South" in teams.text
    row = teams.text.split('id="user-clin"')[1].split("</tr>")[0]
    assert "South" in row.split("</td>")[1] and "North" not in row.split("</td>")[1]
    mine = client.post("/admin/users/root/role", data={"csrf_token": csrf, "role": "clinician"})
    assert "you cannot change your own role" in mine.text
    db.expire_all()
    assert db.scalar(select(User.role).where(User.username == "root")) == "admin"
    changes = db.scalars(select(AuditRecord.action).where(AuditRecord.actor == "root")).all()
    assert {"role-change", "teams-change"} <= set(changes)
    forged = client.post("/admin/users/clin/role", data={"csrf_token": "forged", "role": "admin"})
    assert forged.status_code == 403


def test_a_temporary_password_ends_their_sessions(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("root", "admin")
    login(client, "root")
    csrf = _csrf(client.get("/admin/users"))
    r = client.post("/admin/users/clin/password", data={"csrf_token": csrf, "generate": "true"})
    assert "new password set for clin" in r.text
    temporary = re.search(r'<p class="link-box">([^<]+)</p>', r.text).group(1)
    assert client.get("/api/v1/me", headers=clin.auth).status_code == 401
    client.cookies.clear()
    assert _token(client, "clin", temporary).status_code == 200


def test_only_administrators_manage_accounts(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("lead", "service_lead", ("North",))
    login(client, "lead")
    assert client.get("/admin/users").status_code == 403
    csrf = _csrf(client.get("/account"))
    refused = client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "x.y", "display_name": "X", "role": "admin", "password": "long-enough-1"},
    )
    assert refused.status_code == 403


def test_role_and_teams_through_the_api(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("root", "admin", ("South",))
    assert (
        client.put("/api/v1/users/clin/role", json={"role": "care_coordinator"}, headers=admin.auth).status_code == 204
    )
    wrong = client.put("/api/v1/users/clin/role", json={"role": "wizard"}, headers=admin.auth)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "role"
    assert client.put("/api/v1/users/clin/teams", json={"teams": ["South"]}, headers=admin.auth).status_code == 204
    unknown = client.put("/api/v1/users/clin/teams", json={"teams": ["Nowhere"]}, headers=admin.auth)
    assert unknown.status_code == 422 and "Nowhere" in unknown.text
    me = client.get("/api/v1/me", headers=clin.auth).json()
    assert me["role"] == "care_coordinator" and len(me["team_ids"]) == 1
    assert client.put("/api/v1/users/root/role", json={"role": "clinician"}, headers=admin.auth).status_code == 403
    assert client.put("/api/v1/users/root/role", json={"role": "admin"}, headers=clin.auth).status_code == 403


def test_role_and_teams_from_the_command_line_and_listed_in_the_api(run, client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.security.teams import team_by_name

    make_staff("clin", "clinician", ("North",))
    admin = make_staff("root", "admin")
    team_by_name(db, "South", create=True)
    db.commit()
    assert run("users", "role", "--username", "clin", "--role", "senior_clinician").exit_code == 0
    assert run("users", "teams", "--username", "clin", "--team", "North", "--team", "South").exit_code == 0
    bad = run("users", "role", "--username", "clin", "--role", "wizard")
    assert bad.exit_code == 2 and "unknown role 'wizard'" in bad.output
    listed = {u["username"]: u for u in client.get("/api/v1/users", headers=admin.auth).json()}
    assert listed["clin"]["role"] == "senior_clinician" and listed["clin"]["teams"] == ["North", "South"]
    assert listed["root"]["last_sign_in"] is not None  # its token's session


def test_an_administrator_says_what_kind_of_team_a_team_is(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.security.model import Team
    from idiograph.security.teams import team_by_name

    team_by_name(db, "Riverside Wellbeing", create=True)
    db.commit()
    make_staff("root", "admin")
    login(client, "root")
    page = client.get("/admin/users")
    assert "Kind of Riverside Wellbeing" in page.text and 'value="talking_therapies"' in page.text
    csrf = _csrf(page)
    done = client.post(
        "/admin/teams/Riverside%20Wellbeing/kind", data={"csrf_token": csrf, "kind": "talking_therapies"}
    )
    assert "Riverside Wellbeing: kind talking therapies" in done.text
    bad = client.post("/admin/teams/Riverside%20Wellbeing/kind", data={"csrf_token": csrf, "kind": "iapt"})
    assert "is not one of" in bad.text
    db.expire_all()
    assert db.scalar(select(Team.kind).where(Team.name == "Riverside Wellbeing")) == "talking_therapies"
    make_staff("lead", "service_lead")
    client.cookies.clear()
    login(client, "lead")
    assert (
        client.post("/admin/teams/Riverside%20Wellbeing/kind", data={"csrf_token": csrf, "kind": ""}).status_code == 403
    )
