"""The Reports page's cost section (issue 19): the illustrative warning, a row per pathway and all, no count
1-7 shown, and still one aggregate audit record per view."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

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
