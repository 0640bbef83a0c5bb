"""Funnel-plot limits (Spiegelhalter 2005, exact binomial with interpolation) against hand-computed values."""

from __future__ import annotations

import math

import pytest

from idiograph.reporting.funnel import FunnelPoint, classify, curves, limit


def test_limits_by_hand_small_n() -> None:
    # Binomial(4, 0.5): F(3) = 15/16, F(4) = 1. Upper 97.5%: r = 4, a = (1 - 0.975) / (1/16) = 0.4, (4 - 0.4)/4.
    assert limit(4, 0.5, 0.975) == pytest.approx(0.9)
    # Lower 2.5%: r = 0 (F(0) = 1/16 >= 0.025), a = (0.0625 - 0.025) / 0.0625 = 0.6: (0 - 0.6)/4 < 0, clamped.
    assert limit(4, 0.5, 0.025) == 0.0
    # Binomial(20, 0.5): F(13) = 1 - 60460/2^20, F(14) = 1 - 21700/2^20; r = 14,
    # a = (F(14) - 0.975) / (F(14) - F(13)) = 0.0043053 / 0.0369644 = 0.116471; (14 - a) / 20 = 0.694176.
    f13, f14 = 1 - 60460 / 2**20, 1 - 21700 / 2**20
    by_hand = (14 - (f14 - 0.975) / (f14 - f13)) / 20
    assert by_hand == pytest.approx(0.694176, abs=1e-6)
    assert limit(20, 0.5, 0.975) == pytest.approx(by_hand, abs=1e-12)
    # Lower 2.5%: F(5) = 21700/2^20 < 0.025 <= F(6) = 60460/2^20, r = 6, a = (F(6) - 0.025) / (F(6) - F(5))
    # = 0.883531, (6 - a) / 20 = 0.255823. (The interpolation is Spiegelhalter's as published: not symmetric
    # about p0, the two limits sit 1/n lower than mirror images.)
    f5, f6 = 21700 / 2**20, 60460 / 2**20
    low = (6 - (f6 - 0.025) / (f6 - f5)) / 20
    assert low == pytest.approx(0.255823, abs=1e-6)
    assert limit(20, 0.5, 0.025) == pytest.approx(low, abs=1e-12)


def test_limits_approach_normal_for_large_n() -> None:
    # n = 10000, p0 = 0.5: se = 0.005; 95% about 0.5 +/- 1.96 se, 99.8% about 0.5 +/- 3.09 se.
    se = math.sqrt(0.25 / 10000)
    assert limit(10000, 0.5, 0.975) == pytest.approx(0.5 + 1.959964 * se, abs=1e-4)
    assert limit(10000, 0.5, 0.999) == pytest.approx(0.5 + 3.090232 * se, abs=1e-4)
    assert limit(10000, 0.5, 0.001) == pytest.approx(0.5 - 3.090232 * se, abs=1e-4)


def test_classify_and_curves() -> None:
    # p0 = 0.5, n = 20: 95% upper 0.694, 99.8% upper (Binomial quantile near 0.85); 15/20 = 0.75 is beyond 95%
    # only; 18/20 = 0.9 beyond 99.8%; 10/20 inside; a withheld team is left out.
    pts = [
        FunnelPoint("A", 15, 20),
        FunnelPoint("B", 18, 20),
        FunnelPoint("C", 10, 20),
        FunnelPoint("D", 2, 20),
        FunnelPoint("E", None, None, "fewer than 8"),
    ]
    v = {x.team: x.beyond for x in classify(pts, 0.5)}
    assert v == {"A": "95 above", "B": "99.8 above", "C": "", "D": "99.8 below"}
    c = curves(0.5, 20, steps=5)
    assert c["n"] == [1.0, 6.0, 10.0, 15.0, 20.0]
    assert c["95_high"][-1] == pytest.approx(limit(20, 0.5, 0.975))
    assert all(lo <= hi for lo, hi in zip(c["99.8_low"], c["95_low"], strict=True))


@pytest.mark.parametrize(("n", "p0", "prob", "field"), [(0, 0.5, 0.5, "n"), (5, 1.5, 0.5, "p0"), (5, 0.5, 1.0, "prob")])
def test_bad_arguments_name_the_field(n: int, p0: float, prob: float, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        limit(n, p0, prob)
