"""Reliable and clinically significant change for any measure (Jacobson & Truax 1991; CLINICAL.md §3) (pure).

``SE = s1 * sqrt(1 - rxx)``, ``Sdiff = sqrt(2 * SE**2)``, ``RCI = (x2 - x1) / Sdiff``; the change is
reliable when ``|RCI| > 1.96``. Clinical-significance cut-offs (population 0 functional, 1 clinical):
``a = M1 - 2*SD1`` (lower is better), ``b = M0 + 2*SD0``, ``c = (SD0*M1 + SD1*M0) / (SD0 + SD1)``.

``Criterion`` is one instrument's rule (``measures.change.criterion`` builds it from the instrument file):
where a national criterion exists (NHS Talking Therapies: PHQ-9 6 points, GAD-7 4 points, CLINICAL.md §2)
a change of at least that many points is reliable, on the record, in the API and in the national metrics
alike; Jacobson-Truax decides for instruments without one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Z_RELIABLE = 1.96
Direction = Literal["improved", "deteriorated", "no reliable change"]


def standard_error(sd: float, reliability: float) -> float:
    """Standard error of measurement, ``sd * sqrt(1 - r)``."""
    if sd <= 0:
        raise ValueError("sd must be above 0")
    if not 0 <= reliability < 1:
        raise ValueError("reliability must be in [0, 1)")
    return sd * math.sqrt(1 - reliability)


def s_diff(sd: float, reliability: float) -> float:
    """Standard error of the difference between two scores, ``sqrt(2 * SE**2)``."""
    return math.sqrt(2 * standard_error(sd, reliability) ** 2)


def rci(before: float, after: float, sd: float, reliability: float) -> float:
    """Reliable change index: ``(after - before) / Sdiff``."""
    return (after - before) / s_diff(sd, reliability)


def threshold(sd: float, reliability: float, z: float = Z_RELIABLE) -> float:
    """The smallest change in points that is reliable: ``z * Sdiff``."""
    return z * s_diff(sd, reliability)


@dataclass(frozen=True)
class Change:
    before: float
    after: float
    change: float
    rci: float | None  # None when a national criterion in points decides (an RCI beside it would contradict it)
    threshold: float
    direction: Direction
    method: str = "Jacobson-Truax (|RCI| > 1.96)"


def classify(before: float, after: float, sd: float, reliability: float, lower_is_better: bool = True) -> Change:
    """The change from ``before`` to ``after``, its RCI, and whether it is a reliable improvement or
    deterioration (``|RCI| > 1.96``)."""
    index = rci(before, after, sd, reliability)
    direction: Direction = "no reliable change"
    if abs(index) > Z_RELIABLE:
        down = index < 0
        direction = "improved" if down == lower_is_better else "deteriorated"
    return Change(before, after, after - before, index, threshold(sd, reliability), direction)


@dataclass(frozen=True)
class Criterion:
    """How reliable change is judged on one instrument: a national criterion in whole points when there is
    one, otherwise Jacobson-Truax from the instrument's SD and reliability."""

    sd: float
    reliability: float
    points: int | None = None
    lower_is_better: bool = True

    @property
    def threshold(self) -> float:
        """The smallest reliable change in points."""
        return float(self.points) if self.points is not None else threshold(self.sd, self.reliability)

    @property
    def method(self) -> str:
        if self.points is not None:
            return f"national criterion (a change of {self.points} or more points)"
        return f"Jacobson-Truax (|RCI| > 1.96, {self.threshold:.1f} points)"

    def reliable(self, change: float) -> bool:
        """Whether a change of ``change`` points (either way) is reliable by this criterion."""
        if self.points is not None:
            return abs(change) >= self.points
        return abs(change) / s_diff(self.sd, self.reliability) > Z_RELIABLE

    def judge(self, before: float, after: float) -> Change:
        change = after - before
        direction: Direction = "no reliable change"
        if self.reliable(change):
            direction = "improved" if (change < 0) == self.lower_is_better else "deteriorated"
        index = rci(before, after, self.sd, self.reliability) if self.points is None else None
        return Change(before, after, change, index, self.threshold, direction, self.method)


@dataclass(frozen=True)
class Cutoffs:
    a: float  # two SDs beyond the clinical mean, towards health
    b: float | None  # two SDs beyond the functional mean, towards illness
    c: float | None  # weighted midpoint between the two populations


def cutoffs(
    clinical_mean: float,
    clinical_sd: float,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    lower_is_better: bool = True,
) -> Cutoffs:
    """Jacobson & Truax cut-offs a, b and c; b and c need norms for a functional population."""
    sign = -1 if lower_is_better else 1
    a = clinical_mean + sign * 2 * clinical_sd
    if functional_mean is None or functional_sd is None:
        return Cutoffs(a, None, None)
    b = functional_mean - sign * 2 * functional_sd
    c = (functional_sd * clinical_mean + clinical_sd * functional_mean) / (functional_sd + clinical_sd)
    return Cutoffs(a, b, c)
