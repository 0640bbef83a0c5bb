"""The publication grid (hazard H-108), by hand: NHS financial quarters and years start on 1 April; a period one
day short or one day long is not a grid period; leap years; the grid periods overlapping a range; names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from idiograph.reporting import breakdowns as bd
from idiograph.reporting import grid
from idiograph.reporting.kpi_report import publication


def test_financial_quarters_start_on_1_april() -> None:
    q = grid.containing(date(2026, 12, 4), "quarter")
    assert (q.start, q.end, q.name) == (date(2026, 10, 1), date(2026, 12, 31), "2026-27 Q3")
    q = grid.containing(date(2026, 4, 1), "quarter")
    assert (q.start, q.end, q.name) == (date(2026, 4, 1), date(2026, 6, 30), "2026-27 Q1")
    q = grid.containing(date(2026, 3, 31), "quarter")
    assert (q.start, q.end, q.name) == (date(2026, 1, 1), date(2026, 3, 31), "2025-26 Q4")
    q = grid.containing(date(2026, 9, 30), "quarter")
    assert (q.start, q.end, q.name) == (date(2026, 7, 1), date(2026, 9, 30), "2026-27 Q2")
    y = grid.containing(date(2027, 2, 1), "year")
    assert (y.start, y.end, y.name) == (date(2026, 4, 1), date(2027, 3, 31), "2026-27")
    y = grid.containing(date(1999, 4, 1), "year")
    assert y.name == "1999-00" and y.end == date(2000, 3, 31)
    m = grid.containing(date(2026, 2, 14), "month")
    assert (m.start, m.end, m.name) == (date(2026, 2, 1), date(2026, 2, 28), "February 2026")


def test_leap_years() -> None:
    assert grid.containing(date(2024, 2, 29), "month").end == date(2024, 2, 29)
    assert grid.is_grid_period(date(2024, 2, 1), date(2024, 2, 29), "month")
    assert not grid.is_grid_period(date(2024, 2, 1), date(2024, 2, 28), "month")  # one day short in a leap year
    assert grid.is_grid_period(date(2025, 2, 1), date(2025, 2, 28), "month")  # not a leap year
    assert not grid.is_grid_period(date(2024, 1, 1), date(2024, 3, 30), "quarter")  # a leap quarter a day short
    assert grid.is_grid_period(date(2023, 4, 1), date(2024, 3, 31), "year")  # 366 days
    assert grid.is_grid_period(date(2024, 1, 1), date(2024, 3, 31), "quarter")  # 91 days


def test_exactly_one_grid_period_and_nothing_else() -> None:
    assert grid.is_grid_period(date(2026, 7, 1), date(2026, 9, 30), "quarter")
    assert not grid.is_grid_period(date(2026, 7, 1), date(2026, 9, 29), "quarter")  # one day short
    assert not grid.is_grid_period(date(2026, 7, 2), date(2026, 9, 30), "quarter")  # starts a day late
    assert not grid.is_grid_period(date(2026, 7, 1), date(2026, 10, 1), "quarter")  # one day long
    assert not grid.is_grid_period(date(2026, 1, 1), date(2026, 3, 31), "year")  # a quarter is not a year
    assert not grid.is_grid_period(date(2026, 1, 1), date(2026, 12, 31), "year")  # a calendar year is not one
    assert not grid.is_grid_period(date(2026, 7, 1), date(2026, 7, 31), "quarter")  # a month is not a quarter
    assert not grid.is_grid_period(date(2026, 4, 1), date(2026, 9, 30), "quarter")  # two quarters
    assert grid.exact(date(2026, 7, 1), date(2026, 9, 30), "quarter") == grid.GridPeriod(
        date(2026, 7, 1), date(2026, 9, 30), "quarter"
    )


def test_the_grid_periods_overlapping_a_range() -> None:
    names = [p.name for p in grid.overlapping(date(2026, 1, 1), date(2026, 6, 30), "quarter")]
    assert names == ["2025-26 Q4", "2026-27 Q1"]
    names = [p.name for p in grid.overlapping(date(2026, 2, 1), date(2026, 3, 31), "quarter")]
    assert names == ["2025-26 Q4"]
    names = [p.name for p in grid.overlapping(date(2026, 3, 31), date(2026, 4, 1), "year")]
    assert names == ["2025-26", "2026-27"]
    assert [p.name for p in grid.overlapping(date(2026, 5, 5), date(2026, 5, 5), "month")] == ["May 2026"]
    with pytest.raises(ValueError, match="before its start"):
        grid.overlapping(date(2026, 5, 5), date(2026, 5, 4), "month")


def test_the_latest_complete_period_and_recent_ones() -> None:
    assert grid.latest_complete(date(2026, 12, 4), "quarter").name == "2026-27 Q2"
    assert grid.latest_complete(date(2026, 9, 30), "quarter").name == "2026-27 Q1"  # Q2's last day: still running
    assert grid.latest_complete(date(2026, 10, 1), "quarter").name == "2026-27 Q2"
    assert grid.latest_complete(date(2026, 4, 1), "year").name == "2025-26"
    assert grid.latest_complete(date(2026, 1, 1), "month").name == "December 2025"
    assert [p.name for p in grid.recent(date(2026, 12, 4), "quarter", 4)] == [
        "2026-27 Q2",
        "2026-27 Q1",
        "2025-26 Q4",
        "2025-26 Q3",
    ]


def test_the_grain_is_data_checked_at_load(tmp_path: Path) -> None:
    assert bd.settings().publication_period == "quarter"
    bad = tmp_path / "breakdowns.yaml"
    bad.write_text(bd.SETTINGS.read_text().replace("publication_period: quarter", "publication_period: weekly"))
    with pytest.raises(ValueError, match=r"breakdowns.yaml: publication_period: .*'weekly' is not a publication"):
        bd.settings(bad)
    with pytest.raises(ValueError, match="not a publication period"):
        grid.containing(date(2026, 1, 1), "week")  # type: ignore[arg-type]


def test_publication_needs_one_grid_period_that_has_ended() -> None:
    today = date(2026, 12, 4)
    on = publication(date(2026, 7, 1), date(2026, 9, 30), today)
    assert on["on_grid"] and on["name"] == "2026-27 Q2" and on["grid"] == "quarter"
    running = publication(date(2026, 10, 1), date(2026, 12, 31), today)  # a grid period, not yet ended
    assert not running["on_grid"] and running["overlapping"] == []
    off = publication(date(2026, 1, 1), date(2026, 6, 30), today)
    assert not off["on_grid"] and off["name"] is None
    assert off["overlapping"] == [
        {"name": "2025-26 Q4", "from": "2026-01-01", "to": "2026-03-31"},
        {"name": "2026-27 Q1", "from": "2026-04-01", "to": "2026-06-30"},
    ]
