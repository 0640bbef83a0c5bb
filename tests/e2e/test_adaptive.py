"""The adaptive PHQ-9 in a real browser (issue 18): a clinician sends the adaptive short form, the person answers it
on a phone one question at a time (item 9 first, answered above 0), and the clinician then sees the safety alert,
the items asked in order and the estimate with its 95% interval, marked ADAPTIVE and never as a total."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _violations

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def test_a_person_completes_an_adaptive_phq9_and_the_clinician_sees_the_estimate(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path: Path
) -> None:
    clinician = browser.new_page()
    sign_in(clinician, server, "clin.north")
    clinician.goto(f"{server}/caseload?status=all&sort=name")
    quiet = clinician.locator("#caseload tbody tr:not(.tier-1)").first
    href = quiet.locator("a").first.get_attribute("href")
    assert href and href.startswith("/people/")
    clinician.goto(f"{server}{href}")
    clinician.get_by_role("button", name="Send the adaptive PHQ-9 short form").click()
    assert clinician.locator(".adaptive-tag", has_text="ADAPTIVE").count() == 1
    link = clinician.locator("#self-report-url").inner_text().strip()
    assert "/r/" in link

    # The person, on a phone, with no account and no session: one question per page, the safety item first.
    phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone.goto(link)
    assert phone.locator("fieldset.q").count() == 1
    assert phone.locator("legend", has_text="Thoughts that you would be better off dead").count() == 1
    assert _violations(phone) == []
    phone.screenshot(path=str(tmp_path / "adaptive-question-1.png"), full_page=True)
    phone.locator("label", has_text="More than half the days").click()
    phone.click("text=Next")
    phone.wait_for_selector("#adaptive-progress")
    assert phone.locator("#crisis-numbers", has_text="116 123").count() == 1  # at once, before the form ends
    assert _violations(phone) == []
    asked = 1
    while phone.locator("text=Thank you").count() == 0:
        phone.wait_for_selector("#adaptive-progress")
        assert phone.locator("#adaptive-progress").inner_text().startswith(f"Question {asked + 1}.")
        assert phone.locator("fieldset.q").count() == 1
        phone.locator("label", has_text="Nearly every day").click()
        phone.click("text=Next")
        phone.wait_for_load_state()
        asked += 1
        assert asked <= 9
    assert 1 < asked < 9  # it stopped when the decision was made, before the ninth question
    assert phone.locator("text=999").count() >= 1  # crisis numbers shown at once
    assert _violations(phone) == []
    phone.goto(link)
    assert phone.locator("text=already been used").count() == 1
    phone_context.close()

    # The clinician: the safety alert, the record marked ADAPTIVE with the items asked and the estimate.
    clinician.goto(f"{server}{href}")
    clinician.wait_for_selector("text=Safety answer on PHQ-9")
    row = clinician.locator("tr.adaptive-response").first
    assert "ADAPTIVE" in row.inner_text()
    estimate = row.locator(".adaptive-estimate").inner_text()
    assert re.search(r"estimated \d+ \(95% interval \d+ to \d+\)", estimate), estimate
    assert "item 9: More than half the days" in row.inner_text()  # the safety column, needing attention
    detail = clinician.locator("tr.adaptive-detail").first
    asked_text = detail.locator(".adaptive-asked").inner_text()
    assert asked_text.startswith("Questions asked, in order: item 9 (Thoughts that you would be better off dead, or…)")
    assert "…): More than half the days" in asked_text
    assert asked_text.count("item ") == asked
    assert "at or above 10" in detail.inner_text() and "not a PHQ-9 total" in detail.inner_text()
    assert detail.locator("button", has_text="Send the full PHQ-9").count() == 1
    assert _violations(clinician) == []
    clinician.screenshot(path=str(tmp_path / "adaptive-record.png"), full_page=True)

    # Asking for the full form from the adaptive record.
    detail.locator("button", has_text="Send the full PHQ-9").click()
    clinician.wait_for_selector("#self-report-url")
    assert clinician.locator(".adaptive-tag").count() == 0
    clinician.close()
