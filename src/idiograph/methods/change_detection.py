"""Change detection on one person's series: EWMA, CUSUM and Bayesian online change-point (pure).

All charts work on standardised values ``(x - mu0) / sigma`` where ``mu0`` and ``sigma`` are the
person's own baseline (setpoint and within-person SD), so the same design serves every measure.

- **EWMA** (Roberts 1959; person-specific as in Smit et al., Psychol Med 2022): ``z_t = lam*x_t +
  (1-lam)*z_{t-1}``, ``z_0 = 0``, limits ``± L*sqrt(lam/(2-lam)*(1-(1-lam)^(2t)))``. Irregular sampling: the
  weight of a result grows with the time since the last one, ``lam_t = 1 - (1-lam)^(dt/spacing)``, and the
  exact variance of ``z_t`` is carried (``v_t = (1-lam_t)^2 v_{t-1} + lam_t^2``), which gives the formula
  above when results arrive at the nominal spacing.
- **CUSUM** (Page 1954): ``C_t = max(0, x_t - k + C_{t-1})`` (upper) and the mirror (lower), signal above
  ``h``; run length is counted in results.
- Design for a stated in-control average run length (ARL0): ``L`` or ``h`` is solved from Markov-chain
  ARLs (Brook & Evans 1972 for CUSUM; Lucas & Saccucci 1990 for EWMA, here with the exact time-varying
  limits), so the chart's false-alarm rate is known before it runs.
- **Bayesian online change-point detection** (Adams & MacKay 2007) with a normal-gamma model; the hazard
  is per unit of time, so gaps raise the prior chance that a change happened in between.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln
from scipy.stats import norm

Side = Literal["upper", "lower", "both"]
GRID = 301


@dataclass(frozen=True)
class Signal:
    index: int  # position in the series of the result that signalled
    statistic: float
    limit: float
    direction: Literal["up", "down"]


# -- EWMA -----------------------------------------------------------------------------------------------------


def ewma_step(z: float, v: float, x: float, lam: float, gap: float = 1.0) -> tuple[float, float]:
    """One EWMA update of a standardised value ``gap`` spacings after the last: the statistic and its exact
    variance. A result at the same instant (gap 0) is weighted as one spacing."""
    lt = 1 - (1 - lam) ** gap if gap > 0 else lam
    return lt * x + (1 - lt) * z, (1 - lt) ** 2 * v + lt * lt


def ewma_path(x: Sequence[float], lam: float, gaps: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """EWMA statistic and its standard deviation for standardised values; ``gaps`` in units of the spacing."""
    if not 0 < lam <= 1:
        raise ValueError("lambda must be in (0, 1]")
    z = np.empty(len(x))
    sd = np.empty(len(x))
    prev, v = 0.0, 0.0
    for i, xi in enumerate(x):
        g = 1.0 if gaps is None else max(float(gaps[i]), 0.0)
        if g > 0:
            prev, v = ewma_step(prev, v, xi, lam, g)
        else:  # a second result at the same instant: average it in with equal weight to the last
            prev, v = (prev + lam * xi) / (1 + lam), v
        z[i], sd[i] = prev, math.sqrt(v) if v > 0 else math.sqrt(lam * lam)
    return z, sd


def ewma_signals(
    x: Sequence[float], lam: float, limit: float, side: Side = "both", gaps: Sequence[float] | None = None
) -> list[Signal]:
    z, sd = ewma_path(x, lam, gaps)
    out = []
    for i in range(len(x)):
        bound = limit * sd[i]
        if side in ("upper", "both") and z[i] > bound:
            out.append(Signal(i, float(z[i]), float(bound), "up"))
        elif side in ("lower", "both") and z[i] < -bound:
            out.append(Signal(i, float(z[i]), float(-bound), "down"))
    return out


@lru_cache(maxsize=256)
def ewma_arl(lam: float, limit: float, side: Side = "both", shift: float = 0.0) -> float:
    """Zero-state ARL of the EWMA chart with exact time-varying limits, by a Markov chain on a grid."""
    steady = limit * math.sqrt(lam / (2 - lam))
    lo = -steady if side in ("lower", "both") else -steady - 6 * math.sqrt(lam / (2 - lam))
    hi = steady if side in ("upper", "both") else steady + 6 * math.sqrt(lam / (2 - lam))
    edges = np.linspace(lo, hi, GRID + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    mean_next = (1 - lam) * centres[:, None] + lam * shift
    cdf = norm.cdf((edges[None, :] - mean_next) / lam)
    q = np.diff(cdf, axis=1)  # from state i to cell j, staying inside [lo, hi]
    p = np.zeros(GRID)
    p[int(np.searchsorted(edges, 0.0) - 1)] = 1.0
    survival_sum, v = 1.0, 0.0  # sum over t of P(no signal after t results), t = 0 first
    for _ in range(100_000):
        v = (1 - lam) ** 2 * v + lam * lam
        bound = limit * math.sqrt(v)
        if bound >= steady * (1 - 1e-12):
            break
        inside = np.ones(GRID, bool)
        if side in ("upper", "both"):
            inside &= centres <= bound
        if side in ("lower", "both"):
            inside &= centres >= -bound
        p = (p @ q) * inside
        survival_sum += p.sum()
    # from here the limits are steady: expected further results until a signal, from each state
    further = np.linalg.solve(np.eye(GRID) - q, np.ones(GRID))
    return float(survival_sum - p.sum() + p @ further)


@lru_cache(maxsize=64)
def design_ewma(lam: float, arl0: float, side: Side = "both") -> float:
    """The limit ``L`` that gives the EWMA chart an in-control ARL of ``arl0``."""
    return float(brentq(lambda L: ewma_arl(lam, L, side) - arl0, 0.5, 6.0, xtol=1e-6))


# -- CUSUM ----------------------------------------------------------------------------------------------------


def cusum_signals(x: Sequence[float], k: float, h: float, side: Side = "upper", restart: bool = True) -> list[Signal]:
    """Page's CUSUM on standardised values; after a signal the sums restart from 0 when ``restart``."""
    up = down = 0.0
    out = []
    for i, xi in enumerate(x):
        up = max(0.0, xi - k + up)
        down = max(0.0, -xi - k + down)
        if side in ("upper", "both") and up > h:
            out.append(Signal(i, up, h, "up"))
            if restart:
                up = down = 0.0
        elif side in ("lower", "both") and down > h:
            out.append(Signal(i, -down, -h, "down"))
            if restart:
                up = down = 0.0
    return out


@lru_cache(maxsize=256)
def cusum_arl_one_sided(k: float, h: float, shift: float = 0.0, states: int = 400) -> float:
    """Zero-state ARL of a one-sided CUSUM (Brook & Evans 1972 Markov chain)."""
    w = 2 * h / (2 * states - 1)
    c = np.arange(states) * w
    upper_edges = (np.arange(states) + 0.5) * w
    cdf = norm.cdf(upper_edges[None, :] - c[:, None] + k - shift)
    q = np.diff(np.concatenate([np.zeros((states, 1)), cdf], axis=1), axis=1)
    q[:, 0] = cdf[:, 0]
    arl = np.linalg.solve(np.eye(states) - q, np.ones(states))
    return float(arl[0])


def cusum_arl(k: float, h: float, side: Side = "upper", shift: float = 0.0) -> float:
    """One-sided exactly; two-sided by ``1/ARL = 1/ARL+ + 1/ARL-`` (Lucas & Crosier 1982)."""
    if side == "both":
        return 1 / (1 / cusum_arl_one_sided(k, h, shift) + 1 / cusum_arl_one_sided(k, h, -shift))
    return cusum_arl_one_sided(k, h, shift if side == "upper" else -shift)


@lru_cache(maxsize=64)
def design_cusum(k: float, arl0: float, side: Side = "upper") -> float:
    """The decision interval ``h`` (SD units) that gives an in-control ARL of ``arl0``."""
    return float(brentq(lambda h: cusum_arl(k, h, side) - arl0, 0.05, 30.0, xtol=1e-6))


# -- Bayesian online change-point detection ------------------------------------------------------------------


@dataclass(frozen=True)
class NormalGamma:
    mu: float = 0.0
    kappa: float = 1.0
    alpha: float = 1.0
    beta: float = 1.0


def bocpd(
    x: Sequence[float],
    prior: NormalGamma = NormalGamma(),
    mean_run: float = 100.0,
    gaps: Sequence[float] | None = None,
    max_run: int = 1000,
) -> np.ndarray:
    """Posterior probability of each run length after each result (rows: results; columns: run length).

    The hazard of a change between two results is ``1 - exp(-gap / mean_run)``, with ``gap`` in units of
    the nominal spacing, so irregular sampling is handled."""
    n = len(x)
    width = min(n, max_run) + 1
    out = np.zeros((n, width))
    log_r = np.array([0.0])  # run-length log-probabilities before the first result
    mu = np.array([prior.mu])
    kappa = np.array([prior.kappa])
    alpha = np.array([prior.alpha])
    beta = np.array([prior.beta])
    for i, xi in enumerate(x):
        g = 1.0 if gaps is None else max(float(gaps[i]), 1e-9)
        hazard = 1 - math.exp(-g / mean_run)
        scale2 = beta * (kappa + 1) / (alpha * kappa)
        nu = 2 * alpha
        log_pred = (
            gammaln((nu + 1) / 2)
            - gammaln(nu / 2)
            - 0.5 * np.log(np.pi * nu * scale2)
            - (nu + 1) / 2 * np.log1p((xi - mu) ** 2 / (nu * scale2))
        )
        grow = log_r + log_pred + math.log(1 - hazard)
        change = np.logaddexp.reduce(log_r + log_pred) + math.log(hazard)
        log_r = np.concatenate([[change], grow])
        log_r -= np.logaddexp.reduce(log_r)
        mu_new = (kappa * mu + xi) / (kappa + 1)
        beta_new = beta + kappa * (xi - mu) ** 2 / (2 * (kappa + 1))
        mu = np.concatenate([[prior.mu], mu_new])
        kappa = np.concatenate([[prior.kappa], kappa + 1])
        alpha = np.concatenate([[prior.alpha], alpha + 0.5])
        beta = np.concatenate([[prior.beta], beta_new])
        if len(log_r) > max_run + 1:  # keep the longest runs' mass in the last column
            tail = np.logaddexp.reduce(log_r[max_run:])
            log_r = np.concatenate([log_r[:max_run], [tail]])
            mu, kappa, alpha, beta = mu[: max_run + 1], kappa[: max_run + 1], alpha[: max_run + 1], beta[: max_run + 1]
        probs = np.exp(log_r)
        out[i, : min(len(probs), width)] = probs[:width]
    return out


def bocpd_signals(
    x: Sequence[float],
    prior: NormalGamma = NormalGamma(),
    mean_run: float = 100.0,
    window: int = 5,
    threshold: float = 0.5,
    gaps: Sequence[float] | None = None,
    min_results: int = 5,
) -> list[Signal]:
    """A change is signalled when the posterior probability that the run began within the last ``window``
    results exceeds ``threshold`` (after ``min_results`` results, so the start of the series is not one)."""
    runs = bocpd(x, prior, mean_run, gaps)
    out = []
    for i in range(min_results, len(x)):
        p_recent = float(runs[i, 1 : window + 1].sum())
        if p_recent > threshold:
            recent = np.asarray(x[max(0, i - window + 1) : i + 1], float)
            out.append(Signal(i, p_recent, threshold, "up" if recent.mean() > prior.mu else "down"))
    return out


def first_signal_run_length(signals: Sequence[Signal]) -> int | None:
    return signals[0].index + 1 if signals else None
