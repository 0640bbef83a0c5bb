"""Issue 19's browser test: a commissioner opens the Reports page, sees the funnel and recovery by ethnic group
with intervals and suppressed cells marked, downloads the CSV, and cannot reach any person-level page; the page
has no WCAG 2.2 AA violation (axe-core) for the commissioner or the service lead, and prints without the menu."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from idiograph.patients.model import Person
from tests.e2e.conftest import demo_server, sign_in
from tests.e2e.test_accessibility import _violations

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A demo of 1,600 people: enough for some groups' rates in one financial quarter (the page's group breakdowns
    are for a whole quarter only, H-108) to be shown and others suppressed (with 400, about 20 White finished
    courses at caseness a quarter, every ethnic group's recovery is suppressed)."""
    with demo_server(tmp_path_factory, people=1600, name="e2e-reports") as (address, database):
        with database.session() as s:
            person = s.scalar(select(Person.id).limit(1))
        yield address, person


@pytest.fixture(scope="module")
def server(served) -> str:  # type: ignore[no-untyped-def]
    return str(served[0])


def test_commissioner_reads_the_reports_downloads_the_csv_and_reaches_no_person(  # type: ignore[no-untyped-def]
    served, browser
) -> None:
    server, person = served
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, server, "commissioner", lands="**/summary")
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/reports")
    page.wait_for_load_state("networkidle")

    # the funnel: drawn, and as a table with the stages and why referrals ended
    assert page.locator("#funnel-talking_therapies svg.main-svg").first.is_visible()
    funnel = page.locator("#funnel-talking_therapies-table")
    assert funnel.locator("tbody th").all_inner_texts() == [
        "Referred",
        "Assessed",
        "Entered treatment",
        "Second treatment session",
        "Finished a course",
        "Recovered",
    ]
    # the default is the latest financial quarter that has ended, chosen in the quarter picker
    picker = page.get_by_label("Financial quarter")
    quarters = picker.locator("option").all_inner_texts()
    assert picker.input_value() == picker.locator("option").first.get_attribute("value")
    # recovery by ethnic group: a chart, and a table with each rate's 95% interval and suppressed cells in words;
    # in one quarter the White group's can be withheld to protect the others (secondary suppression): the
    # commissioner then picks an earlier quarter
    for i, quarter in enumerate(quarters):
        if i:
            page.get_by_label("Financial quarter").select_option(label=quarter)
            page.get_by_role("button", name="Show this financial quarter").click()
            page.wait_for_load_state("networkidle")
        block = page.locator("#equity-ethnic_group")
        assert block.locator("svg.main-svg").first.is_visible()
        table = block.locator("table.equity-table")
        white = table.locator("tbody tr", has=page.locator("th", has_text="White")).first
        recovery = white.locator("td").nth(1).inner_text()
        if "%" in recovery:
            break
    assert "%" in recovery and " to " in recovery, recovery  # "54.0%\n48.8% to 59.0%"
    assert i < 3, "the White group's recovery was withheld in three quarters running"
    assert table.locator("td.suppressed, span.suppressed").count() > 0  # small groups are suppressed
    assert "Suppressed means fewer than 8" in page.locator("#equity").inner_text()
    # every chart has its words for a screen reader
    for fig in page.locator("figure.chart").all():
        assert fig.locator("p.visually-hidden").inner_text().strip()

    # the CSV
    with page.expect_download() as d:
        page.locator("#csv-link").click()
    text = Path(d.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["breakdown"] == "ethnic_group" and r["kpi"] == "recovery" for r in rows)
    for r in rows:
        if r["breakdown"] != "total" and r["numerator"]:
            assert not 1 <= int(r["numerator"]) <= 7 and int(r["numerator"]) % 5 == 0

    # no person-level page
    for path in (f"/people/{person}", f"/people/{person}/care", "/caseload", "/today", "/crisis"):
        response = page.goto(f"{server}{path}")
        assert response is not None and response.status == 403, (path, response and response.status)
    assert page.request.get(f"{server}/fhir/R4/Patient/{person}").status == 403
    context.close()


@pytest.mark.parametrize("username,lands", [("commissioner", "**/summary"), ("lead", "**/today")])
def test_the_reports_page_has_no_accessibility_violation(server: str, browser, username: str, lands: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, username, lands=lands)
    page.goto(f"{server}/reports")
    page.wait_for_load_state("networkidle")
    problems = _violations(page)
    page.goto(f"{server}/reports?from=2026-02-30")  # the error state too
    problems += _violations(page)
    assert page.locator("#from[aria-invalid=true]").count() == 1
    page.close()
    assert problems == [], "\n".join(problems)


def test_the_printed_report_has_no_menu_and_keeps_its_charts(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, server, "lead")
    page.goto(f"{server}/reports")
    page.wait_for_load_state("networkidle")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#grid-period").is_visible() and not page.locator("#from").is_visible()
    assert page.locator("p.print-only").is_visible()
    assert page.locator("#trend-recovery svg.main-svg").first.is_visible()
    page.close()
