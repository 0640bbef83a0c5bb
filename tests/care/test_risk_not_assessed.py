"""Risk starts at 'not assessed': the form never pre-selects a level lower than the current one, and an
unassessed person is not offered alternatives whose ceiling assumes low risk."""

from __future__ import annotations

import re
import uuid
from datetime import date

from idiograph.care import interventions as I
from idiograph.db import transaction
from idiograph.patients.model import Episode
from tests.web.test_pages import login

R = I.rules()


def test_not_assessed_is_unknown_not_low() -> None:
    # at low risk, declining group CBT for depression offers four options; not assessed, only those offered at
    # any risk level, each saying risk is not assessed
    low = [o.id for o in I.alternatives(R, "depression", "low", {"group_cbt"})]
    assert low == ["cbt", "guided_self_help", "counselling", "medication_review"]
    unknown = I.alternatives(R, "depression", None, {"group_cbt"})
    assert [o.id for o in unknown] == ["cbt", "medication_review"]
    assert all(I.NOT_ASSESSED_NOTE in o.reasons for o in unknown)
    assert all("at any risk level" in o.reasons[0] for o in unknown)
    assert I.appropriate(R, "counselling", "depression", None) == [
        f"Counselling for depression is offered up to medium risk: {I.NOT_ASSESSED_NOTE}"
    ]
    assert I.appropriate(R, "cbt", "depression", None) == []


def _select(page: str) -> str:
    return re.search(r'<select name="level"[^>]*>(.*?)</select>', page, re.S).group(1)  # type: ignore[union-attr]


def test_the_risk_form_starts_at_not_assessed_then_at_the_current_level(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    with transaction(db):
        db.add(
            Episode(
                person_id=uuid.UUID(pid),
                referral_date=date.today(),
                referral_source="gp",
                presenting_problem="depression",
                pathway="group_cbt",
            )
        )
    offer = client.get(f"/api/v1/people/{pid}/interventions", headers=clin.auth).json()
    assert [o["id"] for o in offer["alternatives"]] == ["cbt", "medication_review"]
    token = login(client, "clin")
    page = client.get(f"/people/{pid}/care").text
    levels = _select(page)
    assert '<option value="" selected>Not assessed: choose a level</option>' in levels
    assert levels.count("selected") == 1  # nothing else chosen for the clinician
    assert 'id="risk-not-assessed"' in page and 'id="options-risk-not-assessed"' in page
    assert "Counselling for depression" not in page.split('id="intervention"')[1].split("</section>")[0]
    # a form sent with nothing chosen is refused, naming the level; nothing is stored
    r = client.post(f"/people/{pid}/care/risk", data={"csrf_token": token, "level": "", "summary": "Seen today"})
    assert r.status_code == 422 and "level" in r.text
    assert 'value="" selected' in _select(client.get(f"/people/{pid}/care").text)
    for level in ("high", "medium"):
        r = client.post(
            f"/people/{pid}/care/risk",
            data={"csrf_token": token, "level": level, "summary": f"Assessed {level} today"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(f"/people/{pid}/care").text
        levels = _select(page)
        # the current level is chosen, never a lower one; no "not assessed" once assessed
        assert f'<option value="{level}" selected>' in levels and levels.count("selected") == 1
        assert 'value=""' not in levels and 'id="options-risk-not-assessed"' not in page
    offer = client.get(f"/api/v1/people/{pid}/interventions", headers=clin.auth).json()
    assert [o["id"] for o in offer["alternatives"]] == ["cbt", "guided_self_help", "counselling", "medication_review"]
