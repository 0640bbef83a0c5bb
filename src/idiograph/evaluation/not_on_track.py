"""How well a not-on-track model warns, judged on held-out episodes whose ends are known (pure).

Each held-out episode with at least three scores (so that a warning can come before the end) has an outcome
by the instrument's one reliable-change rule (``measures.change.criterion``: PHQ-9 a change of 6 or more
points, GAD-7 4): *deteriorated* (the last score reliably worse than the intake), *reliably improved*, or
neither; a *non-responder* is anyone not reliably improved. A deteriorator *first reached* reliable
deterioration at the first score that was reliably worse than the intake. Sessions 2..n are judged; a flag
is a score above the model's upper boundary. Reported overall and by ethnic group, sex and age band
(CLINICAL.md §5), every rate as k of n with its Wilson interval (DESIGN rule 9):

* deteriorators detected: flagged at or before the score at which they first reached reliable
  deterioration (the window is the episode up to that score; a later flag is no warning); weeks of warning
  from the first flag to that score; "ahead": flagged strictly before it;
* the placebo-onset rates: the same two rules (at or before; strictly before) applied to a fake "first
  reached" score drawn (seeded, at the relative positions of the true ones) in episodes that never reached
  reliable deterioration at any score;
* non-responders flagged before their last score;
* false alarms: episodes that went on to improve reliably, flagged before their last score;
* calibration: the share of judged scores above the boundary, against the nominal tail.

A model is judged through a ``Judge`` (its own boundary), or, to compare rules at equal false alarms,
through each judged score's *tail probability*: the one-sided tail at which the score lies exactly on the
boundary, so that the score is flagged at tail ``t`` exactly when its tail probability is below ``t``.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from idiograph.evaluation.placebo import PLACEBO_SEED, positions
from idiograph.evaluation.rates import Share
from idiograph.methods.reliable_change import Criterion
from idiograph.monitoring.recovery.expected import Judgement

Flags = Sequence[bool | None]  # sessions 2..n: flagged, not flagged, or not judged (None)
Probabilities = Sequence[float | None]  # sessions 2..n: the tail probability of each judged score


class Judge(Protocol):
    tail: float

    def judge(self, scores: Sequence[float], features: Sequence[float]) -> Judgement | None: ...


@dataclass(frozen=True)
class HeldOut:
    scores: tuple[float, ...]
    days: tuple[float, ...]  # days since the intake score
    features: tuple[float, ...]
    groups: dict[str, str] = field(default_factory=dict)  # e.g. {"ethnic group": "Asian", "sex": "female"}


@dataclass(frozen=True)
class Outcome:
    """How an episode ended by the instrument's reliable-change rule, and when it first deteriorated."""

    deteriorated: bool
    improved: bool
    reached: int | None  # the session (1 = intake) of the first score reliably worse than intake, if any


def outcome(scores: Sequence[float], rule: Criterion) -> Outcome:
    """Reliable deterioration and improvement from the intake (first) score, by ``rule`` (e.g. PHQ-9 6 points)."""
    end = rule.judge(scores[0], scores[-1]).direction
    reached = next(
        (s for s in range(2, len(scores) + 1) if rule.judge(scores[0], scores[s - 1]).direction == "deteriorated"),
        None,
    )
    return Outcome(end == "deteriorated", end == "improved", reached)


@dataclass
class Tally:
    episodes: int = 0
    deteriorated: int = 0
    deteriorated_flagged: int = 0  # at or before the score that first reached reliable deterioration
    deteriorated_ahead: int = 0  # strictly before it
    non_responders: int = 0
    non_responders_flagged: int = 0
    improved: int = 0
    improved_flagged: int = 0
    placebo: int = 0  # episodes that never reached reliable deterioration, with a fake "first reached" score
    placebo_flagged: int = 0  # flagged at or before it
    placebo_ahead: int = 0  # strictly before it
    judged_scores: int = 0
    scores_above: int = 0
    warning_weeks: list[float] = field(default_factory=list)  # detected deteriorators

    def add(self, other: Tally) -> None:
        for f in dataclasses.fields(self):
            if f.name != "warning_weeks":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.warning_weeks += other.warning_weeks

    @property
    def deteriorators_detected(self) -> Share:
        return Share(self.deteriorated_flagged, self.deteriorated)

    @property
    def deteriorators_ahead(self) -> Share:
        return Share(self.deteriorated_ahead, self.deteriorated)

    @property
    def placebo_detected(self) -> Share:
        return Share(self.placebo_flagged, self.placebo)

    @property
    def placebo_ahead_detected(self) -> Share:
        return Share(self.placebo_ahead, self.placebo)

    @property
    def non_responders_detected(self) -> Share:
        return Share(self.non_responders_flagged, self.non_responders)

    @property
    def false_alarms(self) -> Share:
        return Share(self.improved_flagged, self.improved)

    @property
    def calibration(self) -> Share:
        return Share(self.scores_above, self.judged_scores)

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


def _first(flags: Flags, last: int) -> int | None:
    """The first flagged session from 2 to ``last``."""
    return next((s for s in range(2, last + 1) if flags[s - 2]), None)


def tally(course: HeldOut, end: Outcome, flags: Flags, placebo_at: int | None = None) -> Tally:
    """One held-out episode: its outcome, whether and when it was flagged, and its judged scores."""
    n = len(course.scores)
    t = Tally(episodes=1, deteriorated=int(end.deteriorated), improved=int(end.improved))
    t.non_responders = int(not end.improved)
    t.judged_scores = sum(1 for f in flags if f is not None)
    t.scores_above = sum(1 for f in flags if f)
    if _first(flags, n - 1) is not None:
        t.non_responders_flagged, t.improved_flagged = int(not end.improved), int(end.improved)
    if end.deteriorated and end.reached is not None:
        first = _first(flags, end.reached)
        if first is not None:
            t.deteriorated_flagged, t.deteriorated_ahead = 1, int(first < end.reached)
            t.warning_weeks.append((course.days[end.reached - 1] - course.days[first - 1]) / 7)
    if placebo_at is not None:
        first = _first(flags, placebo_at)
        t.placebo, t.placebo_flagged = 1, int(first is not None)
        t.placebo_ahead = int(first is not None and first < placebo_at)
    return t


@dataclass(frozen=True)
class Cohort:
    """The held-out episodes that can be judged (three scores or more), their outcomes and placebo scores."""

    courses: tuple[HeldOut, ...]
    outcomes: tuple[Outcome, ...]
    placebo: tuple[int | None, ...]  # the fake "first reached" session, for episodes that never deteriorated

    @classmethod
    def of(cls, courses: Iterable[HeldOut], rule: Criterion, placebo_seed: int = PLACEBO_SEED) -> Cohort:
        kept = tuple(c for c in courses if len(c.scores) >= 3)
        ends = tuple(outcome(c.scores, rule) for c in kept)
        true = [(e.reached - 1) / (len(c.scores) - 1) for c, e in zip(kept, ends, strict=True) if e.reached is not None]
        never = [i for i, e in enumerate(ends) if e.reached is None]
        fake: list[int | None] = [None] * len(kept)
        for i, f in zip(never, positions(true, len(never), placebo_seed), strict=True):
            n = len(kept[i].scores)
            fake[i] = min(n, max(2, 1 + math.floor(f * (n - 1) + 0.5)))
        return cls(kept, ends, tuple(fake))


def flags_of(model: Judge, course: HeldOut) -> list[bool | None]:
    """Sessions 2..n judged by the model at its own boundary."""
    out: list[bool | None] = []
    for s in range(2, len(course.scores) + 1):
        j = model.judge(course.scores[:s], course.features)
        out.append(None if j is None else j.off_track)
    return out


def assess(model: Judge, course: HeldOut, rule: Criterion, placebo_at: int | None = None) -> Tally:
    """One held-out episode judged by ``model`` at its own boundary."""
    return tally(course, outcome(course.scores, rule), flags_of(model, course), placebo_at)


def flags_at(probabilities: Probabilities, tail: float) -> list[bool | None]:
    """Flags at one-sided tail ``tail`` from each judged score's tail probability."""
    return [None if p is None else p < tail for p in probabilities]


def tallies(cohort: Cohort, flags: Sequence[Flags]) -> dict[tuple[str, str], Tally]:
    """Tallies overall (key ("all", "all")) and per (dimension, group)."""
    out: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for c, end, fake, f in zip(cohort.courses, cohort.outcomes, cohort.placebo, flags, strict=True):
        t = tally(c, end, f, fake)
        out[("all", "all")].add(t)
        for dim, group in c.groups.items():
            out[(dim, group)].add(t)
    return dict(out)


def evaluate(
    model: Judge, courses: Iterable[HeldOut], rule: Criterion, placebo_seed: int = PLACEBO_SEED
) -> dict[tuple[str, str], Tally]:
    """Every judgeable held-out episode judged by ``model`` at its own boundary."""
    cohort = Cohort.of(courses, rule, placebo_seed)
    return tallies(cohort, [flags_of(model, c) for c in cohort.courses])


def tail_for_false_alarms(cohort: Cohort, probabilities: Sequence[Probabilities], allowed: int) -> float:
    """The largest tail at which no more than ``allowed`` of the reliably improved episodes are flagged before
    their last score: the operating point at which a rule has (as nearly as ties allow) a given rule's false
    alarms."""
    first: list[float] = []
    for c, end, ps in zip(cohort.courses, cohort.outcomes, probabilities, strict=True):
        if end.improved:
            judged = [p for p in ps[: len(c.scores) - 2] if p is not None]  # sessions 2..n-1
            first.append(min(judged) if judged else math.inf)
    first.sort()
    if allowed >= len(first):
        return 0.5
    return min(first[allowed], 0.5)
