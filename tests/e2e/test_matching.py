"""In the browser: an allocator (senior clinician) opens the waiting list, runs the batch match, accepts one
suggestion and overrides another with a reason (each a governed decision); the person's own link shows their therapy
plan and they accept it. The allocation and strengths pages pass the accessibility checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from idiograph.care import service as care
from idiograph.governance.model import Decision
from idiograph.matching.model import Allocation, Therapist, TherapyPlan
from idiograph.security.principal import Principal
from tests.e2e.conftest import demo_server, sign_in
from tests.e2e.test_accessibility import _violations


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    with demo_server(tmp_path_factory, 300, 5, "matching") as (address, db):
        yield address, db


def _person(row) -> uuid.UUID:  # type: ignore[no-untyped-def]
    return uuid.UUID(row.get_attribute("id").removeprefix("suggestion-"))


def test_the_allocator_matches_the_waiting_list_accepts_one_overrides_another_and_the_person_reads_the_plan(  # type: ignore[no-untyped-def]
    service, browser
) -> None:
    server, db = service
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, "senior")
    page.goto(f"{server}/allocation")
    assert page.locator("#waiting tbody tr").count() >= 2
    page.get_by_role("button", name="Suggest matches for everyone waiting").click()
    page.wait_for_selector("#suggestions")
    assert (
        "Expected benefit over giving each person the next available therapist"
        in page.locator("#expected-gain").inner_text()
    )
    assert _violations(page) == []
    # accept the first suggestion
    rows = page.locator("#suggestions tbody tr:has(form.accept)")
    assert rows.count() >= 2, "the demo's waiting list has at least two people someone can take"
    first = rows.nth(0)
    accepted = _person(first)
    suggested_name = first.locator("td").nth(1).locator("strong").inner_text()
    first.locator("form.accept button").click()
    page.wait_for_selector("#allocated")
    assert page.locator(f"#suggestion-{accepted}").count() == 0  # allocated: no longer waiting
    # override the next one that has someone else to offer, with a reason
    rows = page.locator("#suggestions tbody tr:has(details.override option)")
    second = rows.nth(0)
    overridden = _person(second)
    second.locator("details.override summary").click()
    other = second.locator("select[name=therapist_id] option").first.get_attribute("value")
    second.locator("select[name=therapist_id]").select_option(other)
    second.locator("textarea[name=rationale]").fill("Prefers a therapist she met at assessment; continuity matters")
    second.get_by_role("button", name="Allocate instead").click()
    page.wait_for_selector("#allocated")
    with db.session() as s:  # type: ignore[attr-defined]
        a1 = s.scalar(select(Allocation).where(Allocation.person_id == accepted, Allocation.current.is_(True)))
        a2 = s.scalar(select(Allocation).where(Allocation.person_id == overridden, Allocation.current.is_(True)))
        assert a1 is not None and a1.suggested_id == a1.therapist_id and a1.decision_id is not None
        assert s.get(Therapist, a1.therapist_id).name == suggested_name
        assert a2 is not None and a2.therapist_id == uuid.UUID(other)
        assert a2.suggested_id is not None and a2.suggested_id != a2.therapist_id
        d2 = s.get(Decision, a2.decision_id)
        assert d2.status == "applied" and "instead of the suggested" in d2.summary
        assert d2.rationale.startswith("Prefers a therapist")
        assert s.scalar(select(TherapyPlan).where(TherapyPlan.person_id == accepted, TherapyPlan.current.is_(True)))
        _, token = care.create_plan_link(s, Principal.system("e2e"), accepted, 7)
        s.commit()
    # the person opens their link and reads the plan before the first session
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    me = phone.new_page()
    me.goto(f"{server}/my-plan/{token}")
    plan = me.locator("#therapy-plan")
    assert plan.get_by_role("heading", name="Your therapy plan").is_visible()
    assert suggested_name in plan.inner_text()
    assert "week 4" in plan.inner_text() and "week 8" in plan.inner_text()
    me.get_by_role("button", name="Accept this plan").click()
    me.wait_for_load_state()
    with db.session() as s:  # type: ignore[attr-defined]
        tp = s.scalar(select(TherapyPlan).where(TherapyPlan.person_id == accepted, TherapyPlan.current.is_(True)))
        assert tp is not None and tp.status == "accepted"
    phone.close()


def test_strengths_show_a_clinician_their_own_and_a_senior_everyone_by_name(service, browser) -> None:  # type: ignore[no-untyped-def]
    server, _ = service
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, "clin.north")
    page.goto(f"{server}/strengths")
    assert page.get_by_role("heading", name="Your strengths by problem").is_visible()
    names = page.locator("#strengths-table tbody tr td:first-child").all_inner_texts()
    assert names == ["Dr Amara Okafor"]
    assert _violations(page) == []
    page.context.clear_cookies()
    sign_in(page, server, "senior")
    page.goto(f"{server}/strengths")
    names = page.locator("#strengths-table tbody tr td:first-child").all_inner_texts()
    assert len(names) > 2 and names == sorted(names)  # by name: never a league table
    page.wait_for_selector(".plot .main-svg")
    assert _violations(page) == []
