"""The publication grid: the one fixed set of non-overlapping periods for which group-level figures (equity
breakdowns, gaps, team and pathway counts) are published (pure; mypy --strict).

Disclosure control protects one table; two tables for overlapping periods can be subtracted to recover a
suppressed cell, and nested periods leak the same way (a quarter minus two of its months gives the third). So
group-level cells are published only for a period that is exactly one period of one grid (hazard H-108):
calendar months, or NHS financial quarters or years (the financial year starts on 1 April: Q1 is April to June,
Q4 January to March). The grain is ``publication_period`` in ``breakdowns.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

Grain = Literal["month", "quarter", "year"]
GRAINS: tuple[str, ...] = get_args(Grain)
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_FY_START_MONTH = 4  # the NHS financial year starts on 1 April


@dataclass(frozen=True, order=True)
class GridPeriod:
    """One period of the grid, both days included."""

    start: date
    end: date
    grain: Grain

    @property
    def name(self) -> str:
        """As the NHS names it: "April 2026", "2026-27 Q2", "2026-27"."""
        if self.grain == "month":
            return self.start.strftime("%B %Y")
        fy = _financial_year(self.start)
        label = f"{fy}-{(fy + 1) % 100:02d}"
        if self.grain == "year":
            return label
        return f"{label} Q{(_fy_month_index(self.start) // 3) + 1}"


def check_grain(grain: str) -> Grain:
    """``grain`` as a :data:`Grain`, or a ValueError naming the choices."""
    if grain not in GRAINS:
        raise ValueError(f"{grain!r} is not a publication period (give one of {', '.join(GRAINS)})")
    return grain  # type: ignore[return-value]


def _financial_year(day: date) -> int:
    """The calendar year in which ``day``'s financial year starts."""
    return day.year if day.month >= _FY_START_MONTH else day.year - 1


def _fy_month_index(day: date) -> int:
    """Months since the start of ``day``'s financial year (April is 0, March is 11)."""
    return (day.month - _FY_START_MONTH) % 12


def _add_months(first: date, n: int) -> date:
    m = first.year * 12 + first.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def containing(day: date, grain: Grain) -> GridPeriod:
    """The grid period that holds ``day``."""
    size = _MONTHS[check_grain(grain)]
    first = _add_months(day.replace(day=1), -(_fy_month_index(day) % size))  # a month: % 1 is 0
    return GridPeriod(first, _add_months(first, size) - timedelta(days=1), grain)


def exact(start: date, end: date, grain: Grain) -> GridPeriod | None:
    """The grid period that is exactly ``start``..``end``, or None when the period is not one grid period."""
    p = containing(start, grain)
    return p if p.start == start and p.end == end else None


def is_grid_period(start: date, end: date, grain: Grain) -> bool:
    """True when ``start``..``end`` (both included) is exactly one period of the grid."""
    return exact(start, end, grain) is not None


def overlapping(start: date, end: date, grain: Grain) -> list[GridPeriod]:
    """The grid periods that share at least one day with ``start``..``end``, in order."""
    if start > end:
        raise ValueError(f"the period's end ({end.isoformat()}) is before its start ({start.isoformat()})")
    out = [containing(start, grain)]
    while out[-1].end < end:
        out.append(containing(out[-1].end + timedelta(days=1), grain))
    return out


def latest_complete(today: date, grain: Grain) -> GridPeriod:
    """The latest grid period whose last day is before ``today`` (on its last day a period is still running)."""
    return containing(containing(today, grain).start - timedelta(days=1), grain)


def recent(today: date, grain: Grain, n: int) -> list[GridPeriod]:
    """The ``n`` latest complete grid periods, latest first."""
    out = [latest_complete(today, grain)]
    while len(out) < n:
        out.append(containing(out[-1].start - timedelta(days=1), grain))
    return out
