"""Funnel-plot control limits for comparing teams' rates with the service's (issue 19). Pure: mypy --strict.

Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202: for a
target proportion p0 and a denominator n, the limit at probability P is the P-quantile r of Binomial(n, p0)
interpolated between integers -- r is the smallest count with F(r) >= P, and the limit is
(r - a) / n with a = (F(r) - P) / (F(r) - F(r - 1)) -- clamped to [0, 1]. The 95% limits use P = 0.025 and
0.975 (about 2 standard errors), the 99.8% limits P = 0.001 and 0.999 (about 3)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LIMITS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}


def _cdf_terms(n: int, p0: float) -> list[float]:
    """Binomial(n, p0) CDF at 0..n, in log space for the terms so that large n does not overflow."""
    if p0 <= 0.0 or p0 >= 1.0:
        return [1.0] * (n + 1) if p0 <= 0.0 else [0.0] * n + [1.0]
    lp, lq = math.log(p0), math.log1p(-p0)
    out, total = [], 0.0
    for k in range(n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq)
        out.append(min(total, 1.0))
    return out


def limit(n: int, p0: float, prob: float) -> float:
    """The funnel limit (a proportion) at probability ``prob`` for denominator ``n`` around target ``p0``."""
    if n < 1:
        raise ValueError(f"n: a funnel limit needs a denominator of 1 or more, not {n}")
    if not 0.0 <= p0 <= 1.0:
        raise ValueError(f"p0: the target rate must be a proportion in [0, 1], not {p0}")
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob: must be strictly between 0 and 1, not {prob}")
    cdf = _cdf_terms(n, p0)
    r = next(k for k, f in enumerate(cdf) if f >= prob - 1e-15)
    below = cdf[r - 1] if r > 0 else 0.0
    step = cdf[r] - below
    a = (cdf[r] - prob) / step if step > 0 else 0.0
    return min(1.0, max(0.0, (r - a) / n))


@dataclass(frozen=True)
class FunnelPoint:
    """One team: its numerator and denominator, or withheld (``why``) under disclosure control."""

    team: str
    numerator: int | None
    denominator: int | None
    why: str = ""

    @property
    def rate(self) -> float | None:
        if self.numerator is None or not self.denominator:
            return None
        return self.numerator / self.denominator


@dataclass(frozen=True)
class Verdict:
    team: str
    rate: float
    denominator: int
    beyond: str  # "" inside the 95% limits; "95 above"/"95 below"; "99.8 above"/"99.8 below"


def classify(points: Sequence[FunnelPoint], p0: float) -> list[Verdict]:
    """Each shown team against the limits at its own denominator (withheld teams are left out)."""
    out = []
    for p in points:
        rate = p.rate
        if rate is None or p.denominator is None:
            continue
        beyond = ""
        for name in ("99.8", "95"):
            lo, hi = (limit(p.denominator, p0, q) for q in LIMITS[name])
            if rate > hi:
                beyond = f"{name} above"
                break
            if rate < lo:
                beyond = f"{name} below"
                break
        out.append(Verdict(p.team, rate, p.denominator, beyond))
    return out


def curves(p0: float, n_max: int, steps: int = 60) -> dict[str, list[float]]:
    """The four limit curves over denominators 1..n_max (at most ``steps`` points, always including n_max)."""
    n_max = max(1, n_max)
    ns = sorted({max(1, round(1 + (n_max - 1) * i / (steps - 1))) for i in range(steps)})
    out: dict[str, list[float]] = {"n": [float(n) for n in ns]}
    for name, (lo, hi) in LIMITS.items():
        out[f"{name}_low"] = [limit(n, p0, lo) for n in ns]
        out[f"{name}_high"] = [limit(n, p0, hi) for n in ns]
    return out
