"""Today and the caseload in a real browser: the first rows are the people with open safety alerts, and a search by
name and date of birth finds the person."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_today_opens_with_the_people_with_open_safety_alerts(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "senior")  # all three teams
    page.goto(f"{server}/today?scope=team")
    rows = page.locator("#today tbody tr")
    classes = [rows.nth(i).get_attribute("class") for i in range(rows.count())]
    assert classes, "Today is empty on the demo"
    tiers = [int(c.split("-")[1]) for c in classes]
    assert tiers == sorted(tiers)
    # everyone the caseload lists with an open safety alert is among Today's first (tier 1) rows
    page.goto(f"{server}/caseload?alert=safety&status=all")
    unsafe = {a.get_attribute("href") for a in page.locator("#caseload tbody tr td:nth-child(2) a").all()}
    page.goto(f"{server}/today?scope=team")
    first = {rows.nth(i).locator("td:nth-child(2) a").get_attribute("href") for i, t in enumerate(tiers) if t == 1}
    assert unsafe and unsafe <= first
    assert page.locator("#today tbody tr").first.locator(".tier").inner_text() == "Safety"
    page.close()


def test_search_finds_a_person_by_name_and_date_of_birth(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "clin.north")
    page.goto(f"{server}/caseload?status=all&sort=name")
    row = page.locator("#caseload tbody tr").nth(2)
    name = row.locator("td:nth-child(2) a").inner_text()  # "FAMILY, Given"
    born = re.search(r"born (\d{2} \w{3} \d{4})", row.locator("td:nth-child(2)").inner_text())
    assert born is not None
    family = name.split(",")[0].title()
    page.fill("#q", f"{family} {born.group(1)}")
    page.select_option("#status", "all")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=**")
    found = page.locator("#caseload tbody tr")
    assert found.count() >= 1
    assert all(born.group(1) in found.nth(i).inner_text() for i in range(found.count()))
    assert name in [found.nth(i).locator("td:nth-child(2) a").inner_text() for i in range(found.count())]
    page.close()
