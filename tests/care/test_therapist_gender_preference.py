"""A preferred therapist gender is a stated preference: checked where the person states it, said in words, and
kept for matching to weigh (never a hard rule)."""

from __future__ import annotations

import pytest

from idiograph.care.in_words import preference_lines
from idiograph.care.own_page import clean_preferences
from idiograph.errors import InvalidInput


def test_a_preferred_therapist_gender_is_checked_kept_and_said() -> None:
    assert clean_preferences({"therapist_gender": "female"})["therapist_gender"] == "female"
    assert clean_preferences({"therapist_gender": ""})["therapist_gender"] is None
    with pytest.raises(InvalidInput) as exc:
        clean_preferences({"therapist_gender": "robot"})
    assert [p.field for p in exc.value.problems] == ["therapist_gender"]
    assert ("Therapist", "a man preferred") in preference_lines({"therapist_gender": "male"})
    assert not [label for label, _ in preference_lines({"therapist_gender": None}) if label == "Therapist"]


def test_staff_record_it_through_the_api(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("cc.gender", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Mo", "family_name": "Khan", "sex": "male"}, headers=cc.auth
    ).json()["id"]
    ok = client.put(
        f"/api/v1/people/{pid}/preferences", json={"expected_version": 0, "therapist_gender": "male"}, headers=cc.auth
    )
    assert ok.status_code in (200, 201), ok.text
    assert ok.json()["data"]["therapist_gender"] == "male"
    bad = client.put(
        f"/api/v1/people/{pid}/preferences", json={"expected_version": 1, "therapist_gender": "x"}, headers=cc.auth
    )
    assert bad.status_code == 422 and "therapist_gender" in bad.text
