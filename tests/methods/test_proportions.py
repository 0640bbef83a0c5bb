"""Wilson (1927) intervals for proportions and Garwood (1936) intervals for rates, against published values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idiograph.methods.proportions import poisson_rate, wilson


def test_eight_of_ten_by_hand() -> None:
    # z = 1.959964, z^2/n = 0.384146; centre = (0.8 + 0.192073) / 1.384146 = 0.716740;
    # half = 1.959964 * sqrt(0.016 + 0.0096036) / 1.384146 = 0.313616 / 1.384146 = 0.226578
    # -> 0.490162 to 0.943318 (published: 0.490 to 0.943)
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.490162, abs=2e-6) and hi == pytest.approx(0.943318, abs=2e-6)


def test_none_and_all_of_ten_touch_the_ends() -> None:
    # with p = 0 the upper end is z^2/n / (1 + z^2/n) = 0.384146 / 1.384146
    assert wilson(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-6))
    assert wilson(10, 10) == (pytest.approx(0.722467, abs=1e-6), 1.0)


@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_newcombe_1998_table(k: int, n: int, lower: float, upper: float) -> None:
    """Newcombe (1998) Stat Med 17:857-872, Table II, method 3 (score interval without continuity correction)."""
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(lower, abs=5e-5) and hi == pytest.approx(upper, abs=5e-5)


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    lo95, hi95 = wilson(30, 100)
    lo99, hi99 = wilson(30, 100, 0.99)
    assert lo99 < lo95 < 0.3 < hi95 < hi99


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_estimate_and_stays_in_zero_to_one(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert lo < hi


@pytest.mark.parametrize(("k", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_impossible_counts_are_refused(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson(k, n)


def test_poisson_rate_against_published_exact_limits() -> None:
    # Garwood limits for 0, 1 and 10 events (e.g. Ulm 1990, Am J Epidemiol 131:373): 0-3.689, 0.0253-5.572,
    # 4.795-18.39; per 2 person-years they halve
    assert poisson_rate(0, 1.0) == (0.0, pytest.approx(3.6889, abs=1e-4))
    assert poisson_rate(1, 1.0) == (pytest.approx(0.02532, abs=1e-5), pytest.approx(5.5716, abs=1e-4))
    lo, hi = poisson_rate(10, 2.0)
    assert lo == pytest.approx(4.7954 / 2, abs=1e-4) and hi == pytest.approx(18.3904 / 2, abs=1e-4)


@given(st.integers(0, 10_000), st.floats(0.01, 1e5))
def test_the_rate_interval_holds_the_estimate(events: int, exposure: float) -> None:
    lo, hi = poisson_rate(events, exposure)
    assert 0.0 <= lo <= events / exposure < hi
