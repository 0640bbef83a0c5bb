from datetime import date

from idiograph.patients.demographics import age_band, age_on, ethnic_group, is_language_tag
from idiograph.patients.episodes import episode_problems

TODAY = date(2026, 11, 23)


def test_age_on_birthday_boundaries() -> None:
    assert age_on(date(2000, 11, 23), TODAY) == 26
    assert age_on(date(2000, 11, 24), TODAY) == 25
    assert age_band(date(2008, 11, 24), TODAY) == "under 18"
    assert age_band(date(2008, 11, 23), TODAY) == "18-24"
    assert age_band(date(1951, 11, 23), TODAY) == "75+"
    assert age_band(None, TODAY) == "unknown"


def test_ethnic_groups_follow_nhs_categories() -> None:
    assert ethnic_group("A") == "White"
    assert ethnic_group("R") == "Other ethnic groups"  # Chinese sits in 'Other' in the 2001 categories
    assert ethnic_group("N") == "Black or Black British"
    assert ethnic_group(None) == "Not known"
    assert ethnic_group("Q") == "Not known"


def test_language_tags() -> None:
    assert all(is_language_tag(t) for t in ("en", "pl", "pa-Guru", "en-GB"))
    assert not any(is_language_tag(t) for t in ("English", "e", "EN", "en_GB"))


def test_episode_rules_name_each_field() -> None:
    assert episode_problems(date(2026, 1, 1), None, None, TODAY) == []
    assert episode_problems(date(2026, 1, 1), date(2026, 3, 1), "completed", TODAY) == []
    fields = {p.field for p in episode_problems(date(2027, 1, 1), None, None, TODAY)}
    assert fields == {"referral_date"}
    fields = {p.field for p in episode_problems(date(2026, 3, 1), date(2026, 1, 1), None, TODAY)}
    assert fields == {"discharge_date", "discharge_reason"}
    fields = {p.field for p in episode_problems(date(2026, 3, 1), None, "completed", TODAY)}
    assert fields == {"discharge_date"}
