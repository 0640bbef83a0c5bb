"""In the browser: a clinician opens a person at assessment, sees each appropriate option's expected course with its
band, chooses one with a rationale; the decision shows the prediction; a later score appears against the chosen
band on the chart and in the decision history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from idiograph.patients.model import CaseloadAssignment, Episode
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.selection import service as selection
from tests.e2e.conftest import demo_server, sign_in
from tests.e2e.test_accessibility import _violations


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, uuid.UUID, str]]:
    """A 400-person demo (big enough for the options model to have numbers) and a North person at assessment whose
    appropriate options include one with a course, other than the current one: (server, person, that option)."""
    with demo_server(tmp_path_factory, 400, 3, "options") as (address, db):
        found: tuple[uuid.UUID, str] | None = None
        with db.session() as s:
            north = s.scalar(select(Team.id).where(Team.name == "North Talking Therapies"))
            rows = s.execute(
                select(Episode.person_id, Episode.pathway)
                .join(CaseloadAssignment, CaseloadAssignment.person_id == Episode.person_id)
                .where(CaseloadAssignment.team_id == north, Episode.discharge_date.is_(None))
            ).all()
            for pid, pathway in rows:
                shown = selection.options(s, Principal.system("e2e"), pid)
                for o in shown["options"]:
                    if o["appropriate"] and o.get("course") and o["id"] != pathway and shown["course_start"]:
                        found = (pid, o["id"])
                        break
                if found:
                    break
            s.rollback()
        assert found is not None, "no person with a numbered option in the demo"
        yield address, found[0], found[1]


def _figure(page, fig_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(page.locator(f"#{fig_id}-data").text_content())  # type: ignore[no-any-return]


def test_a_clinician_compares_options_chooses_one_and_sees_later_scores_against_its_band(service, browser) -> None:  # type: ignore[no-untyped-def]
    server, pid, option = service
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, "clin.north")
    page.goto(f"{server}/people/{pid}/care")
    section = page.locator("#intervention")
    assert section.get_by_role("heading", name="Treatment options").is_visible()
    # every appropriate option is in the table; the comparison charts have drawn
    table = page.locator("#options-table")
    assert table.locator("tbody tr").count() >= 2
    page.wait_for_selector("#compare-phq-9 .main-svg")
    compare = _figure(page, "compare-phq-9")
    assert len([t for t in compare["data"] if not t["name"].startswith("Caseness")]) >= 2
    # the chosen option's own course: its band and expected line, drawn when opened
    details = page.locator(f"#course-{option}")
    details.locator("summary").click()
    page.wait_for_selector(f"#course-{option}-phq-9 .main-svg")
    fig = _figure(page, f"course-{option}-phq-9")
    lower, upper, expected = (fig["data"][i]["y"] for i in range(3))
    assert all(lo <= e <= hi for lo, e, hi in zip(lower, expected, upper, strict=True))
    assert lower[-1] < upper[-1]  # a band, not a line
    for d in page.locator("details.option-course").all():  # every option open, as a clinician comparing would
        d.evaluate("el => el.open = true")
    page.wait_for_timeout(300)
    assert _violations(page) == []
    row = page.locator(f"#option-{option}")
    assert "No number" not in row.inner_text()
    shown_expected = row.locator("td").first.inner_text().split()[0]

    details.locator("input[name=rationale]").fill("Prefers this after we compared the options together")
    details.get_by_role("button", name="Choose").click()
    page.wait_for_url("**/care#decisions")
    decision = page.locator("#decisions li").last
    text = decision.inner_text()
    assert "Shown when chosen" in text and f"PHQ-9 at the end expected {shown_expected}" in text
    assert "Prefers this after we compared" in text

    # a later PHQ-9 in session: 2 on every item (18)
    page.goto(f"{server}/people/{pid}/questionnaires/phq-9")
    for radio in page.locator("input[type=radio][value='2']").all():
        radio.check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    page.goto(f"{server}/people/{pid}")
    page.wait_for_selector("#chart-44261-6 .main-svg")
    chart = _figure(page, "chart-44261-6")
    band = [t for t in chart["data"] if t["name"].startswith("Predicted for")]
    assert band, [t["name"] for t in chart["data"]]
    assert page.locator("#chart-44261-6-summary").text_content().count("the 95% range predicted for") == 1
    history = page.locator("#decisions table.predicted-actual")
    assert history.is_visible()
    last = history.locator("tbody tr").last.inner_text()
    assert "PHQ-9" in last and "18" in last and ("band" in last or "after the predicted course" in last)
    assert _violations(page) == []
    page.close()
