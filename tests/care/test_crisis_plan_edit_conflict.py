"""A crisis-plan edit refused (someone saved in between, or a field is wrong) comes back with everything the user
typed, the reason, and on a conflict the version saved in between beside it: nothing typed is lost (H-078)."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from idiograph.care.model import CrisisPlan
from tests.web.test_pages import login


def _textarea(page: str, name: str) -> str:
    m = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert m is not None, name
    return html.unescape(m.group(1))


def test_a_conflicting_edit_keeps_the_typed_plan_beside_the_saved_one(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    other = make_staff("other.cc", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "First plan with Ada", "what_helps": ["A walk"]},
        headers=cc.auth,
    )
    csrf = login(client, "ccoord")
    opened = client.get(f"/people/{pid}/care").text
    assert 'name="expected_version" value="1"' in opened
    # while the form is open, a colleague saves version 2
    r = client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 1, "rationale": "After the review", "contacts": ["Crisis line 0800 123 4567"]},
        headers=other.auth,
    )
    assert r.status_code == 200
    typed = {
        "csrf_token": csrf,
        "expected_version": "1",
        "warning_signs": "Stops eating\nSleeps all day",
        "what_helps": "A walk with Mary <her sister>",
        "advance_statement": "No restraint, please",
        "rationale": "Updated with Ada at home",
    }
    page = client.post(f"/people/{pid}/care/crisis-plan", data=typed)
    assert page.status_code == 409
    text = page.text
    assert 'id="crisis-plan-error"' in text and "changed by other.cc" in text
    # what was typed is in the form, exactly
    assert _textarea(text, "warning_signs") == "Stops eating\nSleeps all day"
    assert _textarea(text, "what_helps") == "A walk with Mary <her sister>"
    assert _textarea(text, "advance_statement") == "No restraint, please"
    assert _textarea(text, "rationale") == "Updated with Ada at home"
    # and the colleague's version is beside it; saving again is from that version
    current = text[text.index('id="crisis-plan-current"') : text.index('id="crisis-plan-form"')]
    assert "version 2, other.cc" in current and "0800 123 4567" in current
    assert re.search(r'id="crisis-plan-form">.*?name="expected_version" value="2"', text, re.S)
    assert db.scalar(select(func.count()).select_from(CrisisPlan).where(CrisisPlan.current.is_(True))) == 1
    resaved = client.post(f"/people/{pid}/care/crisis-plan", data={**typed, "expected_version": "2"})
    assert resaved.status_code == 200 and "Stops eating" in resaved.text  # followed to the care page
    plan = db.scalar(select(CrisisPlan).where(CrisisPlan.current.is_(True)))
    assert plan.version == 3 and plan.content["warning_signs"] == ["Stops eating", "Sleeps all day"]


def test_a_refused_field_keeps_the_typed_plan_too(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    csrf = login(client, "ccoord")
    typed = {"csrf_token": csrf, "expected_version": "0", "triggers": "Anniversary of her father's death"}
    page = client.post(f"/people/{pid}/care/crisis-plan", data={**typed, "rationale": "x"})
    assert page.status_code == 422 and "rationale" in page.text and "Not saved." in page.text
    assert _textarea(page.text, "triggers") == "Anniversary of her father's death"
    assert 'id="crisis-plan-current"' not in page.text
    assert db.scalar(select(func.count()).select_from(CrisisPlan)) == 0
