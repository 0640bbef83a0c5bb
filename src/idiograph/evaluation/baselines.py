"""Do personal baselines catch more, earlier, at the same false-alarm rate? Judged on ground truth (pure).

Rules are judged on the same series (DESIGN rule 9):

* a true change is *detected within W days* when an alarm falls from the change to W days after it
  (W = 30 and 60 by default); "any time" (the first alarm at or after the change, however late) is kept
  only to show how much a missing window inflates a rate;
* every alarm before the change, or in a series that never changed, is a false alarm, counted per
  person-year of unchanged observation (with Garwood's exact interval);
* the *placebo-onset rate*: the same detection rule applied to a fake onset drawn (seeded) in each series
  that never changed, at the relative position of a true change: what chance alone scores;
* a comparator is compared at the personal rule's false alarms: ``match`` moves its level until it has no
  more false alarms per person-year than the personal rule, as nearly as ties allow.

Priors are fitted on one half of the people and judged on the other.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scipy.stats import norm

from idiograph.baselines.intervals import Scale, to_model, z_for
from idiograph.baselines.normal_normal import PersonSums, Prior, estimate_prior, predictive
from idiograph.evaluation.placebo import PLACEBO_SEED, positions
from idiograph.evaluation.rates import PerYear, Share
from idiograph.methods.change_detection import cusum_signals, design_cusum, design_ewma, ewma_step

YEAR = 365.25 * 86400
WINDOWS = (30, 60)


@dataclass(frozen=True)
class Case:
    """One person's series of one measure, and when (if ever) it truly changed."""

    person: str
    code: str
    points: tuple[tuple[datetime, float], ...]  # time order
    change_at: datetime | None
    baseline: float | None = None  # the recovered baseline, for follow-up after discharge

    @property
    def changed(self) -> bool:
        """Whether the true change falls within the series (a later one is not observed)."""
        return self.change_at is not None and self.change_at <= self.points[-1][0]

    def unchanged_years(self) -> float:
        """Person-years observed before the change (all of them when it never changed)."""
        t0 = self.points[0][0]
        end = self.change_at if self.changed and self.change_at is not None else self.points[-1][0]
        return max((end - t0).total_seconds(), 0.0) / YEAR

    def false_alarm(self, t: datetime) -> bool:
        return self.change_at is None or t < self.change_at


@dataclass(frozen=True)
class Panel:
    """The series a rule is judged on, with the placebo onset drawn for each one that never changed."""

    cases: tuple[Case, ...]
    placebo: tuple[datetime | None, ...]  # aligned with ``cases``
    seed: int = PLACEBO_SEED

    @classmethod
    def of(cls, cases: Sequence[Case], seed: int = PLACEBO_SEED) -> Panel:
        """Fake onsets in series that never changed, at positions drawn from the true changes' positions."""

        def span(c: Case) -> float:
            return (c.points[-1][0] - c.points[0][0]).total_seconds()

        true = [
            ((c.change_at - c.points[0][0]).total_seconds() / span(c)) if span(c) > 0 else 0.0
            for c in cases
            if c.changed and c.change_at is not None
        ]
        null = [i for i, c in enumerate(cases) if c.change_at is None and span(c) > 0]
        onsets: list[datetime | None] = [None] * len(cases)
        for i, f in zip(null, positions(true, len(null), seed), strict=True):
            c = cases[i]
            onsets[i] = c.points[0][0] + timedelta(seconds=f * span(c))
        return cls(tuple(cases), tuple(onsets), seed)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    series: int
    changed: int
    detected: int  # any alarm at or after the change, however late (no window)
    median_delay_days: float | None  # to the first such alarm
    false_alarms: int
    person_years: float
    windows: tuple[int, ...] = WINDOWS
    within: tuple[int, ...] = ()  # detected within each window
    placebo_series: int = 0
    placebo_within: tuple[int, ...] = ()  # placebo onsets "detected" within each window
    placebo_any: int = 0  # placebo onsets followed by any alarm, however late
    delays: tuple[float, ...] = field(default=(), repr=False)  # days to the first alarm after each change

    @property
    def detection_rate(self) -> float:
        return self.detected / self.changed if self.changed else math.nan

    @property
    def false_alarms_per_person_year(self) -> float:
        return self.false_alarms / self.person_years if self.person_years else math.nan

    def detection(self, window: int | None = None) -> Share:
        """Changes detected within ``window`` days (any time when None)."""
        k = self.detected if window is None else self.within[self.windows.index(window)]
        return Share(k, self.changed)

    def placebo(self, window: int | None = None) -> Share:
        """Placebo onsets "detected" by the same rule within ``window`` days (any time when None)."""
        k = self.placebo_any if window is None else self.placebo_within[self.windows.index(window)]
        return Share(k, self.placebo_series)

    @property
    def false_alarm_rate(self) -> PerYear:
        return PerYear(self.false_alarms, self.person_years)

    def median_delay(self, window: int) -> float | None:
        """Median days to detection among the changes detected within ``window`` days."""
        inside = [d for d in self.delays if d <= window]
        return statistics.median(inside) if inside else None


Alarms = Callable[[Case], list[int]]  # indices of the results that alarm
Statistic = Callable[[Case], list[float]]  # one value per result: a rule alarms where it is above its level


def _first_after(times: Sequence[datetime], hits: Sequence[int], start: datetime) -> datetime | None:
    return next((times[i] for i in hits if times[i] >= start), None)


def score(rule: str, panel: Panel | Sequence[Case], alarms: Alarms, windows: Sequence[int] = WINDOWS) -> RuleResult:
    """Detection within each window, any time, and on placebo onsets; false alarms per unchanged person-year."""
    p = panel if isinstance(panel, Panel) else Panel.of(panel)
    wins = tuple(windows)
    within, placebo_within = [0] * len(wins), [0] * len(wins)
    detected, placebo_series, placebo_any, false, years, changed = 0, 0, 0, 0, 0.0, 0
    delays: list[float] = []
    for c, fake in zip(p.cases, p.placebo, strict=True):
        hits = alarms(c)
        times = [t for t, _ in c.points]
        years += c.unchanged_years()
        false += sum(1 for i in hits if c.false_alarm(times[i]))
        if c.changed and c.change_at is not None:
            changed += 1
            first = _first_after(times, hits, c.change_at)
            if first is not None:
                detected += 1
                delays.append((first - c.change_at).total_seconds() / 86400)
                for j, w in enumerate(wins):
                    within[j] += first <= c.change_at + timedelta(days=w)
        if fake is not None:
            placebo_series += 1
            first = _first_after(times, hits, fake)
            if first is not None:
                placebo_any += 1
                for j, w in enumerate(wins):
                    placebo_within[j] += first <= fake + timedelta(days=w)
    med = statistics.median(delays) if delays else None
    return RuleResult(
        rule,
        len(p.cases),
        changed,
        detected,
        med,
        false,
        years,
        wins,
        tuple(within),
        placebo_series,
        tuple(placebo_within),
        placebo_any,
        tuple(delays),
    )


def memo(stat: Statistic) -> Statistic:
    """A statistic computed once per series (the same series are scored at many levels)."""
    seen: dict[int, tuple[Case, list[float]]] = {}

    def cached(c: Case) -> list[float]:
        hit = seen.get(id(c))
        if hit is None or hit[0] is not c:
            hit = seen[id(c)] = (c, stat(c))
        return hit[1]

    return cached


def above(stat: Statistic, level: float) -> Alarms:
    """The rule that alarms at every result whose statistic is above ``level``."""
    return lambda c: [i for i, s in enumerate(stat(c)) if s > level]


def match(
    name: Callable[[float], str],
    panel: Panel,
    stat: Statistic,
    target: float,
    windows: Sequence[int] = WINDOWS,
) -> tuple[float, RuleResult]:
    """The lowest level at which ``stat`` gives no more false alarms per person-year than ``target`` (the
    personal rule's), and the rule scored there: the fair comparison of detection at equal false alarms."""
    stat = memo(stat)
    false: list[float] = []
    years = 0.0
    for c in panel.cases:
        years += c.unchanged_years()
        false += [s for (t, _), s in zip(c.points, stat(c), strict=True) if c.false_alarm(t) and s > -math.inf]
    false.sort(reverse=True)
    allowed = math.floor(target * years + 1e-9) if math.isfinite(target) else len(false)
    level = false[allowed] if allowed < len(false) else -math.inf
    return level, score(name(level), panel, above(stat, level), windows)


def fit_prior(cases: Sequence[Case], scale: Scale) -> Prior:
    return estimate_prior([PersonSums.of(to_model(v, scale) for _, v in c.points) for c in cases], scale)


# -- the rules' statistics --------------------------------------------------------------------------------------


def personal_z(prior: Prior) -> Statistic:
    """Each result's distance from the EB predictive mean given the person's earlier results, in predictive
    SDs (from the second result on): outside the central interval of coverage ``c`` when above ``z_for(c)``."""

    def stat(c: Case) -> list[float]:
        out, sums = [], PersonSums(0, 0.0, 0.0)
        for i, (_, v) in enumerate(c.points):
            x = to_model(v, prior.scale)
            if i == 0:
                out.append(-math.inf)
            else:
                mean, var = predictive(prior, sums)
                out.append(abs(x - mean) / math.sqrt(var))
            sums = sums.add(x)
        return out

    return stat


def population_z(prior: Prior, signed: bool = False) -> Statistic:
    """Each result's distance from the population mean in prior-predictive SDs (from the second result on,
    like the personal rule); ``signed`` for a rule that only looks upwards (it then judges every result)."""
    mean, var = predictive(prior, PersonSums(0, 0.0, 0.0))
    sd = math.sqrt(var)

    def stat(c: Case) -> list[float]:
        if signed:
            return [(to_model(v, prior.scale) - mean) / sd for _, v in c.points]
        return [-math.inf if i == 0 else abs(to_model(v, prior.scale) - mean) / sd for i, (_, v) in enumerate(c.points)]

    return stat


def score_value(c: Case) -> list[float]:
    """The result itself, for a fixed threshold such as PHQ-9 of 10 or more."""
    return [v for _, v in c.points]


def coverage_of(level: float) -> float:
    """The central-interval coverage whose two-sided limit is ``level`` SDs."""
    return 0.0 if level == -math.inf else float(2 * norm.cdf(level) - 1)


# -- the rules ------------------------------------------------------------------------------------------------


def personal_point(prior: Prior, coverage: float) -> Alarms:
    """Each result against the EB interval from the person's earlier results (from the second result on)."""
    return above(personal_z(prior), z_for(coverage))


def population_point(prior: Prior, coverage: float) -> Alarms:
    return above(population_z(prior), z_for(coverage))


def population_upper(prior: Prior, coverage: float) -> Alarms:
    """Above the upper end of the central population interval of ``coverage``."""
    return above(population_z(prior, signed=True), z_for(coverage))


def threshold(cut: float) -> Alarms:
    """A fixed score threshold, e.g. PHQ-9 of 10 or more."""
    return above(score_value, math.nextafter(cut, -math.inf))


def matched_population(prior: Prior, panel: Panel, target: float) -> tuple[float, RuleResult]:
    """The population interval whose coverage gives no more false alarms per person-year than ``target``."""
    level, r = match(
        lambda z: f"population interval at equal false alarms ({coverage_of(z):.4%})",
        panel,
        population_z(prior),
        target,
    )
    return coverage_of(level), r


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


def personal_cusum(sigma: float, k: float, arl0: float) -> Alarms:
    """The relapse rule: upper CUSUM on follow-up scores from the recovered baseline, in SEM units."""
    h = design_cusum(k, arl0, "upper")

    def alarms(c: Case) -> list[int]:
        assert c.baseline is not None
        return [s.index for s in cusum_signals([(v - c.baseline) / sigma for _, v in c.points], k, h, "upper")]

    return alarms
