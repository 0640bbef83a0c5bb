"""Charts in a real browser: a PHQ-9 under treatment with its caseness line and expected course, a legend that
does not scroll or squeeze the plot, a text summary for screen readers, and no favicon 404 (issue 14)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def _person_with_expected_course(page, server: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/caseload")
    hrefs = {
        h
        for h in page.eval_on_selector_all("a[href^='/people/']", "els => els.map(e => e.getAttribute('href'))")
        if re.fullmatch(r"/people/[0-9a-f-]{36}", h)
    }
    for href in sorted(hrefs):
        html = page.request.get(f"{server}{href}").text()
        if "Not on track above this" in html and "No usual range is drawn during treatment" in html:
            return href
    pytest.skip("no person in the demo with an expected course")


def test_phq9_chart_is_legible(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, server, "clin.north", lands="**/*")
    href = _person_with_expected_course(page, server)
    page.goto(f"{server}{href}#measures")
    chart = page.locator("figure.chart", has=page.locator("h3", has_text=re.compile(r"^PHQ-9 — "))).first
    chart.locator(".main-svg").first.wait_for()
    chart.scroll_into_view_if_needed()
    plot = chart.locator(".cartesianlayer .bg, .draglayer .nsewdrag").first.bounding_box()
    assert plot is not None and plot["height"] >= 240, plot  # room to read the scores
    legend = chart.locator(".legend").first.bounding_box()
    assert legend is not None and legend["height"] <= 60, legend  # two rows at most: nothing to scroll
    assert legend["y"] > plot["y"] + plot["height"]  # below the plot, not over it
    assert "Caseness (10 or more)" in chart.inner_text() and "Expected course" in chart.inner_text()
    summary = chart.locator("p.visually-hidden").inner_text()
    assert summary.startswith("PHQ-9: ") and "caseness line (10)" in summary
    assert not [u for u in missing if "favicon" in u], missing
