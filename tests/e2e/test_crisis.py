"""A real browser: the crisis worker finds a person without an NHS number by name and date of birth, with a
reason, and sees their crisis plan (phone numbers tap-to-call), current risk and care team."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from idiograph.synth.load import DEMO_PASSWORD
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def _demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo server's SQLite file (every module's demo is the same 40 people, seed 11; the newest is ours)."""
    files = sorted(tmp_path_factory.getbasetemp().glob("e2e*/e2e.db"), key=lambda p: p.stat().st_mtime)
    assert files, "the demo server's database was not found"
    return files[-1]


def _someone_without_an_nhs_number(path: Path) -> tuple[str, str, str, str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        row = c.execute(
            "SELECT id, given_name, family_name, birth_date FROM person"
            " WHERE nhs_number IS NULL AND birth_date IS NOT NULL ORDER BY family_name, given_name LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo has people without an NHS number (about one in ten)"
    pid, given, family, born = row
    # SQLite keeps UUIDs as 32 hex digits
    return (
        str(pid) if "-" in str(pid) else f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}",
        given,
        family,
        born,
    )


def test_the_crisis_worker_finds_a_person_without_an_nhs_number(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    pid, given, family, born = _someone_without_an_nhs_number(_demo_database(tmp_path_factory))
    # their team writes a crisis plan and records a high risk (as the senior clinician, through the API)
    api = browser.new_context()
    token = api.request.post(
        f"{server}/api/v1/auth/token", form={"username": "senior", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = api.request.post(
        f"{server}/api/v1/people/{pid}/risk-assessments",
        data={"level": "high", "summary": "Said they have a plan to end their life"},
        headers=auth,
    )
    assert r.status == 201, r.text()
    r = api.request.put(
        f"{server}/api/v1/people/{pid}/crisis-plan",
        data={
            "expected_version": 0,
            "rationale": "Written with them at clinic",
            "warning_signs": ["Stops answering the phone"],
            "contacts": ["Crisis line 0800 123 4567", "Brother Tom on 07700 900461"],
        },
        headers=auth,
    )
    assert r.status == 200, r.text()
    # the trap: someone of the same name and birthday who has an NHS number (and no plan)
    token = api.request.post(
        f"{server}/api/v1/auth/token", form={"username": "cmht.cc", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    twin = {"given_name": given, "family_name": family, "birth_date": born, "nhs_number": "9434765919"}
    r = api.request.post(f"{server}/api/v1/people", data=twin, headers={"Authorization": f"Bearer {token}"})
    assert r.status == 201, r.text()
    api.close()

    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    sign_in(page, server, "crisis", lands="**/crisis")
    # typed as a worker on the phone might: lower case, with the reason
    page.fill("input[name=family_name]", family.lower())
    page.fill("input[name=birth_date]", born)
    page.fill("input[name=reason]", "Ambulance crew on scene, asked for the crisis plan")
    page.click("#crisis-search button[type=submit]")
    page.wait_for_load_state()
    # two people of that name and birthday: a list to tell them apart, nobody's plan shown yet
    matches = page.locator("#crisis-matches")
    assert "2 people match" in matches.inner_text() and page.locator("#crisis-summary").count() == 0
    assert "943 476 5919" in matches.inner_text()
    problems = _axe(page)
    row = matches.locator("tbody tr", has_text="no NHS number")
    assert row.count() == 1
    row.locator("button", has_text="Open").click()
    page.wait_for_load_state()
    summary = page.locator("#crisis-summary")
    summary.wait_for()
    assert f"{family.upper()}, {given}" in summary.inner_text()
    assert "NHS number not recorded" in summary.inner_text()
    assert "high" in page.locator("#crisis-risk").inner_text()
    plan = page.locator("#crisis-plan")
    assert "Stops answering the phone" in plan.inner_text()
    assert plan.locator('a[href="tel:08001234567"]').inner_text() == "0800 123 4567"
    assert plan.locator('a[href="tel:07700900461"]').count() == 1
    assert page.locator("#crisis-care-team").count() == 1 and page.locator("#crisis-safety-alerts").count() == 1
    page.screenshot(path=str(tmp_path / "crisis.png"), full_page=True)
    problems += _axe(page)
    # a name without a date of birth is refused, the field named, and nobody shown
    page.fill("input[name=family_name]", family)
    page.fill("input[name=birth_date]", "")
    page.click("#crisis-search button[type=submit]")
    page.wait_for_load_state()
    assert "needs the date of birth" in page.locator("#birth_date-error").inner_text()
    assert page.locator("#crisis-summary").count() == 0
    problems += _axe(page)
    assert problems == [], "\n".join(problems)
    assert not [c for c in console if "Content Security Policy" in c]
    page.close()


def _axe(page) -> list[str]:  # type: ignore[no-untyped-def]
    """WCAG 2.2 A and AA violations on the page (axe-core, bundled with axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags}})
    return [f"{page.url}: {v['id']}: {v['help']} at {v['nodes'][0]['target']}" for v in result.response["violations"]]
