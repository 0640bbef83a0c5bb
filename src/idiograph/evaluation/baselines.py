"""Do personal baselines catch more, earlier, at the same false-alarm rate? Judged on ground truth (pure).

Rules are compared on the same series: each alarm at or after the true change counts towards detection
(first one: delay); alarms before it, or in series that never change, are false alarms per person-year
of unchanged observation. Priors are fitted on one half of the people and judged on the other.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from idiograph.baselines.intervals import Scale, to_model
from idiograph.baselines.normal_normal import PersonSums, Prior, estimate_prior, interval_from_sums, population_interval
from idiograph.methods.change_detection import cusum_signals, design_cusum, design_ewma, ewma_step

YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Case:
    """One person's series of one measure, and when (if ever) it truly changed."""

    person: str
    code: str
    points: tuple[tuple[datetime, float], ...]  # time order
    change_at: datetime | None
    baseline: float | None = None  # the recovered baseline, for follow-up after discharge


@dataclass(frozen=True)
class RuleResult:
    rule: str
    series: int
    changed: int
    detected: int
    median_delay_days: float | None
    false_alarms: int
    person_years: float

    @property
    def detection_rate(self) -> float:
        return self.detected / self.changed if self.changed else math.nan

    @property
    def false_alarms_per_person_year(self) -> float:
        return self.false_alarms / self.person_years if self.person_years else math.nan


Alarms = Callable[[Case], list[int]]  # indices of the results that alarm


def score(rule: str, cases: Sequence[Case], alarms: Alarms) -> RuleResult:
    detected, delays, false, years, changed = 0, [], 0, 0.0, 0
    for c in cases:
        hits = alarms(c)
        times = [t for t, _ in c.points]
        end = c.change_at if c.change_at is not None and c.change_at <= times[-1] else times[-1]
        years += max((end - times[0]).total_seconds(), 0.0) / YEAR
        if c.change_at is not None and c.change_at <= times[-1]:
            changed += 1
            after = [times[i] for i in hits if times[i] >= c.change_at]
            if after:
                detected += 1
                delays.append((after[0] - c.change_at).total_seconds() / 86400)
        false += sum(1 for i in hits if c.change_at is None or times[i] < c.change_at)
    med = statistics.median(delays) if delays else None
    return RuleResult(rule, len(cases), changed, detected, med, false, years)


def fit_prior(cases: Sequence[Case], scale: Scale) -> Prior:
    return estimate_prior([PersonSums.of(to_model(v, scale) for _, v in c.points) for c in cases], scale)


def personal_point(prior: Prior, coverage: float) -> Alarms:
    """Each result against the EB interval from the person's earlier results (from the second result on)."""

    def alarms(c: Case) -> list[int]:
        out, sums = [], PersonSums(0, 0.0, 0.0)
        for i, (_, v) in enumerate(c.points):
            if i > 0 and interval_from_sums(prior, sums, coverage).outside(v):
                out.append(i)
            sums = sums.add(to_model(v, prior.scale))
        return out

    return alarms


def population_point(prior: Prior, coverage: float) -> Alarms:
    iv = population_interval(prior, coverage)
    return lambda c: [i for i, (_, v) in enumerate(c.points) if i > 0 and iv.outside(v)]


def personal_ewma(scale: Scale, lam: float, arl0: float, baseline: int, spacing_days: float = 1.0) -> Alarms:
    """The service's device rule: an EWMA started after ``baseline`` results from the person's own mean/SD."""
    limit = design_ewma(lam, arl0, "both")

    def alarms(c: Case) -> list[int]:
        xs = [to_model(v, scale) for _, v in c.points]
        if len(xs) <= baseline:
            return []
        base = xs[:baseline]
        mu = statistics.fmean(base)
        sd = statistics.stdev(base)
        if sd <= 0:
            return []
        out, z, var = [], 0.0, 0.0
        for i in range(baseline, len(xs)):
            gap = (c.points[i][0] - c.points[i - 1][0]).total_seconds() / 86400 / spacing_days
            z, var = ewma_step(z, var, (xs[i] - mu) / sd, lam, gap)
            if abs(z) > limit * math.sqrt(var):
                out.append(i)
                z, var = 0.0, 0.0
        return out

    return alarms


def matched_population(prior: Prior, cases: Sequence[Case], target: float) -> tuple[float, RuleResult]:
    """The population interval whose coverage gives (about) the same false alarms per person-year as
    ``target``: the fair comparison of detection at equal false-alarm rates."""
    lo, hi = 0.5, 0.999999
    best = score("population (matched)", cases, population_point(prior, hi))
    for _ in range(30):
        mid = (lo + hi) / 2
        r = score("population (matched)", cases, population_point(prior, mid))
        if r.false_alarms_per_person_year > target:
            lo = mid
        else:
            hi, best = mid, r
    return hi, best


def personal_cusum(sigma: float, k: float, arl0: float) -> Alarms:
    """The relapse rule: upper CUSUM on follow-up scores from the recovered baseline, in SEM units."""
    h = design_cusum(k, arl0, "upper")

    def alarms(c: Case) -> list[int]:
        assert c.baseline is not None
        return [s.index for s in cusum_signals([(v - c.baseline) / sigma for _, v in c.points], k, h, "upper")]

    return alarms


def threshold(cut: float) -> Alarms:
    """A fixed score threshold, e.g. PHQ-9 of 10 or more."""
    return lambda c: [i for i, (_, v) in enumerate(c.points) if v >= cut]


def population_upper(prior: Prior, coverage: float) -> Alarms:
    iv = population_interval(prior, coverage)
    return lambda c: [i for i, (_, v) in enumerate(c.points) if v > iv.upper]
