"""Staff have a profession from the intake definition, set by an administrator (page and command line), shown
beside the account, audited; anything else is refused naming the field."""

from __future__ import annotations

import re

from sqlalchemy import select

from idiograph.security.model import AuditRecord, User
from tests.web.test_pages import login


def _csrf(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_an_administrator_sets_a_profession_on_the_page(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("nurse.a", "clinician", ("North",))
    make_staff("root", "admin")
    login(client, "root")
    page = client.get("/admin/users")
    assert 'for="profession-' in page.text and "no profession recorded" in page.text
    r = client.post(
        "/admin/users/nurse.a/profession", data={"csrf_token": _csrf(page), "profession": "mental_health_nurse"}
    )
    assert r.status_code == 200 and "profession: mental health nurse" in r.text
    row = r.text.split('id="user-nurse.a"')[1].split("</tr>")[0]
    assert "Mental health nurse" in row
    bad = client.post("/admin/users/nurse.a/profession", data={"csrf_token": _csrf(r), "profession": "wizard"})
    assert "is not one of" in bad.text
    db.expire_all()
    assert db.scalar(select(User.profession).where(User.username == "nurse.a")) == "mental_health_nurse"
    changes = db.scalars(select(AuditRecord.detail).where(AuditRecord.action == "profession-change")).all()
    assert changes == [{"from": None, "to": "mental_health_nurse"}]


def test_the_command_line_sets_and_clears_the_profession(run, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("s.worker", "clinician", ("North",))
    done = run("users", "profession", "--username", "s.worker", "--profession", "social_worker")
    assert done.exit_code == 0, done.output
    assert run("users", "list").exit_code == 0
    db.expire_all()
    assert db.scalar(select(User.profession).where(User.username == "s.worker")) == "social_worker"
    bad = run("users", "profession", "--username", "s.worker", "--profession", "plumber")
    assert bad.exit_code != 0 and "profession" in bad.output
    assert run("users", "profession", "--username", "s.worker", "--profession", "").exit_code == 0
    db.expire_all()
    assert db.scalar(select(User.profession).where(User.username == "s.worker")) is None
