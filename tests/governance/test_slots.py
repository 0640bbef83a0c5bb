"""Slots ranked by fit to preferences, and the calendar file (pure, and through the API)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from idiograph.care import slots

MONDAY = date(2026, 11, 30)


def test_ranking_by_hand() -> None:
    cands = slots.candidates(MONDAY, 7)
    prefs = {"days": ["tue", "thu"], "periods": ["evening"], "formats": ["video"], "places": ["home"]}
    top = slots.rank(cands, prefs, 5)
    # evening (17:00, 18:00) on Tuesday and Thursday by video at home: four slots meet all four preferences
    assert [s.score for s in top] == [1.0, 1.0, 1.0, 1.0, 0.75]
    assert [s.start.astimezone(slots.LONDON).strftime("%a %H") for s in top[:4]] == [
        "Tue 17",
        "Tue 18",
        "Thu 17",
        "Thu 18",
    ]
    assert top[0].format == "video" and top[0].place == "home"
    assert "preferred day (tue)" in top[0].reasons
    # a Monday morning clinic slot meets none of the four
    monday = next(s for s in cands if s.start.hour == 9 and s.place == "clinic" and s.format == "in_person")
    assert slots.score(monday, prefs).score == 0.0
    # no preferences: everything fits, earliest first
    assert slots.rank(cands, {}, 1)[0].start == datetime.combine(
        MONDAY, datetime.min.time().replace(hour=9), slots.LONDON
    )


def test_declined_formats_count_against_a_slot_and_busy_times_are_skipped() -> None:
    busy = [datetime(2026, 11, 30, 10, 0, tzinfo=slots.LONDON)]
    cands = slots.candidates(MONDAY, 1, busy)
    assert not any(s.start.hour == 10 for s in cands)
    group = next(s for s in cands if s.format == "group")
    scored = slots.score(group, {"declined": [{"what": "group", "why": "social anxiety"}]})
    assert scored.score == 0.0 and "declined group" in scored.reasons
    assert all(slots.coherent(s.place, s.format) is None for s in cands)


def test_icalendar_has_only_booked_appointments_and_escapes_text() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    appts = [
        SimpleNamespace(
            id="a1", start=start, minutes=50, place="home", format="video", with_whom="Joe, CC; North", status="booked"
        ),
        SimpleNamespace(
            id="a2",
            start=start + timedelta(days=7),
            minutes=50,
            place="clinic",
            format="in_person",
            with_whom=None,
            status="cancelled_by_person",
        ),
    ]
    ics = slots.icalendar(appts, "your care team", datetime(2026, 11, 23, tzinfo=UTC))
    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and ics.endswith("\r\n")
    assert lines.count("BEGIN:VEVENT") == 1 and "UID:a1@idiograph" in lines
    assert "DTSTART:20261201T100000Z" in lines and "DTEND:20261201T105000Z" in lines
    assert "DESCRIPTION:With Joe\\, CC\\; North. To change it\\, contact your care team." in lines


def test_slots_and_calendar_through_the_api(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    r = client.put(
        f"/api/v1/people/{pid}/preferences",
        json={"expected_version": 0, "days": ["wed"], "periods": ["morning"], "formats": ["phone"], "places": ["home"]},
        headers=cc.auth,
    )
    assert r.status_code == 200, r.text
    bad = client.put(
        f"/api/v1/people/{pid}/preferences", json={"expected_version": 1, "days": ["someday"]}, headers=cc.auth
    )
    assert bad.status_code == 422 and "days" in bad.text
    stale = client.put(f"/api/v1/people/{pid}/preferences", json={"expected_version": 0}, headers=cc.auth)
    assert stale.status_code == 409
    top = client.get(f"/api/v1/people/{pid}/slots?limit=3", headers=cc.auth).json()
    assert len(top) == 3 and all(s["fit"] == 1.0 and s["format"] == "phone" and s["place"] == "home" for s in top)
    assert all(datetime.fromisoformat(s["start"]).astimezone(slots.LONDON).strftime("%a") == "Wed" for s in top)
    booked = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": top[0]["start"], "place": "home", "format": "phone"},
        headers=cc.auth,
    )
    assert booked.status_code == 201
    after = client.get(f"/api/v1/people/{pid}/slots?limit=3", headers=cc.auth).json()
    assert top[0]["start"] not in [s["start"] for s in after]
    ics = client.get(f"/api/v1/people/{pid}/appointments.ics", headers=cc.auth)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.count("BEGIN:VEVENT") == 1 and "phone call (home visit)" in ics.text


def test_preferences_from_the_care_page_form(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    csrf = login(client, "ccoord")
    form = {
        "csrf_token": csrf,
        "expected_version": "0",
        "days": ["tue", "thu"],
        "periods": ["evening"],
        "formats": ["video"],
        "communication": ["sms"],
        "language": "Polish",
        "interpreter": "yes",
        "involve": "Sister (Mary)\n",
        "declined": "group: social anxiety\n",
    }
    r = client.post(f"/people/{pid}/care/preferences", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    prefs = client.get(f"/api/v1/people/{pid}/preferences", headers=cc.auth).json()
    d = prefs["data"]
    assert (
        prefs["version"] == 1 and d["days"] == ["tue", "thu"] and d["interpreter"] is True and d["language"] == "Polish"
    )
    assert d["declined"] == [{"what": "group", "why": "social anxiety"}] and d["involve"] == ["Sister (Mary)"]
    page = client.get(f"/people/{pid}/care").text
    assert "Declined group: social anxiety" in page and "Polish (interpreter needed)" in page
    # a stale form (version 0 again) is refused and says so; a bad value names its field
    again = client.post(f"/people/{pid}/care/preferences", data=form)
    assert again.status_code == 409 and "reload" in again.text
    bad = client.post(f"/people/{pid}/care/preferences", data={**form, "expected_version": "1", "days": ["someday"]})
    assert bad.status_code == 422 and "days" in bad.text


def test_saving_preferences_through_the_api_keeps_the_persons_goals(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found in review: the API's preferences had no goals field, so a PUT wiped the goals the person set."""
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post("/api/v1/people", json={"given_name": "Ada", "family_name": "B"}, headers=cc.auth).json()["id"]
    url = f"/api/v1/people/{pid}/preferences"
    first = client.put(url, json={"expected_version": 0, "goals": ["Back to work by March"]}, headers=cc.auth)
    assert first.status_code == 200 and first.json()["data"]["goals"] == ["Back to work by March"]
    second = client.put(url, json={"expected_version": 1, "days": ["wed"]}, headers=cc.auth)
    assert second.json()["data"]["goals"] == ["Back to work by March"] and second.json()["data"]["days"] == ["wed"]
    cleared = client.put(url, json={"expected_version": 2, "goals": []}, headers=cc.auth)
    assert cleared.json()["data"]["goals"] == []
    too_many = client.put(url, json={"expected_version": 3, "goals": ["a", "b", "c", "d"]}, headers=cc.auth)
    assert too_many.status_code == 422 and "goals" in too_many.text
