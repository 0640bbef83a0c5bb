"""The administrator's day in a real browser: add an account by keyboard alone, the new user signs in, deactivation
ends their session at once (H-070); the audit trail filtered by a person shows names (H-071); a role without
access reads plain words (H-072). Every state checked by axe at WCAG 2.2 AA."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.e2e.conftest import demo_database, sign_in
from tests.e2e.test_accessibility import _violations

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a-new-starter-pw-1"


def test_admin_adds_an_account_by_keyboard_the_user_signs_in_and_deactivation_ends_their_session(
    server: str, browser
) -> None:  # type: ignore[no-untyped-def]
    admin = browser.new_context().new_page()
    sign_in(admin, server, "admin", lands="**")
    admin.goto(f"{server}/admin/users")
    admin.focus("#add-account summary")
    admin.keyboard.press("Enter")  # open "Add an account"
    admin.keyboard.press("Tab")
    assert admin.evaluate("document.activeElement.id") == "new-display_name"
    admin.keyboard.type("Robin Newstart")
    admin.keyboard.press("Tab")
    admin.keyboard.type("r.newstart")
    admin.keyboard.press("Tab")
    assert admin.evaluate("document.activeElement.id") == "new-role"
    admin.keyboard.type("clinician")  # a select picks the option typed
    admin.keyboard.press("Tab")
    assert admin.evaluate("document.activeElement.name") == "team"
    admin.keyboard.press("Space")
    while admin.evaluate("document.activeElement.id") != "new-password":
        admin.keyboard.press("Tab")
    admin.keyboard.type(NEW_PASSWORD)
    assert _violations(admin) == []  # the open form, as a keyboard user sees it
    admin.keyboard.press("Enter")
    admin.wait_for_selector("#note")
    assert "r.newstart created" in admin.inner_text("#note")
    row = admin.locator("#user-r\\.newstart")
    assert "Robin Newstart" in row.inner_text() and "clinician" in row.inner_text()
    row.locator("summary").click()  # role, teams and password forms open
    assert _violations(admin) == []

    user = browser.new_context().new_page()
    user.goto(f"{server}/login")
    user.fill("input[name=username]", "r.newstart")
    user.fill("input[name=password]", NEW_PASSWORD)
    user.click("button[type=submit]")
    user.wait_for_url("**/today")

    admin.locator("#user-r\\.newstart button", has_text="Deactivate").click()
    admin.wait_for_selector("#note")
    assert "r.newstart deactivated and signed out" in admin.inner_text("#note")
    user.goto(f"{server}/caseload")
    assert "/login" in user.url  # their session ended at once

    refused = browser.new_context().new_page()
    refused.goto(f"{server}/login")
    refused.fill("input[name=username]", "r.newstart")
    refused.fill("input[name=password]", NEW_PASSWORD)
    refused.click("button[type=submit]")
    refused.wait_for_load_state()
    error = refused.locator("p.error[role=alert]")
    error.wait_for()  # the sign-in page comes back with its refusal: a deactivated account cannot sign in
    assert "/login" in refused.url and error.inner_text().strip()
    assert refused.locator("input[name=password]").count() == 1


def test_admin_filters_the_audit_trail_by_a_person_and_reads_names(server: str, browser, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(demo_database(tmp_path_factory)) as db:
        given, family = db.execute(
            "select p.given_name, p.family_name from person p join audit_record a on a.person_id = p.id "
            "group by p.id order by count(*) desc limit 1"
        ).fetchone()
    page = browser.new_context().new_page()
    sign_in(page, server, "admin", lands="**")
    page.goto(f"{server}/audit")
    page.fill("#person", f"{given} {family}")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#showing-person")
    assert f"{family.upper()}, {given}" in page.inner_text("#showing-person")
    table = page.inner_text("#audit-records")
    assert f"{family.upper()}, {given}" in table
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}|\b[0-9a-f]{8}\b", table)  # no ids, whole or cut
    assert re.search(r"Showing 1 to \d+ of \d+", page.inner_text("nav.pager"))
    assert _violations(page) == []
    page.fill("#date_from", "2026-13-40")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#filter-errors")
    assert "From date" in page.inner_text("#filter-errors")
    assert _violations(page) == []


def test_a_clinician_reads_plain_words_where_their_role_cannot_go(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    sign_in(page, server, "clin.north")
    response = page.goto(f"{server}/audit")
    assert response is not None and response.status == 403
    text = page.inner_text("main")
    assert "You cannot open this page" in text and "Your role (clinician)" in text
    assert "audit:read" not in text and "permission" not in text
    assert _violations(page) == []
