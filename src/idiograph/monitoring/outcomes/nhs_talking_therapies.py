"""NHS Talking Therapies outcome definitions for one episode and for a service (pure).

Source: NHS Talking Therapies for anxiety and depression manual and national reporting definitions, as
summarised in CLINICAL.md section 2: caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change PHQ-9 >= 6,
GAD-7 >= 4; finished = at least 2 attended treatment contacts; outcomes from the first and last paired
scores (both measures at the same contact).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from idiograph.instruments.definitions import instruments
from idiograph.measures.change import criterion
from idiograph.methods.reliable_change import Criterion


@lru_cache(maxsize=1)
def criteria() -> tuple[Criterion, Criterion]:
    """PHQ-9 and GAD-7 reliable change, from the instrument files: the same rule the record shows."""
    phq9, gad7 = criterion(instruments()["phq-9"]), criterion(instruments()["gad-7"])
    if phq9 is None or gad7 is None or phq9.points is None or gad7.points is None:
        raise ValueError("PHQ-9 and GAD-7 must carry their national reliable-change criterion (points)")
    return phq9, gad7


@lru_cache(maxsize=1)
def caseness() -> tuple[int, int]:
    """PHQ-9 and GAD-7 caseness thresholds, from the instrument files: the same the record shows (10 and 8)."""
    phq9, gad7 = instruments()["phq-9"].caseness, instruments()["gad-7"].caseness
    if phq9 is None or gad7 is None:
        raise ValueError("PHQ-9 and GAD-7 must carry their caseness threshold")
    return phq9.min, gad7.min


def at_caseness(phq9: float, gad7: float) -> bool:
    phq9_case, gad7_case = caseness()
    return phq9 >= phq9_case or gad7 >= gad7_case


@dataclass(frozen=True)
class EpisodeOutcome:
    finished: bool
    paired_scores: int
    caseness_start: bool | None
    recovered: bool | None
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    reliable_recovery: bool | None


def classify(paired: Sequence[tuple[float, float]], attended_treatment: int) -> EpisodeOutcome:
    """Outcome of one episode from its paired (PHQ-9, GAD-7) scores in time order."""
    finished = attended_treatment >= 2
    if not paired:
        return EpisodeOutcome(finished, 0, None, None, None, None, None)
    (p0, g0), (p1, g1) = paired[0], paired[-1]
    start = at_caseness(p0, g0)
    phq9, gad7 = criteria()
    down = (p1 < p0 and phq9.reliable(p1 - p0)) or (g1 < g0 and gad7.reliable(g1 - g0))
    up = (p1 > p0 and phq9.reliable(p1 - p0)) or (g1 > g0 and gad7.reliable(g1 - g0))
    recovered = start and not at_caseness(p1, g1)
    improvement = down and not up
    return EpisodeOutcome(finished, len(paired), start, recovered, improvement, up, recovered and improvement)


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return None if self.denominator == 0 else 100.0 * self.numerator / self.denominator

    def __str__(self) -> str:
        p = self.percent
        return f"{p:.1f}% ({self.numerator}/{self.denominator})" if p is not None else f"- (0/{self.denominator})"


@dataclass(frozen=True)
class ServiceRates:
    finished: int
    recovery: Rate
    reliable_improvement: Rate
    reliable_recovery: Rate
    reliable_deterioration: Rate


def service_rates(outcomes: Iterable[EpisodeOutcome]) -> ServiceRates:
    """National reporting rates with the national denominators (NHS England's Core Data Pack, as the KPI engine
    ``reporting.kpis`` counts them): recovery and reliable recovery over finished episodes less those known to
    have started below caseness; reliable improvement and deterioration over all finished episodes. A finished
    episode without paired scores stays in the denominators and counts against the rate, as nationally."""
    done = [o for o in outcomes if o.finished]
    case = [o for o in done if o.caseness_start is not False]
    return ServiceRates(
        finished=len(done),
        recovery=Rate(sum(bool(o.recovered) for o in case), len(case)),
        reliable_improvement=Rate(sum(bool(o.reliable_improvement) for o in done), len(done)),
        reliable_recovery=Rate(sum(bool(o.reliable_recovery) for o in case), len(case)),
        reliable_deterioration=Rate(sum(bool(o.reliable_deterioration) for o in done), len(done)),
    )
