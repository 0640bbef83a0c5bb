"""A real browser (Debian's Chromium via Playwright): sign in, open a person, see the chart."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from idiograph.synth.load import DEMO_PASSWORD
from tests.e2e.conftest import demo_database, sign_in

pytestmark = pytest.mark.e2e


def test_sign_in_open_a_person_and_see_the_chart(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    console: list[tuple[str, str, str]] = []
    page.on("console", lambda m: console.append((m.type, m.text, str(m.location.get("url", "")))))
    page.goto(f"{server}/caseload")
    assert "/login" in page.url
    page.fill("input[name=username]", "clin.north")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/caseload")
    rows = page.locator("#caseload tbody tr")
    assert rows.count() > 0
    page.select_option("#sort", "latest")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**sort=latest**")
    page.locator("#caseload tbody tr").first.locator("a").first.click()
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # PHQ-9 and GAD-7 at least
    assert page.locator("h3.chart-heading", has_text="PHQ-9 — ").count() >= 1
    page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
    # The strict CSP (no inline script or style) holds: nothing of ours is refused, and Plotly finds its rules
    # in /vendor/plotly.css instead of injecting them (its one refused probe is for image rendering, unused here).
    refused = [c for c in console if "Content Security Policy" in c[1] and "plotly.min.js" not in c[2]]
    assert refused == []
    assert not [c for c in console if "addRelatedStyleRule" in c[1]]
    page.close()


def test_commissioner_cannot_open_a_record(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "commissioner")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/summary")
    assert page.locator("text=Service summary").count() >= 1
    response = page.goto(f"{server}/caseload")
    assert response is not None and response.status == 403
    page.close()


def test_self_report_on_a_phone_with_item_nine_alerts_the_caseload(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clinician = browser.new_page()
    sign_in(clinician, server, "clin.north")
    clinician.goto(f"{server}/caseload?status=all&sort=name")
    quiet = clinician.locator("#caseload tbody tr:not(.tier-1)").first
    href = quiet.locator("a").first.get_attribute("href")
    assert href and href.startswith("/people/")
    clinician.goto(f"{server}{href}")
    clinician.select_option("select[name=instrument]", "phq-9")
    clinician.click("text=Create single-use link")
    link = clinician.locator("#self-report-url").inner_text().strip()
    assert "/r/" in link

    # The person, on a phone, with no account and no session.
    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone.goto(link)
    fieldsets = phone.locator("fieldset.q")
    assert fieldsets.count() == 9
    for i in range(8):
        fieldsets.nth(i).locator("label", has_text="Not at all").click()
    fieldsets.nth(8).locator("label", has_text="Several days").click()
    phone.screenshot(path=str(tmp_path / "self-report-phone.png"), full_page=True)
    phone.click("text=Send my answers")
    phone.wait_for_selector("text=Thank you")
    assert phone.locator("text=999").count() >= 1
    phone.goto(link)
    assert phone.locator("text=already been used").count() == 1
    phone_context.close()

    # On Today (the team's: clin.north is care coordinator for some of the demo's people, not this one) the person
    # is now among the first rows, those with a safety reason, saying why in words.
    clinician.goto(f"{server}/today?scope=team")
    rows = clinician.locator("#today tbody tr")
    tiers = [rows.nth(i).get_attribute("class") for i in range(rows.count())]
    assert tiers == sorted(tiers, key=lambda c: int(c.split("-")[1]))  # most urgent first
    row = clinician.locator(f'#today tbody tr:has(a[href="{href}"])')
    assert row.get_attribute("class") == "tier-1" and "Safety" in row.inner_text()
    row.locator(f'a[href="{href}"]').click()
    clinician.wait_for_selector("text=Safety answer on PHQ-9")
    clinician.click("text=I have seen this")
    clinician.wait_for_selector("text=seen by clin.north")
    clinician.close()


def _cmht_person_without_a_plan(path: Path) -> str:
    """A CMHT person (cmht.cc's team) with no appointment plan, no decision yet and no current high risk: the demo
    writes plans, decisions and risk for many people, and a change at high risk would wait for a senior."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        row = c.execute(
            "SELECT p.id FROM person p JOIN caseload_assignment ca ON ca.person_id = p.id"
            " JOIN team t ON t.id = ca.team_id WHERE t.name = 'Community Mental Health Team'"
            " AND p.id NOT IN (SELECT person_id FROM appointment_plan) AND p.id NOT IN (SELECT person_id FROM decision)"
            " AND COALESCE((SELECT level FROM risk_assessment r WHERE r.person_id = p.id"
            " ORDER BY assessed_at DESC LIMIT 1), 'low') != 'high' ORDER BY p.family_name, p.given_name LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo has a CMHT person with no plan"
    pid = str(row[0])
    return pid if "-" in pid else f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}"


def test_delegated_change_applies_and_a_change_beyond_it_is_approved_by_a_senior(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pid = _cmht_person_without_a_plan(demo_database(tmp_path_factory))
    cc = browser.new_context().new_page()
    sign_in(cc, server, "cmht.cc")
    person_url = f"{server}/people/{pid}"
    cc.goto(person_url)
    cc.click("text=Care and decisions: appointments")
    cc.wait_for_url("**/care")
    cc.click("#plan-form button")  # weekly, the pathway's default
    cc.wait_for_selector("#frequency-form")
    next_week = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%dT10:00")
    cc.fill("#book-form input[name=start]", next_week)
    cc.click("#book-form button")
    booked = cc.locator("#appointments tbody tr").filter(has=cc.locator("form.appt-change"))
    booked.first.wait_for()
    # within authority: a home video call, applied at once
    booked.first.locator("details summary").click()
    form = booked.first.locator("form.appt-change")
    form.locator("select[name=place]").select_option("home")
    form.locator("select[name=format]").select_option("video")
    form.locator("textarea[name=rationale]").fill("Works nights; asked to be seen by video from home")
    form.locator("button").click()
    cc.wait_for_url("**/care#decisions")
    row = booked.first
    assert row.locator(".appt-place").inner_text() == "home visit"
    assert row.locator(".appt-format").inner_text() == "video call"
    assert cc.locator("#decisions >> text=Applied under delegated authority").count() == 1
    # beyond authority: monthly is two steps from weekly, so it waits for a senior clinician
    cc.select_option("#frequency-form select[name=frequency]", "monthly")
    cc.fill("#frequency-form textarea[name=rationale]", "Stable for three months; prefers monthly reviews")
    cc.click("#frequency-form button")
    cc.wait_for_url("**/care#decisions")
    assert cc.locator("#decisions >> text=Waiting for a senior clinician").count() == 1
    # the senior clinician approves it from the governance page
    senior = browser.new_context().new_page()
    sign_in(senior, server, "senior")
    senior.goto(f"{server}/governance")
    theirs = f'#pending .escalation:has(a[href="/people/{pid}/care#decisions"])'  # the demo has others waiting
    pending = senior.locator(theirs)
    assert "2 steps from the pathway's weekly" in pending.inner_text()
    pending.locator("textarea[name=note]").fill("Agreed; review again in three months")
    pending.locator("button[value=approve]").click()
    senior.wait_for_url("**/governance**")
    assert senior.locator(theirs).count() == 0
    # both decisions, with their rationale, on the person's page
    cc.goto(person_url)
    story = cc.locator("#decisions").inner_text()
    assert "Works nights; asked to be seen by video from home" in story
    assert "Stable for three months; prefers monthly reviews" in story
    assert "Applied under delegated authority" in story and "Applied after approval" in story
    assert "Agreed; review again in three months" in story
    cc.context.close()
    senior.context.close()
