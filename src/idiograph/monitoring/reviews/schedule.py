"""Formal reviews at fixed weeks of treatment (default weeks 4 and 8; per pathway in monitoring.yaml) (pure).

Week 0 is the first treatment contact, taken as the episode's first score (the intake measure). A review
is *upcoming* until ``due_before_days`` before its date, then *due*, and *overdue* once more than
``overdue_after_days`` have passed after it without being recorded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Status = Literal["upcoming", "due", "overdue", "done"]


@dataclass(frozen=True)
class ReviewSlot:
    week: int
    due: date
    status: Status


def schedule(
    start: date,
    weeks: tuple[int, ...],
    today: date,
    done: Collection[int] = (),
    due_before_days: int = 7,
    overdue_after_days: int = 7,
) -> list[ReviewSlot]:
    out = []
    for w in weeks:
        due = start + timedelta(weeks=w)
        status: Status
        if w in done:
            status = "done"
        elif today > due + timedelta(days=overdue_after_days):
            status = "overdue"
        elif today >= due - timedelta(days=due_before_days):
            status = "due"
        else:
            status = "upcoming"
        out.append(ReviewSlot(w, due, status))
    return out
