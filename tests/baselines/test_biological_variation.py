"""Coskun's PRI and reference change values against hand-worked figures (CLINICAL.md §4.2, §4.4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.baselines import biological_variation as bv
from idiograph.observations.catalogue import shipped

TEN_FIVE = bv.Variation("s", "c", "example", cvi=10.0, cva=5.0, cva_basis="laboratory", source="test")


def test_total_variation_by_hand() -> None:
    # TV = sqrt((n+1)/n) * sqrt(CVA^2 + CVI^2): n = 1 -> sqrt(2) * sqrt(125) = 15.8114
    assert bv.total_variation(10, 5, 1) == pytest.approx(15.8114, abs=1e-4)
    assert bv.total_variation(10, 5, 4) == pytest.approx(math.sqrt(1.25) * math.sqrt(125), abs=1e-9)


def test_pri_from_published_variation() -> None:
    iv = bv.pri([100.0], TEN_FIVE, 0.95)
    assert iv is not None and iv.method.startswith("biological variation (published")
    assert (iv.lower, iv.upper) == pytest.approx((100 - 1.959964 * 15.8114, 100 + 1.959964 * 15.8114), abs=1e-3)


def test_pri_from_own_results_from_five() -> None:
    # mean 11, s = sqrt(2.5), t(0.975, 4) = 2.776445, sqrt(1 + 1/5): half-width 4.8093
    iv = bv.pri([10.0, 12.0, 11.0, 13.0, 9.0], TEN_FIVE, 0.95)
    assert iv is not None and "own results" in iv.method
    assert (iv.lower, iv.upper) == pytest.approx((11 - 4.8093, 11 + 4.8093), abs=1e-3)
    assert bv.pri([1.0, 2.0], None) is None and bv.pri([], TEN_FIVE) is None


def test_reference_change_values_by_hand() -> None:
    # Fraser: sqrt(2) * 1.96 * sqrt(125) = 30.99 %
    assert bv.rcv_symmetric(10, 5) == pytest.approx(30.99, abs=0.01)
    # Fokkema: sigma = sqrt(ln(0.0125 + 1)) = 0.111457; up = e^(1.96*sqrt2*sigma) - 1 = 36.20 %, down -26.58 %
    up, down = bv.rcv_lognormal(10, 5)
    assert up == pytest.approx(36.20, abs=0.01) and down == pytest.approx(-26.58, abs=0.01)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.5, 60), st.floats(0, 30))
def test_log_normal_rcv_is_asymmetric_around_the_symmetric_one(cvi: float, cva: float) -> None:
    up, down = bv.rcv_lognormal(cvi, cva)
    assert up > -down > 0
    assert (1 + up / 100) * (1 + down / 100) == pytest.approx(1.0)


def test_the_shipped_table_cites_its_sources_and_matches_the_catalogue() -> None:
    table = bv.table()
    assert table, "the biological-variation table is empty"
    for key, v in table.items():
        assert key in shipped(), f"{v.analyte}: code not in the catalogue"
        assert v.source and v.cva_basis in ("desirable", "laboratory")
        if v.cva_basis == "desirable":
            assert v.cva == pytest.approx(0.5 * v.cvi)  # Fraser & Petersen's desirable imprecision
