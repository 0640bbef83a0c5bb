"""A real browser on a phone: a clinician makes the link to a person's own page; the person opens it, reads their
scores in words and their appointments, updates their preferences and asks for a change; the clinician sees both
as tasks on the care page and answers, and the person reads the answer."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from idiograph.db import utcnow
from idiograph.synth.load import DEMO_PASSWORD
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _violations

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LANDS = re.compile(r".*/(today|caseload)(\?.*)?$")  # the clinical landing page (Today, or the caseload before it)


def _demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = sorted(tmp_path_factory.getbasetemp().glob("e2e*/e2e.db"), key=lambda p: p.stat().st_mtime)
    assert files, "the demo server's database was not found"
    return files[-1]


def _north_person_with_phq9(path: Path) -> str:
    """A person on North Talking Therapies (clin.north's team) with at least two PHQ-9 totals."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        row = c.execute(
            "SELECT o.person_id FROM observation o"
            " JOIN caseload_assignment ca ON ca.person_id = o.person_id"
            " JOIN team t ON t.id = ca.team_id"
            " WHERE t.name = 'North Talking Therapies' AND o.code = '44261-6'"
            " GROUP BY o.person_id HAVING COUNT(*) >= 2 ORDER BY o.person_id LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo has North people with PHQ-9 scores"
    pid = str(row[0])
    return pid if "-" in pid else f"{pid[:8]}-{pid[8:12]}-{pid[12:16]}-{pid[16:20]}-{pid[20:]}"


def test_the_person_uses_their_own_page_on_a_phone_and_the_team_answers(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pid = _north_person_with_phq9(_demo_database(tmp_path_factory))
    # an appointment in three days, so the page has one to show
    api = browser.new_context()
    token = api.request.post(
        f"{server}/api/v1/auth/token", form={"username": "clin.north", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    start = (utcnow() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0).isoformat()
    r = api.request.post(
        f"{server}/api/v1/people/{pid}/appointments",
        data={"start": start, "place": "clinic", "format": "in_person"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status == 201, r.text()
    api.close()

    # the clinician makes the link on the care page
    staff = browser.new_context()
    clinician = staff.new_page()
    sign_in(clinician, server, "clin.north", lands=LANDS)
    clinician.goto(f"{server}/people/{pid}/care")
    clinician.get_by_role("button", name="Make a link to the person's own page").click()
    url = clinician.locator("#plan-url").inner_text().strip()
    assert url.startswith(f"{server}/my-plan/")

    # the person opens it on their phone: no account
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    me = phone.new_page()
    errors: list[str] = []
    me.on("pageerror", lambda e: errors.append(str(e)))
    response = me.goto(url)
    assert response is not None and response.status == 200
    scores = me.locator("#scores .score-words").first.inner_text()
    assert re.match(r"Your PHQ-9 \(low mood\) score was \d+ on \d{1,2} \w{3}", scores), scores
    assert "when you started" in scores
    appointment = me.locator("#appointments li").first.inner_text()
    assert "in person (clinic)" in appointment and "(50 minutes)" in appointment, appointment
    for number in ("tel:999", "tel:111", "tel:116123"):
        link = me.locator(f'a.call[href="{number}"]')
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, (number, box)
    # phone first: nothing wider than the screen, every control at least 24 px tall, even at 320 px
    me.set_viewport_size({"width": 320, "height": 700})
    assert me.evaluate("document.documentElement.scrollWidth") <= 320
    small = me.evaluate(
        """() => [...document.querySelectorAll('.own-page button, .own-page input, .own-page nav a, .own-page a.call')]
            .filter(e => e.type !== 'hidden')
            .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 24)"""
    )
    assert small == []
    assert _violations(me) == []
    me.set_viewport_size(PHONE)

    # they update their preferences: days, time of day, a goal in their own words
    form = me.locator("#preferences-form")
    form.get_by_label("Wednesday").check()
    form.get_by_label("Mornings").check()
    form.get_by_label("Goal 1").fill("Get back to work three days a week")
    form.get_by_role("button", name="Save my preferences").click()
    me.wait_for_url("**?sent=preferences*")
    assert "Your care team has been told what changed" in me.locator("#sent").inner_text()
    assert "Get back to work three days a week" in me.locator("#goals").inner_text()

    # and ask for a change
    ask = me.locator("#request-form")
    ask.get_by_label("The time of my appointments").check()
    ask.get_by_label("What would you like to change? In your own words").fill("Could we meet after 5pm? I start work.")
    ask.get_by_role("button", name="Send to my team").click()
    me.wait_for_url("**?sent=request*")
    sent = me.locator("#messages ul.messages").inner_text()
    assert "You asked about the time of your appointments" in sent and "Received" in sent
    assert "You updated your preferences" in sent

    # the clinician sees both on the care page, with the preferences in words, and answers the request
    clinician.goto(f"{server}/people/{pid}/care")
    requests = clinician.locator("#requests")
    assert "The person asks about the time of their appointments" in requests.inner_text()
    assert "The person changed their preferences" in requests.inner_text()
    prefs = clinician.locator("#preferences-now").inner_text()
    assert "Wednesday" in prefs and "mornings" in prefs and "Get back to work three days a week" in prefs
    item = requests.locator("li", has_text="The person asks about the time of their appointments")
    item.get_by_label("What was done (the person reads this)").fill("Moved to Thursdays at 5.30pm from next week")
    item.get_by_role("button", name="Record as done").click()
    clinician.wait_for_url(f"**/people/{pid}/care#requests")

    me.goto(url)
    answered = me.locator("#messages ul.messages").inner_text()
    assert "Done" in answered and "Moved to Thursdays at 5.30pm from next week" in answered
    assert errors == []
    staff.close()
    phone.close()


def test_a_crisis_plan_edit_that_conflicts_keeps_what_was_typed(  # type: ignore[no-untyped-def]
    server: str, browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pid = _north_person_with_phq9(_demo_database(tmp_path_factory))
    api = browser.new_context()
    token = api.request.post(
        f"{server}/api/v1/auth/token", form={"username": "senior", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    got = api.request.get(f"{server}/api/v1/people/{pid}/crisis-plan", headers=auth)
    version = got.json()["version"] if got.status == 200 else 0

    staff = browser.new_context()
    page = staff.new_page()
    sign_in(page, server, "clin.north", lands=LANDS)
    page.goto(f"{server}/people/{pid}/care")
    section = page.locator("#crisis-plan")
    section.locator("summary", has_text="crisis plan").click()
    form = section.locator("#crisis-plan-form")
    form.get_by_label("Early warning signs (one per line)").fill("Stops eating\nSleeps all day")
    form.get_by_label("Advance statement").fill("No restraint, please")
    form.get_by_label("Why it changes").fill("Updated with them at home")
    # a colleague saves first
    r = api.request.put(
        f"{server}/api/v1/people/{pid}/crisis-plan",
        data={"expected_version": version, "rationale": "After the review", "contacts": ["Crisis line 0800 123 4567"]},
        headers=auth,
    )
    assert r.status == 200, r.text()
    api.close()
    form.get_by_role("button", name="Save crisis plan").click()
    page.wait_for_selector("#crisis-plan-error")
    said = page.locator("#crisis-plan-error").inner_text()
    assert said.startswith("Not saved.") and "the version saved in the meantime is beside it" in said, said
    form = page.locator("#crisis-plan-form")
    assert form.get_by_label("Early warning signs (one per line)").input_value() == "Stops eating\nSleeps all day"
    assert form.get_by_label("Advance statement").input_value() == "No restraint, please"
    assert form.get_by_label("Why it changes").input_value() == "Updated with them at home"
    assert "0800 123 4567" in page.locator("#crisis-plan-current").inner_text()
    assert _violations(page) == []
    form.get_by_role("button", name="Save crisis plan").click()  # saved again, from the colleague's version
    page.wait_for_url(f"**/people/{pid}/care#crisis-plan")
    assert "Stops eating" in page.locator("#crisis-plan dl.crisis").first.inner_text()
    staff.close()
