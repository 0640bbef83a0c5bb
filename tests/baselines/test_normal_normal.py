"""Empirical-Bayes normal-normal baselines against hand-worked values and properties (CLINICAL.md §4.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.baselines.intervals import z_for
from idiograph.baselines.normal_normal import (
    TAU2_FLOOR,
    PersonSums,
    Prior,
    estimate_prior,
    interval,
    population_interval,
    predictive,
)

UNIT = Prior(m0=0.0, tau2=1.0, sigma2=1.0)


def test_predictive_by_hand() -> None:
    # m0 0, tau2 1, sigma2 1; results 2, 4: mean = (1*0 + 1*6)/(1 + 2) = 2, var = 1 + 1/(1 + 2) = 4/3
    mean, var = predictive(UNIT, PersonSums.of([2.0, 4.0]))
    assert mean == pytest.approx(2.0) and var == pytest.approx(4 / 3)
    iv = interval(UNIT, [2.0, 4.0], 0.99)
    assert iv.lower == pytest.approx(2 - 2.5758293 * math.sqrt(4 / 3), abs=1e-6)
    assert iv.upper == pytest.approx(2 + 2.5758293 * math.sqrt(4 / 3), abs=1e-6)
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_limits_narrow_as_tests_accumulate_like_the_athlete_passport() -> None:
    # Sottas 2007: with n = 0 the limits are the population's (sd sqrt(tau2 + sigma2)); each new result
    # narrows them towards the person's own (sd sigma): sd^2 = 1 + 1/(1 + n) here: 2, 1.5, 1.333, 1.25, 1.2.
    widths = [interval(UNIT, [0.5] * n, 0.99).upper - interval(UNIT, [0.5] * n, 0.99).lower for n in range(5)]
    expected = [2 * 2.5758293 * math.sqrt(1 + 1 / (1 + n)) for n in range(5)]
    assert widths == pytest.approx(expected, abs=1e-6)
    assert interval(UNIT, [0.5] * 10_000, 0.99).upper - 0.5 == pytest.approx(2.5758293 * 1.0, abs=1e-3)


def test_no_results_is_the_population_interval() -> None:
    p = Prior(m0=10.0, tau2=4.0, sigma2=1.0)
    iv, pop = interval(p, [], 0.95), population_interval(p, 0.95)
    assert (
        (iv.setpoint, iv.lower, iv.upper)
        == (pop.setpoint, pop.lower, pop.upper)
        == pytest.approx((10.0, 10 - 1.959964 * math.sqrt(5), 10 + 1.959964 * math.sqrt(5)), abs=1e-5)
    )
    assert not iv.personal and "population" in iv.method


def test_inside_the_population_range_but_outside_their_own() -> None:
    p = Prior(m0=140.0, tau2=100.0, sigma2=9.0)  # population 140 ± 20; within-person sd 3
    own = interval(p, [150.0, 151.0, 149.0, 150.0, 150.5, 149.5], 0.99)
    assert population_interval(p, 0.99).lower < 138 < population_interval(p, 0.99).upper
    assert own.outside(138.0) and own.side(138.0) == "below"


def test_log_scale_for_skewed_analytes() -> None:
    p = Prior(m0=math.log(2.0), tau2=0.2, sigma2=0.04, scale="log")
    iv = interval(p, [2.0, 2.0, 2.0], 0.95)
    mean, var = predictive(p, PersonSums.of([math.log(2.0)] * 3))
    assert iv.setpoint == pytest.approx(math.exp(mean))
    assert iv.lower == pytest.approx(math.exp(mean - 1.959964 * math.sqrt(var)), rel=1e-6)
    assert iv.upper / iv.setpoint == pytest.approx(iv.setpoint / iv.lower, rel=1e-9)  # symmetric on the log scale
    with pytest.raises(ValueError, match="log scale"):
        interval(p, [0.0])


def test_bounded_scores_stay_on_their_scale() -> None:
    p = Prior(m0=3.0, tau2=9.0, sigma2=9.0)
    iv = interval(p, [1.0, 0.0], 0.95, bounds=(0, 27))
    assert iv.lower == 0.0 and iv.upper <= 27


def test_method_of_moments_by_hand() -> None:
    # people [1, 3] and [5, 7]: within SS 4 on 2 df -> sigma2 2; MSB 16, n0 2 -> tau2 (16 - 2) / 2 = 7; m0 4
    p = estimate_prior([PersonSums.of([1, 3]), PersonSums.of([5, 7])])
    assert (p.m0, p.sigma2, p.tau2, p.people, p.results) == pytest.approx((4.0, 2.0, 7.0, 2, 4))
    # no between-person spread: tau2 is floored, not negative
    flat = estimate_prior([PersonSums.of([1, 3]), PersonSums.of([1, 3])])
    assert flat.tau2 == pytest.approx(TAU2_FLOOR * flat.sigma2)
    with pytest.raises(ValueError):
        estimate_prior([PersonSums.of([1.0])])


def test_method_of_moments_recovers_a_known_population() -> None:
    rng = np.random.default_rng(20261123)
    people = []
    for _ in range(3000):
        mu = rng.normal(50, 4)  # tau2 16
        people.append(PersonSums.of(rng.normal(mu, 2, int(rng.integers(1, 9)))))  # sigma2 4, unbalanced
    p = estimate_prior(people)
    assert p.m0 == pytest.approx(50, abs=0.3)
    assert p.sigma2 == pytest.approx(4, rel=0.05)
    assert p.tau2 == pytest.approx(16, rel=0.08)


values = st.lists(st.floats(-50, 50, allow_nan=False), min_size=0, max_size=30)


@settings(max_examples=200, deadline=None)
@given(values, st.randoms(use_true_random=False))
def test_order_of_results_does_not_matter(xs: list[float], rnd) -> None:  # type: ignore[no-untyped-def]
    p = Prior(m0=1.0, tau2=3.0, sigma2=2.0)
    shuffled = xs[:]
    rnd.shuffle(shuffled)
    a, b = interval(p, xs), interval(p, shuffled)
    assert (a.setpoint, a.lower, a.upper) == pytest.approx((b.setpoint, b.lower, b.upper), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(-20, 20), st.integers(0, 60), st.floats(0.01, 10), st.floats(0.01, 10))
def test_more_stable_results_never_widen_the_interval(x: float, n: int, tau2: float, sigma2: float) -> None:
    p = Prior(m0=0.0, tau2=tau2, sigma2=sigma2)
    a, b = interval(p, [x] * n), interval(p, [x] * (n + 1))
    assert b.upper - b.lower <= a.upper - a.lower + 1e-12
    # and the setpoint moves towards the person's own level
    assert abs(b.setpoint - x) <= abs(a.setpoint - x) + 1e-12


def test_incremental_sums_equal_the_batch() -> None:
    s = PersonSums(0, 0.0, 0.0)
    for v in (1.5, 2.5, -3.0):
        s = s.add(v)
    b = PersonSums.of([1.5, 2.5, -3.0])
    assert (s.n, s.total, s.total_sq) == pytest.approx((b.n, b.total, b.total_sq))
