"""A published rate: Wilson interval beside it, suppressed below ten cases, never a bare percentage."""

from __future__ import annotations

import pytest

from idiograph.evaluation.rates import MIN_CELL, PerYear, Share


def test_a_rate_is_printed_with_its_wilson_interval() -> None:
    assert Share(8, 10).text() == "80.0% (49.0-94.3)"
    assert Share(181, 224).text(counts=True) == "80.8% (75.1-85.4) 181/224"
    assert Share(0, 0).text() == "-"


@pytest.mark.parametrize("n", [1, 5, 9])
def test_fewer_than_ten_cases_are_suppressed(n: int) -> None:
    s = Share(n - 1, n)
    assert s.suppressed and s.text() == "suppressed (<10)" and s.text(counts=True) == "suppressed (<10)"
    j = s.as_json()
    assert j["suppressed"] is True and j["rate"] is None and j["low"] is None and j["high"] is None
    assert j["k"] is None and j["n"] is None  # the counts would give back what the suppression hides


def test_ten_cases_are_shown() -> None:
    assert MIN_CELL == 10
    s = Share(0, 10)
    assert not s.suppressed and s.text() == "0.0% (0.0-27.8)"
    assert s.as_json() == {
        "k": 0,
        "n": 10,
        "rate": 0.0,
        "low": 0.0,
        "high": pytest.approx(0.2775, abs=1e-4),
        "suppressed": False,
    }


def test_false_alarms_per_person_year_carry_an_exact_interval() -> None:
    assert PerYear(1, 1.0).text() == "1.000 (0.025-5.572)"
    assert PerYear(0, 0.0).text() == "-"
