"""The record in clinical words: no raw codes, LOINC long names, UCUM units or statistician's headlines
(issue 14; hazard H-075)."""

from __future__ import annotations

import re

from tests.web.test_pages import PERSON, login

RAW = (
    "in_person",
    "group_cbt",
    "guided_self_help",
    "/(24.h)",
    "generalised_anxiety",
    "Number of steps in 24 hour",
    "Lithium [Moles/volume]",
    "e+0",
    "RCI 0.00",
    "No reliable change (RCI",
    "{score}",
)


def test_the_person_page_shows_no_raw_codes_and_one_score_so_far(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json={**PERSON, "preferred_language": "pl"}, headers=clin.auth).json()["id"]
    ep = {
        "referral_date": "2026-02-01",
        "referral_source": "self",
        "presenting_problem": "generalised_anxiety",
        "pathway": "group_cbt",
    }
    assert client.post(f"/api/v1/people/{pid}/episodes", json=ep, headers=clin.auth).status_code == 201
    obs = [
        {"person_id": pid, "code": "41950-7", "value": v, "time": f"2026-03-{i + 1:02d}T10:00:00Z"}
        for i, v in enumerate([9920.4, 11000.0, 8400.0])
    ]
    obs += [
        {"person_id": pid, "code": "14334-7", "value": 0.62, "time": "2026-03-02T10:00:00Z"},
        {"person_id": pid, "code": "44261-6", "value": 14, "time": "2026-03-03T10:00:00Z"},
    ]
    assert client.post("/api/v1/observations", headers=clin.auth, json={"observations": obs}).status_code == 200
    login(client, "clin")
    page = client.get(f"/people/{pid}")
    assert page.status_code == 200
    visible = re.sub(r'<script type="application/json".*?</script>', "", page.text, flags=re.S)  # chart data
    shown = [w for w in RAW if w in visible]
    assert not shown, shown
    assert "Group CBT" in visible and "generalised anxiety" in visible and "self-referral" in visible
    assert "Polish" in visible and "Steps — 3 results" in visible and "Lithium — 1 result" in visible
    assert "9,920 per day" in page.text  # the steps chart's hover and summary
    change = visible[visible.index('id="change"') :]
    assert "one score so far" in change[: change.index("</section>")]
    assert "Steps: 8,400 per day on 3 Mar 2026, down from 9,920 per day at the start" in visible  # screen readers
    assert "PHQ-9: 14 on 3 Mar 2026, the only score so far; above the caseness line (10)." in visible
    for listing in ("/caseload", "/today?scope=team"):  # the pathway column and the pathway filter, in words
        text = re.sub(r"<[^>]+>", " ", client.get(listing).text)  # what is read, not attribute values
        assert "group_cbt" not in text and "Group CBT" in text, listing
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    assert client.get("/static/favicon.svg").status_code == 200


def test_a_clinician_saves_answers_the_person_sends_them(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    login(client, "clin")
    page = client.get(f"/people/{pid}/questionnaires/phq-9")
    assert page.status_code == 200 and ">Save answers</button>" in page.text and "Send my answers" not in page.text
