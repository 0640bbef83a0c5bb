"""Goal-Based Outcomes (GBO) from the intake goals and their ratings over time (pure; mypy --strict).

Law D, Jacob J (2015) *Goals and Goal Based Outcomes (GBOs)*, Child Outcomes Research Consortium
(CORC): each goal is the person's own, rated 0-10 for how close they are to reaching it (10 = goal reached). The
intake already keeps exactly that scale (``intake.definition.GOAL_MAX`` = 10; each goal's ratings in date order,
the first at intake), so this module reads those ratings: there is no second goal store.

Reliable change on one goal: a change of 3 or more points (Edbrooke-Childs J, Jacob J, Law D, Deighton J,
Wolpert M 2015, Child and Adolescent Mental Health; parent-reported GBOs in the CORC data set: reliable change
index 2.45 points, so a whole-point change of 3 or more; the 2015 paper is cited by CORC at corc.uk.net, "New
research allows us to be increasingly confident that measuring goal progress is a robust way of assessing
change"). A rise is an improvement (nearer the goal).

Per goal: the first and the latest rating in a window (a referral: from its start to its end, both included,
as the talking-therapies paired-score rule). Per person: the mean change over goals with two or more ratings,
and whether any goal reliably improved or deteriorated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

GOAL_MIN, GOAL_MAX = 0, 10
RELIABLE_POINTS = 3  # Edbrooke-Childs et al. 2015: RCI 2.45 -> 3 whole points
Direction = Literal["improved", "deteriorated", "no reliable change"]


@dataclass(frozen=True)
class GoalChange:
    """One goal's first and latest rating in the window; ``change`` and ``direction`` None with one rating."""

    number: int  # from 1, as the intake numbers them
    goal: str
    first: int
    latest: int
    n: int  # ratings in the window
    change: int | None
    direction: Direction | None


@dataclass(frozen=True)
class GoalSummary:
    """A person's (one referral's) goals together."""

    goals: tuple[GoalChange, ...]
    paired: int  # goals with a first and a latest rating (two or more in the window)
    mean_change: float | None  # mean of the paired goals' changes; None with none paired
    any_reliably_improved: bool
    any_reliably_deteriorated: bool


def _rating(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not GOAL_MIN <= value <= GOAL_MAX:
        raise ValueError(f"{where}: the rating must be a whole number from {GOAL_MIN} to {GOAL_MAX}, not {value!r}")
    return value


def direction(change: int) -> Direction:
    """A goal's change judged by the GBO reliable-change criterion (3 or more points either way)."""
    if change >= RELIABLE_POINTS:
        return "improved"
    if change <= -RELIABLE_POINTS:
        return "deteriorated"
    return "no reliable change"


def goal_change(
    number: int, goal: str, ratings: Sequence[tuple[date, int]], start: date | None = None, end: date | None = None
) -> GoalChange | None:
    """First-to-latest change of one goal over its ratings dated ``start``..``end`` (either open), in date order
    (ratings on the same day keep the order given: the later recorded counts as later); None with none there."""
    for i, (_, value) in enumerate(ratings, start=1):
        _rating(value, f"goal {number}: rating {i}")
    kept = [(on, value) for on, value in ratings if (start is None or on >= start) and (end is None or on <= end)]
    if not kept:
        return None
    kept.sort(key=lambda r: r[0])  # stable: same-day ratings stay in the order recorded
    first, latest = kept[0][1], kept[-1][1]
    if len(kept) < 2:
        return GoalChange(number, goal, first, latest, 1, None, None)
    return GoalChange(number, goal, first, latest, len(kept), latest - first, direction(latest - first))


def summarise(goals: Sequence[GoalChange]) -> GoalSummary:
    """The person-level summary: mean change across paired goals; any goal reliably improved or deteriorated."""
    paired = [g for g in goals if g.change is not None]
    changes = [g.change for g in paired if g.change is not None]
    return GoalSummary(
        tuple(goals),
        len(paired),
        sum(changes) / len(changes) if changes else None,
        any(g.direction == "improved" for g in paired),
        any(g.direction == "deteriorated" for g in paired),
    )


def from_intake(goals: Sequence[Mapping[str, Any]], start: date | None = None, end: date | None = None) -> GoalSummary:
    """The summary of an intake record's ``goals`` JSON ([{"goal", "ratings": [{"date", "rating", "by"}]}])."""
    out = []
    for number, g in enumerate(goals, start=1):
        ratings = [(date.fromisoformat(str(r["date"])), r["rating"]) for r in g.get("ratings") or []]
        found = goal_change(number, str(g.get("goal", "")), ratings, start, end)
        if found is not None:
            out.append(found)
    return summarise(out)
