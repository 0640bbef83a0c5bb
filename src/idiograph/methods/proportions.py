"""Confidence intervals for a proportion and for an event rate, so that every published rate carries one (pure).

- **Wilson score interval** (Wilson 1927, "Probable inference, the law of succession, and statistical
  inference", JASA 22:209-212; recommended by Newcombe 1998, Stat Med 17:857-872, and Brown, Cai &
  DasGupta 2001): for ``k`` of ``n`` with ``p = k/n`` and normal quantile ``z``,
  ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``. Unlike the Wald interval it stays inside
  [0, 1] and keeps its coverage at 0 or n successes and at small n.
- **Exact Poisson interval for a rate** (Garwood 1936, Biometrika 28:437-442): for ``x`` events in
  ``exposure`` units of time, ``[G⁻¹(a/2; x), G⁻¹(1-a/2; x+1)] / exposure`` with ``a = 1 - confidence`` and
  ``G`` the unit-scale gamma distribution (the lower end is 0 when ``x`` is 0). It assumes independent
  events; events that cluster within people make the true uncertainty larger.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from scipy.stats import gamma


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n`` (Wilson 1927), as (lower, upper) in [0, 1]."""
    if n <= 0:
        raise ValueError("n must be above 0")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z2n)
    # at 0 or n successes the interval touches the end exactly; rounding must not step past it
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper


def poisson_rate(events: int, exposure: float, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood 1936) interval for a rate of ``events`` in ``exposure`` (e.g. person-years)."""
    if exposure <= 0:
        raise ValueError("exposure must be above 0")
    if events < 0:
        raise ValueError("events must not be negative")
    alpha = 1 - confidence
    _z(confidence)  # validates confidence
    lower = 0.0 if events == 0 else float(gamma.ppf(alpha / 2, events))
    upper = float(gamma.ppf(1 - alpha / 2, events + 1))
    return lower / exposure, upper / exposure
