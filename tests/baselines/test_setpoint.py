"""Foy et al.'s mixture setpoint: spacing, model choice and dominance (CLINICAL.md §4.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from idiograph.baselines import setpoint as foy

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_only_results_more_than_90_days_from_any_other_are_kept() -> None:
    days = [0, 100, 150, 300, 391, 500]  # 100 and 150 are 50 apart; 300 and 391 are 91 apart
    kept = foy.spaced([(T0 + timedelta(days=d), float(d)) for d in days])
    assert kept == [0.0, 300.0, 391.0, 500.0]


def test_fewer_than_five_gives_no_setpoint() -> None:
    assert foy.setpoint([1.0, 2.0, 3.0, 4.0]) is None


def test_a_dominant_component_sets_the_setpoint() -> None:
    rng = np.random.default_rng(7)
    main = rng.normal(10.0, 0.3, 40)
    outliers = rng.normal(16.0, 0.3, 6)  # 13 % of results from an illness episode
    sp = foy.setpoint(list(np.concatenate([main, outliers])))
    assert sp is not None and sp.components >= 2 and sp.dominant
    assert sp.value == pytest.approx(main.mean(), abs=0.15)  # not dragged towards 16 like the plain mean
    assert np.concatenate([main, outliers]).mean() > sp.value + 0.5


def test_one_cluster_gives_the_plain_mean_and_cv() -> None:
    rng = np.random.default_rng(11)
    xs = list(rng.normal(100.0, 5.0, 30))
    sp = foy.setpoint(xs)
    assert sp is not None and sp.components == 1
    assert sp.value == pytest.approx(float(np.mean(xs)))
    assert sp.cv == pytest.approx(float(np.std(xs, ddof=1)) / float(np.mean(xs)))


def test_two_equal_clusters_do_not_dominate() -> None:
    xs = [10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 20.0, 20.1, 19.9, 20.05, 19.95, 20.02]
    sp = foy.setpoint(xs)
    assert sp is not None and sp.components >= 2 and not sp.dominant
    assert sp.value == pytest.approx(float(np.mean(xs)))


def test_the_setpoint_does_not_depend_on_the_order_results_arrive_in() -> None:
    """The same results always give the same setpoint: EM starts from quantiles, not from the first results.
    Four clusters (a setpoint and three illness episodes) give EM more than one local optimum, so a start that
    depended on the order would land in different ones."""
    rng = np.random.default_rng(100)
    xs = list(np.concatenate([rng.normal(mean, 0.5, n) for mean, n in ((10, 9), (13, 4), (16, 3), (19, 2))]))
    want = foy.setpoint(xs)
    assert want is not None
    for seed in range(8):
        shuffled = list(np.random.default_rng(seed).permutation(xs))
        got = foy.setpoint(shuffled)
        assert got is not None and got.components == want.components and got.dominant == want.dominant
        assert got.value == pytest.approx(want.value, rel=1e-9) and got.sd == pytest.approx(want.sd, rel=1e-9)
    pts = [(T0 + timedelta(days=100 * i), v) for i, v in enumerate(xs)]
    iv = foy.interval(pts, 0.95)
    assert iv == foy.interval(list(reversed(pts)), 0.95)  # time-stamped results in any order
    assert iv is not None and iv.lower < iv.setpoint < iv.upper and "mixture setpoint" in iv.method
