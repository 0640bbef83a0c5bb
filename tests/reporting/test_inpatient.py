"""Follow-up within 72 hours of inpatient discharge and readmission within 30 days, hand-worked at every threshold:
exactly 72 hours and 72 hours and a second, day 30 and day 31 (in England's days), overlapping and back-to-back
stays (transfers), windows still open, booked or missed follow-ups, and no discharge at all (not available)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from idiograph.reporting.inpatient import Contact, Rules, Stay, follow_up, readmission, spells, summary

START, END = date(2026, 3, 1), date(2026, 3, 31)
LATER = datetime(2026, 12, 1, tzinfo=UTC)  # every window long closed


def t(day: str, hh: int = 12, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hh, minute=mm, second=ss, tzinfo=UTC)


def stay(person: str, start: datetime, end: datetime | None, cls: str = "IMP") -> Stay:
    return Stay(person, start, end, cls)


def test_follow_up_at_exactly_72_hours_counts_and_one_second_later_does_not() -> None:
    out = t("2026-03-10")
    stays = [stay("a", t("2026-03-01"), out), stay("b", t("2026-03-01"), out), stay("c", t("2026-03-01"), out)]
    contacts = [
        Contact("a", out + timedelta(hours=72), "attended"),  # exactly 72:00:00
        Contact("b", out + timedelta(hours=72, seconds=1), "attended"),  # 72:00:01
        Contact("c", out, "attended"),  # at the discharge itself: not after it
    ]
    m = follow_up(stays, contacts, START, END, LATER)
    assert (m.numerator, m.denominator, m.window_still_open) == (1, 3, 0)
    one_minute_late = [Contact("a", out + timedelta(hours=72, minutes=1), "attended")]
    assert follow_up(stays[:1], one_minute_late, START, END, LATER).numerator == 0


def test_a_booked_missed_or_cancelled_follow_up_does_not_count() -> None:
    out = t("2026-03-10")
    stays = [stay(p, t("2026-03-01"), out) for p in "abcd"]
    contacts = [
        Contact("a", out + timedelta(hours=24), "booked"),
        Contact("b", out + timedelta(hours=24), "did_not_attend"),
        Contact("c", out + timedelta(hours=24), "cancelled_by_service"),
        Contact("d", out + timedelta(hours=24), "attended"),
        Contact("a", out - timedelta(hours=1), "attended"),  # on the ward, before discharge
    ]
    m = follow_up(stays, contacts, START, END, LATER)
    assert (m.numerator, m.denominator) == (1, 4)
    # Wilson 95% for 1 of 4 by hand: centre (0.25 + 0.4802)/1.9604 = 0.3725, half 1.96*sqrt(0.046875 + 0.060023)/1.9604
    # = 0.3268 -> [4.6, 69.9]
    assert m.as_dict()["rate"] == 25.0 and m.as_dict()["ci"] == [4.6, 69.9]


def test_a_discharge_whose_72_hours_are_not_over_is_not_judged_whatever_happened_so_far() -> None:
    out = t("2026-03-30")
    stays = [stay("a", t("2026-03-20"), out), stay("b", t("2026-03-20"), out)]
    contacts = [Contact("a", out + timedelta(hours=2), "attended")]
    just_before = out + timedelta(hours=72) - timedelta(seconds=1)
    m = follow_up(stays, contacts, START, END, just_before)
    assert (m.numerator, m.denominator, m.window_still_open) == (0, 0, 2)
    m = follow_up(stays, contacts, START, END, out + timedelta(hours=72))
    assert (m.numerator, m.denominator, m.window_still_open) == (1, 2, 0)


def test_a_transfer_joins_the_spell_and_is_neither_a_discharge_nor_a_readmission() -> None:
    # back to back: the second stay starts when the first ends; overlapping: starts before it ends
    stays = [
        stay("a", t("2026-03-01"), t("2026-03-05")),
        stay("a", t("2026-03-05"), t("2026-03-12")),
        stay("b", t("2026-03-01"), t("2026-03-08")),
        stay("b", t("2026-03-06"), t("2026-03-15")),
    ]
    joined = spells(stays)
    assert [(s.person, s.start, s.end, s.stays) for s in joined] == [
        ("a", t("2026-03-01"), t("2026-03-12"), 2),
        ("b", t("2026-03-01"), t("2026-03-15"), 2),
    ]
    contacts = [Contact("a", t("2026-03-06"), "attended")]  # after the first stay ended, but still in hospital
    assert (
        follow_up(stays, contacts, START, END, LATER).numerator,
        follow_up(stays, [], START, END, LATER).denominator,
    ) == (
        0,
        2,
    )
    r = readmission(stays, START, END, LATER)
    assert (r.numerator, r.denominator) == (0, 2)
    doc = summary(stays, contacts, START, END, LATER)
    assert doc["discharges"] == 2 and doc["transfers"] == 2


def test_a_stay_inside_a_longer_one_keeps_the_longer_ones_discharge() -> None:
    stays = [stay("a", t("2026-03-01"), t("2026-03-20")), stay("a", t("2026-03-05"), t("2026-03-07"), "NONAC")]
    [s] = spells(stays)
    assert (s.end, s.last_class, s.stays) == (t("2026-03-20"), "IMP", 2)


def test_readmission_on_day_30_counts_and_day_31_does_not_in_englands_days() -> None:
    out = t("2026-03-10", 23, 30)  # 23:30 GMT: 10 March in London
    base = [stay("a", t("2026-03-01"), out), stay("b", t("2026-03-01"), out), stay("c", t("2026-03-01"), out)]
    again = [
        stay("a", t("2026-04-09", 22, 59), t("2026-04-20")),  # 23:59 BST on 9 April: day 30
        stay("b", t("2026-04-09", 23, 0), t("2026-04-20")),  # 00:00 BST on 10 April: day 31
        stay("c", out + timedelta(minutes=1), t("2026-04-20")),  # a minute after discharge: day 0
    ]
    m = readmission(base + again, START, END, LATER)
    assert (m.numerator, m.denominator, m.window_still_open) == (2, 3, 0)


def test_a_discharge_whose_30_days_are_not_over_is_window_still_open() -> None:
    out = t("2026-03-10", 23, 30)  # day 30 is 9 April; it is over at midnight (BST) starting 10 April
    stays = [stay("a", t("2026-03-01"), out), stay("a", t("2026-03-20"), t("2026-03-25"))]
    last_moment = datetime(2026, 4, 9, 22, 59, 59, tzinfo=UTC)
    m = readmission(stays, date(2026, 3, 10), date(2026, 3, 10), last_moment)
    assert (m.numerator, m.denominator, m.window_still_open) == (0, 0, 1)
    m = readmission(stays, date(2026, 3, 10), date(2026, 3, 10), last_moment + timedelta(seconds=1))
    assert (m.numerator, m.denominator, m.window_still_open) == (1, 1, 0)


def test_non_acute_discharges_are_not_eligible_for_the_72_hour_follow_up_but_count_for_readmission() -> None:
    stays = [stay("a", t("2026-03-01"), t("2026-03-10"), "NONAC"), stay("b", t("2026-03-01"), t("2026-03-10"), "ACUTE")]
    m = follow_up(stays, [], START, END, LATER)
    assert (m.denominator, m.not_eligible) == (1, 1)
    assert readmission(stays, START, END, LATER).denominator == 2
    assert follow_up(stays, [], START, END, LATER, Rules(follow_up_classes=("NONAC",))).denominator == 1


def test_discharges_are_in_the_period_by_englands_day() -> None:
    # 31 March 23:30 UTC is 1 April 00:30 BST: outside March
    stays = [stay("a", t("2026-03-20"), t("2026-03-31", 23, 30)), stay("b", t("2026-03-20"), t("2026-03-31", 22, 30))]
    assert summary(stays, [], START, END, LATER)["discharges"] == 1


def test_no_discharge_with_an_end_is_not_available_never_zero() -> None:
    for stays in ([], [stay("a", t("2026-03-01"), None)], [stay("a", t("2026-01-01"), t("2026-02-01"))]):
        doc = summary(stays, [], START, END, LATER)
        assert doc["available"] is False
        assert doc["follow_up_72_hours"] is None and doc["readmission_30_days"] is None
    doc = summary([stay("a", t("2026-03-01"), t("2026-03-10"))], [], START, END, LATER)
    assert doc["available"] is True
    assert doc["follow_up_72_hours"] == {
        "numerator": 0,
        "denominator": 1,
        "rate": 0.0,
        "ci": [0.0, 79.3],
        "window_still_open": 0,
        "not_eligible": 0,
    }
    open_only = summary([stay("a", t("2026-03-01"), t("2026-03-30"))], [], START, END, t("2026-03-31"))
    assert open_only["available"] is True
    assert open_only["readmission_30_days"]["rate"] is None
    assert open_only["readmission_30_days"]["window_still_open"] == 1


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"stay\.end"):
        spells([stay("a", t("2026-03-10"), t("2026-03-01"))])
    with pytest.raises(ValueError, match=r"stay\.start"):
        spells([Stay("a", datetime(2026, 3, 1), None)])
    with pytest.raises(ValueError, match="to:"):
        summary([], [], END, START, LATER)
    with pytest.raises(ValueError, match="as_of"):
        readmission([], START, END, datetime(2026, 3, 1))
