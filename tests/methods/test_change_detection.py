"""EWMA, CUSUM and Bayesian online change-point detection (CLINICAL.md §6).

Run lengths are checked two ways: the Markov-chain ARLs against published tables, and the charts' own
in-control run lengths in seeded simulation against their design values (within 5 %)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.methods import change_detection as cd


def test_cusum_arl_matches_the_published_table() -> None:
    # Montgomery, Introduction to Statistical Quality Control, table of one-sided CUSUM ARLs with k = 0.5:
    # h = 4 -> 336 in control, 8.38 for a 1 SD shift; h = 5 -> 930, 10.4.
    assert cd.cusum_arl_one_sided(0.5, 4.0) == pytest.approx(336, rel=0.01)
    assert cd.cusum_arl_one_sided(0.5, 5.0) == pytest.approx(930, rel=0.01)
    assert cd.cusum_arl_one_sided(0.5, 4.0, shift=1.0) == pytest.approx(8.38, rel=0.02)
    assert cd.cusum_arl_one_sided(0.5, 5.0, shift=1.0) == pytest.approx(10.4, rel=0.02)


def test_ewma_arl_close_to_lucas_and_saccucci() -> None:
    # Lucas & Saccucci 1990 (asymptotic limits): lambda 0.1, L 2.814 -> ARL0 500. Exact time-varying limits
    # signal a little earlier at the start, so the zero-state ARL is slightly below 500.
    arl = cd.ewma_arl(0.1, 2.814)
    assert 470 < arl < 500


def _simulate_ewma(lam: float, limit: float, runs: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = np.zeros(runs)
    v = 0.0
    alive = np.ones(runs, bool)
    length = np.zeros(runs)
    t = 0
    while alive.any():
        t += 1
        z = lam * rng.standard_normal(runs) + (1 - lam) * z
        v = (1 - lam) ** 2 * v + lam * lam
        hit = alive & (np.abs(z) > limit * math.sqrt(v))
        length[hit] = t
        alive &= ~hit
    return length


def _simulate_cusum(k: float, h: float, runs: int, seed: int, side: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    up = np.zeros(runs)
    down = np.zeros(runs)
    alive = np.ones(runs, bool)
    length = np.zeros(runs)
    t = 0
    while alive.any():
        t += 1
        x = rng.standard_normal(runs)
        up = np.maximum(0, x - k + up)
        down = np.maximum(0, -x - k + down)
        hit = alive & ((up > h) | ((down > h) if side == "both" else False))
        length[hit] = t
        alive &= ~hit
    return length


@pytest.mark.parametrize(("lam", "arl0"), [(0.1, 200.0), (0.2, 370.0), (0.3, 100.0)])
def test_ewma_in_control_run_length_matches_its_design(lam: float, arl0: float) -> None:
    limit = cd.design_ewma(lam, arl0)
    sim = _simulate_ewma(lam, limit, 6000, seed=int(lam * 1000 + arl0))
    assert sim.mean() == pytest.approx(arl0, rel=0.05)


@pytest.mark.parametrize(("side", "arl0"), [("upper", 48.0), ("upper", 370.0), ("both", 200.0)])
def test_cusum_in_control_run_length_matches_its_design(side: str, arl0: float) -> None:
    h = cd.design_cusum(0.5, arl0, side)  # type: ignore[arg-type]
    sim = _simulate_cusum(0.5, h, 6000, seed=int(arl0), side=side)
    assert sim.mean() == pytest.approx(arl0, rel=0.05)


def test_ewma_signals_agree_with_the_simulation_rule() -> None:
    x = [0.1, -0.2, 0.3, 2.5, 2.8, 3.1]
    z, sd = cd.ewma_path(x, 0.2)
    expected_sd = [math.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * t))) for t in range(1, 7)]
    assert list(sd) == pytest.approx(expected_sd)  # the time-varying limit formula of CLINICAL.md §6
    signals = cd.ewma_signals(x, 0.2, 2.5)
    assert signals and signals[0].direction == "up"
    assert all(abs(z[s.index]) > 2.5 * sd[s.index] for s in signals)


def test_a_gap_weights_the_next_result_as_if_the_missing_ones_had_been_at_the_mean() -> None:
    # Two days' gap: the old statistic decays by (1 - lam)^2, and the variance is carried exactly.
    z_gap, sd_gap = cd.ewma_path([1.0, 2.0], 0.2, gaps=[1.0, 2.0])
    z_full, _ = cd.ewma_path([1.0, 0.0, 2.0], 0.2)
    lam_two = 1 - 0.8**2
    assert z_gap[1] == pytest.approx(lam_two * 2.0 + 0.8**2 * 0.2)
    # the filled-in series gives the same decay of the first result; the variance is smaller with a gap
    assert z_full[2] - 0.2 * 2.0 == pytest.approx(0.8**2 * 0.2)
    assert sd_gap[1] ** 2 == pytest.approx(0.8**4 * 0.04 + lam_two**2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=40))
def test_cusum_sums_are_never_negative_and_restart_after_a_signal(xs: list[float]) -> None:
    for s in cd.cusum_signals(xs, 0.5, 2.0, "both"):
        assert abs(s.statistic) > 2.0


def test_bocpd_finds_a_shift_and_probabilities_sum_to_one() -> None:
    rng = np.random.default_rng(3)
    x = list(rng.normal(0, 1, 60)) + list(rng.normal(3, 1, 20))
    runs = cd.bocpd(x, cd.NormalGamma(0.0, 1.0, 1.0, 1.0), mean_run=200)
    assert np.allclose(runs.sum(axis=1), 1.0)
    signals = cd.bocpd_signals(x, cd.NormalGamma(0.0, 1.0, 1.0, 1.0), mean_run=200)
    after = [s.index for s in signals if s.index >= 60]
    assert after and after[0] <= 66 and all(s.direction == "up" for s in signals if s.index >= 60)
    # the run length most probable at the end began near the change
    assert abs(int(np.argmax(runs[-1])) - 20) <= 3


def test_bocpd_is_quiet_in_control_most_of_the_time() -> None:
    rng = np.random.default_rng(4)
    quiet = 0
    for _ in range(50):
        x = list(rng.normal(0, 1, 60))
        quiet += not cd.bocpd_signals(x, cd.NormalGamma(0.0, 1.0, 1.0, 1.0), mean_run=500, threshold=0.8)
    assert quiet >= 40


def test_bocpd_gaps_raise_the_chance_of_a_change() -> None:
    x = [0.0] * 10 + [0.0]
    tight = cd.bocpd(x, mean_run=100)
    gappy = cd.bocpd(x, mean_run=100, gaps=[1.0] * 10 + [100.0])
    assert gappy[-1, 0] > tight[-1, 0]
