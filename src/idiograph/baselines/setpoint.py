"""Setpoint by Gaussian mixture (Foy et al., Nature 2025, "Haematological setpoints...") (pure).

Keep results whose nearest other result is more than 90 days away (so that each reflects a separate
steady state); with at least five, fit one-dimensional Gaussian mixtures of 1-3 components and choose by
AIC. If the largest component dominates (weight above 0.70 with two components, above 0.45 with three)
the setpoint is its mean, otherwise the plain mean; ``CV = SD / mean``. CLINICAL.md §4.3.

The interval for the next result is ``setpoint ± z * SD``, with SD the chosen component's (or the plain
sample SD). The mixture is fitted by EM from a deterministic start (components at evenly spaced quantiles),
so the same results always give the same setpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from idiograph.baselines.intervals import Interval, z_for

SPACING = timedelta(days=90)
MIN_RESULTS = 5
DOMINANCE = {1: 0.0, 2: 0.70, 3: 0.45}
VAR_FLOOR = 1e-3  # share of the overall variance below which no component's variance may fall


@dataclass(frozen=True)
class Mixture:
    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]
    loglik: float

    @property
    def aic(self) -> float:
        k = len(self.weights)
        return 2 * (3 * k - 1) - 2 * self.loglik


@dataclass(frozen=True)
class Setpoint:
    value: float
    sd: float
    cv: float
    components: int
    dominant: bool
    n: int


def spaced(results: Sequence[tuple[datetime, float]], spacing: timedelta = SPACING) -> list[float]:
    """Values whose nearest other result (in time) is more than ``spacing`` away, in time order."""
    ordered = sorted(results)
    kept = []
    for i, (t, v) in enumerate(ordered):
        before = t - ordered[i - 1][0] if i > 0 else None
        after = ordered[i + 1][0] - t if i + 1 < len(ordered) else None
        if all(gap is None or gap > spacing for gap in (before, after)):
            kept.append(v)
    return kept


def fit_mixture(values: Sequence[float], k: int, iterations: int = 500) -> Mixture:
    """EM for a k-component 1-D Gaussian mixture with a variance floor."""
    x = np.asarray(values, dtype=float)
    total_var = float(x.var()) or 1.0
    floor = VAR_FLOOR * total_var
    means = np.quantile(x, (np.arange(k) + 0.5) / k)
    var = np.full(k, total_var)
    w = np.full(k, 1.0 / k)
    loglik = -math.inf
    for _ in range(iterations):
        dens = w * np.exp(-0.5 * (x[:, None] - means) ** 2 / var) / np.sqrt(2 * np.pi * var)
        tot = dens.sum(axis=1)
        new_ll = float(np.log(tot).sum())
        resp = dens / tot[:, None]
        nk = resp.sum(axis=0) + 1e-300
        w = nk / len(x)
        means = (resp * x[:, None]).sum(axis=0) / nk
        var = np.maximum((resp * (x[:, None] - means) ** 2).sum(axis=0) / nk, floor)
        if abs(new_ll - loglik) < 1e-10:
            loglik = new_ll
            break
        loglik = new_ll
    dens = w * np.exp(-0.5 * (x[:, None] - means) ** 2 / var) / np.sqrt(2 * np.pi * var)
    loglik = float(np.log(dens.sum(axis=1)).sum())
    return Mixture(tuple(map(float, w)), tuple(map(float, means)), tuple(map(float, np.sqrt(var))), loglik)


def setpoint(values: Sequence[float]) -> Setpoint | None:
    """Foy's setpoint from already-spaced values, or None with fewer than five."""
    n = len(values)
    if n < MIN_RESULTS:
        return None
    x = np.asarray(values, dtype=float)
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    best = min((fit_mixture(values, k) for k in (1, 2, 3)), key=lambda m: m.aic)
    k = len(best.weights)
    top = int(np.argmax(best.weights))
    if k == 1 or best.weights[top] > DOMINANCE[k]:
        value, spread, dominant = (mean, sd, True) if k == 1 else (best.means[top], best.sds[top], True)
    else:
        value, spread, dominant = mean, sd, False
    return Setpoint(value, spread, spread / value if value else math.nan, k, dominant, n)


def interval(results: Sequence[tuple[datetime, float]], coverage: float = 0.95) -> Interval | None:
    """The mixture-setpoint interval for the next result, or None with too few spaced results."""
    sp = setpoint(spaced(results))
    if sp is None:
        return None
    half = z_for(coverage) * sp.sd
    method = f"mixture setpoint (Foy; {sp.components} component{'s' if sp.components > 1 else ''})"
    return Interval(sp.value, sp.value - half, sp.value + half, sp.n, method, coverage, True)
