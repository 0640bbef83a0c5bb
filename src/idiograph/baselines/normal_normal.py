"""Empirical-Bayes normal-normal baseline: the Athlete Biological Passport model (Sottas et al. 2007) (pure).

Population prior ``mu_i ~ N(m0, tau2)``, results ``x_ij ~ N(mu_i, sigma2)``. The predictive distribution of
the person's next result has mean ``(sigma2*m0 + tau2*sum(x)) / (sigma2 + n*tau2)`` and variance
``sigma2 + sigma2*tau2 / (sigma2 + n*tau2)``: with n = 0 it is the population interval, and it narrows
towards the person's own as results accumulate. CLINICAL.md §4.1.

The population parameters are estimated by the method of moments for an unbalanced one-way random-effects
layout (Searle, Casella & McCulloch 1992, §3.5): ``sigma2`` is the pooled within-person variance, ``tau2 =
(MSB - sigma2) / n0`` with ``n0 = (N - sum(n_i^2)/N) / (k - 1)``, and ``m0`` the mean of the person means.
The whole-population computation (``idiograph.cohort``) uses exactly these formulas on the same sums.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from idiograph.baselines.intervals import Interval, Scale, clip, from_model, to_model, z_for

TAU2_FLOOR = 0.01  # share of sigma2 kept as between-person variance when the moment estimate is not above 0


@dataclass(frozen=True)
class Prior:
    """Population parameters for one measure (and stratum), on the model scale."""

    m0: float
    tau2: float
    sigma2: float
    scale: Scale = "linear"
    people: int = 0
    results: int = 0


@dataclass(frozen=True)
class PersonSums:
    """Sufficient statistics of one person's results on the model scale."""

    n: int
    total: float
    total_sq: float

    @classmethod
    def of(cls, values: Iterable[float]) -> PersonSums:
        xs = list(values)
        return cls(len(xs), math.fsum(xs), math.fsum(x * x for x in xs))

    def add(self, x: float) -> PersonSums:
        """The incremental update used when a new result arrives."""
        return PersonSums(self.n + 1, self.total + x, self.total_sq + x * x)

    def variance(self) -> float:
        """Sample variance (n - 1) from the sums, never below 0."""
        mean = self.total / self.n
        return max((self.total_sq - self.n * mean * mean) / (self.n - 1), 0.0)


def estimate_prior(people: Sequence[PersonSums], scale: Scale = "linear") -> Prior:
    """Method-of-moments estimates of ``m0``, ``tau2`` and ``sigma2`` from each person's sums."""
    groups = [p for p in people if p.n > 0]
    k = len(groups)
    big_n = sum(p.n for p in groups)
    if k < 2 or big_n - k < 1:
        raise ValueError("need at least two people and one repeated result to estimate a prior")
    ssw = math.fsum(p.total_sq - p.total * p.total / p.n for p in groups)
    sigma2 = max(ssw / (big_n - k), 0.0)
    grand = math.fsum(p.total for p in groups) / big_n
    ssb = math.fsum(p.total * p.total / p.n for p in groups) - big_n * grand * grand
    msb = ssb / (k - 1)
    n0 = (big_n - math.fsum(p.n * p.n for p in groups) / big_n) / (k - 1)
    tau2 = (msb - sigma2) / n0
    if sigma2 <= 0:
        raise ValueError("no within-person variation: every person's results are identical")
    tau2 = max(tau2, TAU2_FLOOR * sigma2)
    m0 = math.fsum(p.total / p.n for p in groups) / k
    return Prior(m0, tau2, sigma2, scale, k, big_n)


def predictive(prior: Prior, sums: PersonSums) -> tuple[float, float]:
    """Mean and variance of the next result given the person's earlier ones (model scale)."""
    denom = prior.sigma2 + sums.n * prior.tau2
    mean = (prior.sigma2 * prior.m0 + prior.tau2 * sums.total) / denom
    var = prior.sigma2 + prior.sigma2 * prior.tau2 / denom
    return mean, var


def interval_from_sums(
    prior: Prior,
    sums: PersonSums,
    coverage: float = 0.95,
    bounds: tuple[float | None, float | None] = (None, None),
) -> Interval:
    mean, var = predictive(prior, sums)
    half = z_for(coverage) * math.sqrt(var)
    lo, hi = from_model(mean - half, prior.scale), from_model(mean + half, prior.scale)
    method = "empirical Bayes (normal-normal" + (", log scale)" if prior.scale == "log" else ")")
    if sums.n == 0:
        method = "population interval (no results of their own yet)"
    return Interval(
        setpoint=clip(from_model(mean, prior.scale), bounds),
        lower=clip(lo, bounds),
        upper=clip(hi, bounds),
        n=sums.n,
        method=method,
        coverage=coverage,
        personal=sums.n > 0,
    )


def interval(
    prior: Prior,
    values: Iterable[float],
    coverage: float = 0.95,
    bounds: tuple[float | None, float | None] = (None, None),
) -> Interval:
    """The personalised reference interval for the next result after ``values`` (measure scale)."""
    return interval_from_sums(prior, PersonSums.of(to_model(v, prior.scale) for v in values), coverage, bounds)


def population_interval(
    prior: Prior, coverage: float = 0.95, bounds: tuple[float | None, float | None] = (None, None)
) -> Interval:
    """The interval for someone the service knows nothing about: the prior predictive."""
    return interval_from_sums(prior, PersonSums(0, 0.0, 0.0), coverage, bounds)
