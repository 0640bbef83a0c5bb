"""Community outcome measures: DIALOG and Goal-Based Outcomes paired-score coverage and change, hand-worked, with
the talking-therapies paired rule's edges (score on the end day counts, after discharge or before referral does
not) and disclosure control."""

from __future__ import annotations

from datetime import date

import pytest

from idiograph.reporting.community_outcomes import CommunityReferral, summary
from idiograph.reporting.disclosure import DisclosureConfig

D = date.fromisoformat
EXACT = DisclosureConfig(suppress_max=0, round_to=1)  # no suppression or rounding: the hand-worked counts
START, END = D("2026-04-01"), D("2026-06-30")


def goal(words: str, *ratings: tuple[str, int]) -> dict[str, object]:
    return {"goal": words, "ratings": [{"date": d, "rating": v, "by": "x"} for d, v in ratings]}


A = CommunityReferral(
    "A",
    "cmht",
    D("2026-01-10"),
    D("2026-05-10"),
    # 3.0 then 3.5 then 4.5 ON the end day (counts); 7.0 after discharge (does not): change 4.5 - 3.0 = +1.5
    ((D("2026-01-15"), 3.0), (D("2026-03-01"), 3.5), (D("2026-05-10"), 4.5), (D("2026-06-01"), 7.0)),
    # goal 1: 2 -> 6 (+4, reliably improved); goal 2: 5 -> 4 (-1). Person mean change (4 - 1) / 2 = 1.5
    (goal("sleep", ("2026-01-15", 2), ("2026-05-01", 6)), goal("work", ("2026-01-15", 5), ("2026-05-01", 4))),
)
B = CommunityReferral(
    "B",
    "cmht",
    D("2026-02-01"),
    D("2026-06-30"),
    # 1.0 before the referral (does not count): 4.0 -> 3.0, change -1.0
    ((D("2025-12-01"), 1.0), (D("2026-02-10"), 4.0), (D("2026-06-20"), 3.0)),
    (goal("friends", ("2026-02-10", 4), ("2026-06-01", 6)),),  # +2: not reliable; person mean 2.0
)
C = CommunityReferral(  # ended on the first day of the period: counts as ended; one score each: not paired
    "C", "unknown", D("2026-01-01"), D("2026-04-01"), ((D("2026-03-01"), 5.0),), (goal("home", ("2026-01-05", 3)),)
)
OUT = [
    CommunityReferral("D", "talking_therapies", D("2026-01-01"), D("2026-05-01"), A.dialog, A.goals),  # not community
    CommunityReferral("E", "cmht", D("2026-01-01"), D("2026-07-01"), A.dialog, A.goals),  # ended after the period
    CommunityReferral("F", "cmht", D("2026-01-01"), None, A.dialog, A.goals),  # still open
    CommunityReferral("G", "cmht", D("2026-01-01"), D("2026-03-31"), A.dialog, A.goals),  # ended before it
]


def test_hand_worked_coverage_and_change() -> None:
    doc = summary([A, B, C, *OUT], START, END, config=EXACT)
    assert doc["ended"] == 3  # A, B, C
    d = doc["dialog"]
    # paired 2 of 3: 66.7%, Wilson (2, 3) = 20.8% to 93.9%
    assert (d["ended"], d["paired"], d["suppressed"]) == (3, 2, False)
    assert d["coverage"] == {"rate": 66.7, "ci": [20.8, 93.9]}
    # mean change (1.5 + -1.0) / 2 = 0.25; sd 1.7678, t(0.975, 1) = 12.706: 0.25 +/- 15.88
    assert d["mean_change"] == {"value": 0.25, "ci": [-15.63, 16.13]}
    assert d["reliable_change"] is None
    g = doc["gbo"]
    assert (g["ended"], g["paired"]) == (3, 2) and g["coverage"] == {"rate": 66.7, "ci": [20.8, 93.9]}
    # one of the two paired people (A) has a goal reliably improved: 50%, Wilson (1, 2) = 9.5% to 90.5%
    ri = g["reliably_improved"]
    assert (ri["numerator"], ri["denominator"], ri["rate"], ri["ci"]) == (1, 2, 50.0, [9.5, 90.5])
    # person mean changes 1.5 and 2.0: 1.75; sd 0.3536, 1.75 +/- 3.18
    assert g["mean_change"] == {"value": 1.75, "ci": [-1.43, 4.93]}
    assert doc["period"] == {"from": "2026-04-01", "to": "2026-06-30"}
    assert "talking_therapies" in doc["scope"]


def test_small_numbers_are_withheld_by_default() -> None:
    doc = summary([A, B, C], START, END)
    assert doc["ended"] is None
    for m in ("dialog", "gbo"):
        assert doc[m]["ended"] is None and doc[m]["paired"] is None and doc[m]["suppressed"]
        assert doc[m]["coverage"] is None and doc[m]["mean_change"] is None
    assert doc["gbo"]["reliably_improved"]["rate"] is None


def test_counts_are_rounded_and_rates_come_from_the_unrounded_counts() -> None:
    twelve = [CommunityReferral(f"A{i}", "cmht", A.referral_date, A.end_date, A.dialog, A.goals) for i in range(12)]
    eight = [CommunityReferral(f"C{i}", "cmht", C.referral_date, C.end_date, C.dialog, C.goals) for i in range(8)]
    doc = summary([*twelve, *eight], START, END)
    d = doc["dialog"]
    assert (doc["ended"], d["ended"], d["paired"]) == (20, 20, 10)  # 12 paired rounds to 10
    assert d["coverage"]["rate"] == 60.0  # 12 / 20, not 10 / 20
    assert d["mean_change"] == {"value": 1.5, "ci": [1.5, 1.5]}
    ri = doc["gbo"]["reliably_improved"]
    assert (ri["numerator"], ri["denominator"], ri["rate"]) == (10, 10, 100.0)


def test_bad_input_is_refused_naming_what() -> None:
    with pytest.raises(ValueError, match="to: 2026-03-01 is before from: 2026-04-01"):
        summary([A], START, D("2026-03-01"))
    bad = CommunityReferral("Z", "cmht", D("2026-01-01"), D("2026-05-01"), ((D("2026-02-01"), 8.0),))
    with pytest.raises(ValueError, match=r"Z: dialog: 8\.0 on 2026-02-01 is outside 1-7"):
        summary([bad], START, END)
