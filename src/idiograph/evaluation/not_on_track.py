"""How well a not-on-track model warns, judged on held-out episodes whose ends are known (pure).

For each held-out episode with at least three scores (so that there is a score between intake and the
last at which a warning could still help): the outcome from first to last score by the instrument's
reliable-change threshold (deteriorated, reliably improved, or not — a non-responder), and the first
session from 2 to n-1 at which the score was above the model's upper boundary. Reported overall and by
ethnic group, sex and age band (CLINICAL.md §5):

* detection of deteriorators and of non-responders (share flagged before their last score);
* median weeks of warning (from the first flag to the last score) among flagged non-responders;
* false alarms: the share of episodes that went on to improve reliably that were flagged;
* calibration: the share of all judged scores (sessions 2..n) above the boundary, against the nominal tail.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from idiograph.monitoring.recovery.expected import Judgement


class Judge(Protocol):
    tail: float

    def judge(self, scores: Sequence[float], features: Sequence[float]) -> Judgement | None: ...


@dataclass(frozen=True)
class HeldOut:
    scores: tuple[float, ...]
    days: tuple[float, ...]  # days since the intake score
    features: tuple[float, ...]
    groups: dict[str, str] = field(default_factory=dict)  # e.g. {"ethnic group": "Asian", "sex": "female"}


@dataclass
class Tally:
    episodes: int = 0
    deteriorated: int = 0
    deteriorated_flagged: int = 0
    non_responders: int = 0
    non_responders_flagged: int = 0
    improved: int = 0
    improved_flagged: int = 0
    judged_scores: int = 0
    scores_above: int = 0
    warning_weeks: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("episodes", "deteriorated", "deteriorated_flagged", "non_responders", "non_responders_flagged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("improved", "improved_flagged", "judged_scores", "scores_above"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.warning_weeks += other.warning_weeks

    @staticmethod
    def _pct(a: int, b: int) -> float | None:
        return None if b == 0 else 100.0 * a / b

    @property
    def detection_deteriorated(self) -> float | None:
        return self._pct(self.deteriorated_flagged, self.deteriorated)

    @property
    def detection_non_responders(self) -> float | None:
        return self._pct(self.non_responders_flagged, self.non_responders)

    @property
    def false_alarm(self) -> float | None:
        return self._pct(self.improved_flagged, self.improved)

    @property
    def above_boundary(self) -> float | None:
        return self._pct(self.scores_above, self.judged_scores)

    @property
    def median_warning_weeks(self) -> float | None:
        return statistics.median(self.warning_weeks) if self.warning_weeks else None


def assess(model: Judge, course: HeldOut, reliable: float) -> Tally:
    """One held-out episode: its outcome, whether and when it was flagged, and its judged scores."""
    t = Tally(episodes=1)
    scores = course.scores
    change = scores[-1] - scores[0]
    deteriorated = change > reliable
    improved = -change > reliable
    t.deteriorated, t.improved = int(deteriorated), int(improved)
    t.non_responders = int(not improved)
    first_flag: int | None = None
    for s in range(2, len(scores) + 1):
        j = model.judge(scores[:s], course.features)
        if j is None:
            continue
        t.judged_scores += 1
        if j.off_track:
            t.scores_above += 1
            if first_flag is None and s < len(scores):
                first_flag = s
    if first_flag is not None:
        t.deteriorated_flagged = int(deteriorated)
        t.non_responders_flagged = int(not improved)
        t.improved_flagged = int(improved)
        if not improved:
            t.warning_weeks.append((course.days[-1] - course.days[first_flag - 1]) / 7)
    return t


def evaluate(model: Judge, courses: Iterable[HeldOut], reliable: float) -> dict[tuple[str, str], Tally]:
    """Tallies overall (key ("all", "all")) and per (dimension, group)."""
    out: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for c in courses:
        if len(c.scores) < 3:
            continue
        t = assess(model, c, reliable)
        out[("all", "all")].add(t)
        for dim, group in c.groups.items():
            out[(dim, group)].add(t)
    return dict(out)
