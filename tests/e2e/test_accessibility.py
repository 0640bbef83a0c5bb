"""WCAG 2.2 AA on every page, as each role sees it, checked by axe-core in Chromium; and the worklist by keyboard.

axe-core (bundled with axe-playwright-python, nothing downloaded) runs the rules tagged for WCAG 2.0, 2.1 and 2.2
levels A and AA. A violation fails the test with the rule, the page and the elements, so it can be fixed."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
CLINICAL = [
    "/today",
    "/caseload",
    "/caseload?q=a&status=all",
    "/reviews",
    "/governance",
    "/governance/reviews",
    "/account",
]
ROLES = {
    "clin.north": CLINICAL,
    "cmht.cc": CLINICAL,
    "senior": CLINICAL,
    "crisis": ["/crisis", "/account"],
    "lead": ["/today", "/governance", "/summary", "/account"],
    "commissioner": ["/summary", "/account"],
    "admin": ["/audit", "/audit?person=a&action=read", "/operations", "/admin/users", "/account"],
}


def _violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    out = []
    for v in result.response["violations"]:
        where = "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        out.append(f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {where}")
    return out


def _first_person(page, server: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/caseload?status=all")
    href = page.locator("#caseload tbody tr a").first.get_attribute("href")
    assert href and href.startswith("/people/")
    return href


@pytest.mark.parametrize("username", sorted(ROLES))
def test_no_page_has_an_accessibility_violation_at_level_aa(server: str, browser, username: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/login")
    problems = _violations(page)
    sign_in(page, server, username, lands="**")
    paths = list(ROLES[username])
    if "/caseload" in paths:
        person = _first_person(page, server)
        paths += [person, f"{person}/care", f"{person}/intake/psychosocial", f"{person}/intake/goals"]
    for path in paths:
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        problems += _violations(page)
    context.close()
    assert problems == [], "\n".join(problems)


def test_the_worklist_by_keyboard_alone(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """From Today, Tab reaches the first person's link with a visible focus and Enter opens their record."""
    page = browser.new_page()
    sign_in(page, server, "clin.north")
    first = page.locator("#today tbody tr a").first
    target = first.get_attribute("href")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.getAttribute('href')")
        if focused == target:
            break
    else:
        pytest.fail("Tab never reached the first person on Today")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible (WCAG 2.4.7)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/people/[0-9a-f-]+$"))
    assert page.locator("#summary").count() == 1
    page.close()
