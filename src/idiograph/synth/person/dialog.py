"""DIALOG answers for the demo's community-team people (pure): when they are asked and what they answer.

A community team rates DIALOG with the person at the start of care and again at a review or at discharge; some
forms are not done (the person declined, the meeting ran out of time), so coverage is realistic, not complete.
Each person has a level of satisfaction with life (around 3.5-4.5 on the 1-7 scale at the start: routine data
give a mean near 4.6, SD 1.1, over all of care - Mosler, Priebe & Bird 2020), each life domain its own offset
(mental health and work lowest, accommodation and safety highest), the treatment items theirs. At the second
rating the level has moved by a modest amount that follows the person's PHQ-9 change (about 0.07 of a point per
PHQ-9 point improved), mental health most. The shares and offsets are the demo's choice, not a calibration.
Drawn from a stream of the demo's own, so every other demo figure is the same with or without it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

FIRST_DONE = 0.85  # rated at the first attended appointment
SECOND_DONE = 0.7  # rated again at the review or the last appointment before discharge
REVIEW_AFTER = timedelta(weeks=12)  # an open episode's review: the first attended appointment this long after the first
ITEM_MISSED = 0.03  # a form with the job-situation item left blank (its life-domain mean is then not scored)
LEVEL_MEAN, LEVEL_SD, LEVEL_RANGE = 4.0, 0.6, (2.2, 5.6)
LIFE_DOMAINS = {  # item code: offset from the person's level
    "dialog-01": -0.7,  # mental health
    "dialog-02": -0.2,  # physical health
    "dialog-03": -0.5,  # job situation
    "dialog-04": 0.4,  # accommodation
    "dialog-05": -0.2,  # leisure activities
    "dialog-06": 0.0,  # friendships
    "dialog-07": 0.3,  # partner/family
    "dialog-08": 0.5,  # personal safety
}
TREATMENT = {"dialog-09": 0.0, "dialog-10": -0.2, "dialog-11": 0.3}  # offsets from the treatment level
TREATMENT_MEAN, TREATMENT_SD = 4.9, 0.6
ITEM_SD = 0.9
PER_PHQ9_POINT = 0.07  # change in level per PHQ-9 point improved
CHANGE_SD = 0.25
MENTAL_HEALTH_WEIGHT = 1.5  # the mental-health item moves more than the level


@dataclass(frozen=True)
class Rating:
    """One DIALOG form: when it was rated and the answers by item code (None: left blank)."""

    at: datetime
    answers: dict[str, int | None]


def times(
    rng: np.random.Generator, attended: Sequence[datetime], discharged: bool, now: datetime
) -> list[datetime | None]:
    """When the person is rated: at the first attended appointment and at the review (an open episode: the first
    attended appointment 12 weeks or more after the first) or at the last one before discharge; None where the
    form was not done. Times are 30 minutes into the appointment, never after ``now``."""
    if not attended:
        return []
    first = attended[0] if rng.random() < FIRST_DONE else None
    if discharged:
        second = attended[-1] if len(attended) > 1 else None
    else:
        second = next((t for t in attended[1:] if t - attended[0] >= REVIEW_AFTER), None)
    if rng.random() >= SECOND_DONE:
        second = None
    out = [t + timedelta(minutes=30) if t is not None else None for t in (first, second)]
    return [t if t is None or t <= now else None for t in out]


def _items(rng: np.random.Generator, level: float, treatment: float, mental_shift: float) -> dict[str, int | None]:
    answers: dict[str, int | None] = {}
    for code, offset in LIFE_DOMAINS.items():
        extra = mental_shift if code == "dialog-01" else 0.0
        answers[code] = int(np.clip(np.rint(level + offset + extra + rng.normal(0, ITEM_SD)), 1, 7))
    for code, offset in TREATMENT.items():
        answers[code] = int(np.clip(np.rint(treatment + offset + rng.normal(0, ITEM_SD)), 1, 7))
    if rng.random() < ITEM_MISSED:
        answers["dialog-03"] = None
    return answers


def ratings(
    rng: np.random.Generator,
    when: Sequence[datetime | None],
    phq9: Sequence[tuple[datetime, float]],
) -> list[Rating]:
    """The person's DIALOG forms at ``when`` (from ``times``; None is skipped): a level drawn once, moved at a
    later rating by the PHQ-9 change from the first score to the latest one by then (no PHQ-9: a small drift)."""
    level = float(np.clip(rng.normal(LEVEL_MEAN, LEVEL_SD), *LEVEL_RANGE))
    treatment = float(np.clip(rng.normal(TREATMENT_MEAN, TREATMENT_SD), 1.5, 6.5))
    out: list[Rating] = []
    for k, at in enumerate(when):
        if at is None:
            continue
        change = 0.0
        if k > 0:
            by_then = [v for t, v in phq9 if t <= at]
            improved = phq9[0][1] - by_then[-1] if by_then else 0.0
            change = PER_PHQ9_POINT * improved + float(rng.normal(0.05, CHANGE_SD))
        shift = (MENTAL_HEALTH_WEIGHT - 1) * change
        out.append(Rating(at, _items(rng, level + change, treatment + change / 2, shift)))
    return out
