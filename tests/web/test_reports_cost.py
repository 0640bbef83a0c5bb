"""The Reports page's cost section (issue 19): the illustrative warning, a row per pathway and all, no count
1-7 shown, and still one aggregate audit record per view."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from idiograph.reporting import grid
from idiograph.security.model import AuditRecord
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo
from tests.web.test_pages import login


@pytest.fixture
def demo(db):  # type: ignore[no-untyped-def]
    load_demo(db, 40, 5, synth_params.load(), date.today())
    db.commit()
    return db


def test_cost_section_on_the_page(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.icb", "commissioner")
    login(client, "t.icb")
    before = demo.scalar(select(func.count()).select_from(AuditRecord))
    page = client.get("/reports?from=2025-01-01&to=" + date.today().isoformat())
    assert page.status_code == 200
    assert demo.scalar(select(func.count()).select_from(AuditRecord)) == before + 1
    section = page.text[page.text.index('id="cost"') : page.text.index('id="notes"')]
    assert "Illustrative unit costs" in section
    assert "All pathways" in section
    cells = re.findall(r'<td class="num">(\d+)</td>', section)
    assert cells and not [c for c in cells if 1 <= int(c) <= 7]
    # not one financial quarter: all pathways together only, pathways being groups (H-108)
    section = page.text[page.text.index('id="cost"') : page.text.index('id="personalisation"')]
    assert re.findall(r'<th scope="row">([^<]+)</th>', section) == ["All pathways"]
    assert "Pathways are shown for a whole financial quarter only" in section
    q = grid.latest_complete(date.today(), "quarter")
    page = client.get(f"/reports?from={q.start}&to={q.end}")
    section = page.text[page.text.index('id="cost"') : page.text.index('id="personalisation"')]
    assert len(re.findall(r'<th scope="row">([^<]+)</th>', section)) > 1 and "Pathways are shown" not in section


def test_team_funnel_section_on_the_page(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.lead", "service_lead")
    login(client, "t.lead")
    page = client.get("/reports?period=" + grid.latest_complete(date.today(), "quarter").start.isoformat())
    assert page.status_code == 200
    section = page.text[page.text.index('id="team-funnel"') : page.text.index('id="cost"')]
    assert "Recovery by team" in section
    if "No finished courses" not in section:
        assert "95% limit" in section  # the chart's limit curves are in the figure JSON
        counted = re.findall(r'<td class="num">(\d+)</td>', section)
        assert not [c for c in counted if 1 <= int(c) <= 7]


def test_team_funnel_withholds_a_lone_small_team_and_one_more() -> None:
    from idiograph.web.pages.reports import withheld_teams

    # A: 3 of 10 (3 recovered: small); B: 20 of 40; C: 15 of 30 (the next smallest, withheld with A or D); D: 10
    # of 12 (2 not recovered: small on its own).
    assert withheld_teams({"A": (3, 10), "B": (20, 40), "C": (15, 30)}) == {"A", "C"}
    assert withheld_teams({"D": (10, 12), "B": (20, 40), "C": (15, 30)}) == {"C", "D"}
    assert withheld_teams({"B": (20, 40), "C": (15, 30)}) == set()
    assert withheld_teams({"A": (0, 8)}) == set()  # 0 recovered of 8 is not a small count
