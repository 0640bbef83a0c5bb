"""The governance queue in a real browser: a senior clinician is told escalations are waiting, sees for whom, what
change, who asked and at what risk, and approves it with a note; it then leaves the queue."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_a_clinician_is_told_it_waits_for_a_senior(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "clin.north")
    assert page.locator("#header-escalations").count() == 0
    page.goto(f"{server}/governance")
    rows = page.locator("#pending article.escalation")
    assert rows.count() > 0  # the demo has changes waiting on this team (runs before a senior approves one)
    assert rows.first.locator("form").count() == 0
    assert "Waiting for a senior clinician" in rows.first.inner_text()
    page.close()


def test_a_senior_sees_the_waiting_escalation_and_approves_it(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "senior")
    waiting = page.locator("#header-escalations")
    m = re.search(r"\((\d+) waiting", waiting.inner_text())
    assert m, "the header does not say escalations are waiting"
    before = int(m.group(1))
    page.click("nav a[href='/governance']")
    page.wait_for_url("**/governance")
    first = page.locator("#pending article.escalation").first
    name = first.locator("h3 a").inner_text()
    assert re.match(r"[A-Z'\- ]+, \w", name), f"no person's name: {name!r}"
    change = first.locator(".requested-change").inner_text()
    assert change.strip() and change.strip() != "Person"
    assert first.locator(".asked-by").inner_text().strip()
    assert first.locator(".current-risk").inner_text().strip()
    # the rule that escalated it is shown once, not repeated
    rule = first.locator(".rule").inner_text().split(" (policy")[0]
    assert first.inner_text().count(rule) == 1
    esc_id = first.get_attribute("id")
    first.locator("textarea[name=note]").fill("Agreed: discussed in supervision today")
    first.locator("button[value=approve]").click()
    page.wait_for_url("**/governance#escalation-*")
    assert page.locator(f"#{esc_id}").count() == 0, "the approved escalation is still in the queue"
    after = page.locator("#header-escalations")
    assert (int(re.search(r"\((\d+)", after.inner_text()).group(1)) if after.count() else 0) == before - 1  # type: ignore[union-attr]
    page.close()


def test_a_senior_signs_off_last_months_governance_review(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "senior")
    page.goto(f"{server}/governance")
    page.click("text=Monthly governance review")
    page.wait_for_url("**/governance/reviews")
    assert page.locator("#review-counts").count() == 1
    page.fill("#notes", "Two late escalations; remind the teams of the 48 hours")
    page.fill("#follow-ups", "Team talk on escalation deadlines")
    page.click("#sign-off button[type=submit]")
    page.wait_for_url("**/governance/reviews?**")
    assert "Signed off" in page.locator("#signed").inner_text()
    assert page.locator("#sign-off").count() == 0
    page.goto(f"{server}/today")
    assert "Team talk on escalation deadlines" in page.locator("#team-tasks").inner_text()
    page.close()
