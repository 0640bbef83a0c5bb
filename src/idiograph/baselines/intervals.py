"""What every baseline method returns, and the shared helpers for scale and coverage (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from scipy.stats import norm

Scale = Literal["linear", "log"]


@dataclass(frozen=True)
class Interval:
    """A central interval of ``coverage`` for a person's next result, on the measure's own scale.

    ``method`` names how it was built (shown on screen); ``personal`` is False when it is the population
    interval because the person has too few results of their own."""

    setpoint: float
    lower: float
    upper: float
    n: int
    method: str
    coverage: float
    personal: bool

    def outside(self, value: float) -> bool:
        return value < self.lower or value > self.upper

    def side(self, value: float) -> Literal["above", "below", "inside"]:
        if value > self.upper:
            return "above"
        if value < self.lower:
            return "below"
        return "inside"


@lru_cache(maxsize=64)
def z_for(coverage: float) -> float:
    """Two-sided normal quantile for a central interval, e.g. 0.95 -> 1.95996, 0.99 -> 2.5758."""
    if not 0 < coverage < 1:
        raise ValueError("coverage must be between 0 and 1")
    return float(norm.ppf((1 + coverage) / 2))


def to_model(value: float, scale: Scale) -> float:
    """Values are modelled on the log scale for skewed analytes (CLINICAL.md §4.1)."""
    if scale == "log":
        if value <= 0:
            raise ValueError(f"{value:g} cannot be modelled on the log scale (must be above 0)")
        return math.log(value)
    return value


def from_model(value: float, scale: Scale) -> float:
    return math.exp(value) if scale == "log" else value


def clip(value: float, bounds: tuple[float | None, float | None]) -> float:
    """Questionnaire scores are bounded: an interval never reaches past the scale's ends."""
    lo, hi = bounds
    if lo is not None and value < lo:
        return lo
    if hi is not None and value > hi:
        return hi
    return value
