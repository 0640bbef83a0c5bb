"""Goal-Based Outcomes from the intake goals (Law & Jacob 2015; reliable change 3 points, Edbrooke-Childs et al.
2015): hand-worked changes, the 3-point boundary both ways, the window, and the person-level summary."""

from __future__ import annotations

from datetime import date

import pytest

from idiograph.intake import goal_outcomes as gbo
from idiograph.intake.definition import GOAL_MAX

D = date.fromisoformat


def test_the_intake_scale_is_the_gbo_scale() -> None:
    assert (gbo.GOAL_MIN, gbo.GOAL_MAX) == (0, GOAL_MAX) == (0, 10)


@pytest.mark.parametrize(
    ("first", "latest", "expected"),
    [
        (2, 5, "improved"),  # +3: reliable
        (2, 4, "no reliable change"),  # +2: not
        (7, 4, "deteriorated"),  # -3
        (7, 5, "no reliable change"),  # -2
        (0, 10, "improved"),
        (5, 5, "no reliable change"),
    ],
)
def test_the_three_point_boundary(first: int, latest: int, expected: str) -> None:
    g = gbo.goal_change(1, "sleep", [(D("2026-01-05"), first), (D("2026-03-01"), latest)])
    assert g is not None and g.change == latest - first and g.direction == expected


def test_first_and_latest_by_date_within_the_window() -> None:
    ratings = [(D("2026-03-01"), 6), (D("2026-01-05"), 2), (D("2026-02-01"), 9), (D("2026-05-01"), 10)]
    # in date order 2 (5 Jan), 9 (1 Feb), 6 (1 Mar), 10 (1 May); the window ends 1 Apr: first 2, latest 6
    g = gbo.goal_change(2, "work", ratings, start=D("2026-01-05"), end=D("2026-04-01"))
    assert g == gbo.GoalChange(2, "work", 2, 6, 3, 4, "improved")
    # only one rating in the window: no change, no judgement
    one = gbo.goal_change(2, "work", ratings, start=D("2026-04-02"))
    assert one == gbo.GoalChange(2, "work", 10, 10, 1, None, None)
    assert gbo.goal_change(2, "work", ratings, end=D("2025-12-31")) is None


def test_same_day_ratings_keep_the_order_recorded() -> None:
    g = gbo.goal_change(1, "x", [(D("2026-01-05"), 3), (D("2026-01-05"), 7)])
    assert g is not None and (g.first, g.latest, g.direction) == (3, 7, "improved")


@pytest.mark.parametrize("bad", [11, -1, 2.5, True, "4", None])
def test_a_rating_off_the_scale_is_refused_naming_the_goal(bad: object) -> None:
    with pytest.raises(ValueError, match=r"goal 3: rating 2: the rating must be a whole number from 0 to 10"):
        gbo.goal_change(3, "x", [(D("2026-01-05"), 3), (D("2026-02-05"), bad)])  # type: ignore[list-item]


def test_the_person_summary_by_hand() -> None:
    goals = [
        {
            "goal": "sleep",
            "ratings": [{"date": "2026-01-05", "rating": 2, "by": "a"}, {"date": "2026-03-01", "rating": 6, "by": "a"}],
        },
        {
            "goal": "work",
            "ratings": [{"date": "2026-01-05", "rating": 5, "by": "a"}, {"date": "2026-03-01", "rating": 4, "by": "a"}],
        },
        {"goal": "friends", "ratings": [{"date": "2026-01-05", "rating": 3, "by": "a"}]},
    ]
    s = gbo.from_intake(goals, start=D("2026-01-05"), end=D("2026-03-31"))
    # paired: sleep +4 (reliably improved), work -1; friends has one rating. Mean change (4 + -1) / 2 = 1.5
    assert s.paired == 2 and s.mean_change == 1.5
    assert s.any_reliably_improved and not s.any_reliably_deteriorated
    assert [g.number for g in s.goals] == [1, 2, 3]
    # the same goals ending before the review: nothing paired, no mean, nothing improved
    early = gbo.from_intake(goals, start=D("2026-01-05"), end=D("2026-02-28"))
    assert (early.paired, early.mean_change, early.any_reliably_improved) == (0, None, False)
    # a goal falling 3 points counts as reliably deteriorated
    worse = gbo.summarise([gbo.GoalChange(1, "x", 8, 5, 2, -3, "deteriorated")])
    assert worse.any_reliably_deteriorated and worse.mean_change == -3.0
