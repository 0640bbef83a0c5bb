"""The graded response model: probabilities, recovery of known parameters, and the NHANES calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idiograph.adaptive import itembank
from idiograph.adaptive.grm import ItemParams, calibrate, category_probs, eap, marginal_score_distribution, sample

NHANES = Path(__file__).resolve().parents[3] / "shared" / "data" / "nhanes" / "DPQ_J.csv"
BANK = Path(__file__).resolve().parents[2] / "src" / "idiograph" / "synth" / "data" / "phq9_grm.yaml"


def test_hand_computed_probabilities() -> None:
    # a = 1, b = (0, 1): at theta = 0, P(X>=1) = 0.5, P(X>=2) = 1/(1+e) = 0.268941...
    p = category_probs(ItemParams(1.0, (0.0, 1.0)), np.array([0.0]))[0]
    assert p == pytest.approx([0.5, 0.5 - 1 / (1 + np.e), 1 / (1 + np.e)], abs=1e-12)


@given(st.floats(0.3, 4.0), st.lists(st.floats(-3, 3), min_size=1, max_size=4), st.floats(-6, 6))
def test_probabilities_are_a_distribution(a: float, bs: list[float], theta: float) -> None:
    p = category_probs(ItemParams(a, tuple(sorted(bs))), np.array([theta]))[0]
    assert p.sum() == pytest.approx(1.0, abs=1e-9) and (p > 0).all()


def test_calibration_recovers_known_parameters() -> None:
    rng = np.random.default_rng(20261123)
    true = [
        ItemParams(a, (b, b + 0.8, b + 1.6))
        for a, b in [(1.2, 0.2), (2.0, 0.5), (1.6, -0.2), (2.5, 1.0), (0.9, 0.0), (1.8, 1.3)]
    ]
    x = sample(true, rng.normal(size=5000), rng)
    x[rng.random(x.shape) < 0.03] = -1  # some missing answers
    fit = calibrate(x, 4)
    assert fit.converged
    for t, f in zip(true, fit.items, strict=True):
        assert abs(f.a - t.a) < 0.35
        assert np.abs(np.array(f.b) - np.array(t.b)).max() < 0.2
    theta, sd = eap(fit.items, x[:200])
    assert np.isfinite(theta).all() and (sd > 0).all()


def test_marginal_distribution_sums_to_one_and_matches_simulation() -> None:
    bank = itembank.load(BANK)
    dist = marginal_score_distribution(bank.items)
    assert dist.sum() == pytest.approx(1.0, abs=1e-9) and len(dist) == 28
    rng = np.random.default_rng(7)
    totals = sample(bank.items, rng.normal(size=40_000), rng).sum(axis=1)
    assert totals.mean() == pytest.approx(dist @ np.arange(28), abs=0.1)


@pytest.mark.skipif(not NHANES.exists(), reason="shared/data/nhanes is not beside this checkout")
def test_nhanes_calibration_holds_out_of_sample_and_matches_the_shipped_bank() -> None:
    x, seqn = itembank.read_nhanes_dpq(NHANES)
    assert x.shape == (5093, 9)  # rows with at least one valid item (PROVENANCE.md: 5,068 complete)
    assert int(((x >= 0).all(axis=1)).sum()) == 5068
    even = seqn % 2 == 0
    half = calibrate(x[even], 4)
    check = itembank.held_out_check(half.items, x[~even])
    assert abs(check["mean_observed"] - check["mean_model"]) < 0.3
    assert abs(check["at_or_above_cut_observed"] - check["at_or_above_cut_model"]) < 0.015
    assert abs(check["zero_observed"] - check["zero_model"]) < 0.03
    shipped = itembank.load(BANK)
    full = calibrate(x, 4)
    for s, f in zip(shipped.items, full.items, strict=True):
        assert abs(s.a - f.a) < 0.01 and np.abs(np.array(s.b) - np.array(f.b)).max() < 0.01
