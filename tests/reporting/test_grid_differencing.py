"""Hazard H-108, differencing across periods: each table passes the one-table differencing check, yet two tables
for overlapping periods give a suppressed cell back (a published rate and its Wilson interval pin the unrounded
counts). With the publication grid enforced only whole financial quarters are published by group, and no two
of them share a day, so no such pair exists."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import combinations, product

from idiograph.reporting import breakdowns as bd
from idiograph.reporting import grid
from idiograph.reporting.disclosure import band
from idiograph.reporting.kpi_report import publication, report_document
from idiograph.reporting.kpis import Referral

JAN, FEB, MAR_END = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 31)
TODAY = date(2026, 12, 4)


def _referral(i: int, ethnicity: str, appointments: list[tuple[date, str]]) -> Referral:
    return Referral(
        referral_id=f"r{i}",
        person_id=f"p{i}",
        team_kind="talking_therapies",
        referral_date=date(2025, 12, 1),
        end_date=None,
        ending_reason=None,
        assessed_date=None,
        first_treatment_date=None,
        second_treatment_date=None,
        attended_treatment=0,
        phq9_first=None,
        phq9_last=None,
        gad7_first=None,
        gad7_last=None,
        ethnicity=ethnicity,
        appointments=tuple(sorted(appointments)),
    )


def _service() -> tuple[list[Referral], int]:
    """A seeded service: White (A) and Asian (H) people with appointments in January to March 2026. In January the
    White group missed exactly 3 appointments (a count to suppress); returns the table and that 3."""
    rng = random.Random(108)
    rows: list[Referral] = []
    outcomes: dict[str, list[tuple[date, str]]] = {"A": [], "H": []}
    for group, dna_jan, att_jan, dna_later, att_later in (("A", 3, 40, 30, 90), ("H", 12, 30, 25, 60)):
        for n, status, first, days in (
            (dna_jan, "did_not_attend", JAN, 31),
            (att_jan, "attended", JAN, 31),
            (dna_later, "did_not_attend", FEB, 59),
            (att_later, "attended", FEB, 59),
        ):
            outcomes[group] += [(first + timedelta(days=rng.randrange(days)), status) for _ in range(n)]
    for group, appts in outcomes.items():
        rng.shuffle(appts)
        for k in range(0, len(appts), 2):  # two appointments a person
            rows.append(_referral(len(rows), group, appts[k : k + 2]))
    return rows, 3


def _white_dna(by: dict) -> dict:  # type: ignore[type-arg]
    cell = next(c for c in by["ethnic_group"] if c["group"] == "White")
    return dict(cell["kpis"]["dna_rate"])


def _pinned(entry: dict) -> tuple[int, int] | None:  # type: ignore[type-arg]
    """The reader of one table: the unrounded (numerator, denominator) behind a published rate and its interval,
    when only one pair inside the two rounding bands gives them."""
    config = bd.settings()
    (n0, n1), (d0, d1) = band(entry["numerator"], config.disclosure), band(entry["denominator"], config.disclosure)
    shown = (entry["rate"], *entry["ci95"])
    fits = [(a, b) for a, b in product(range(n0, n1 + 1), range(d0, d1 + 1)) if a <= b and bd.shown_rate(a, b) == shown]
    return fits[0] if len(fits) == 1 else None


def test_the_old_behaviour_leaked_a_suppressed_cell_across_two_overlapping_periods() -> None:
    table, truth = _service()
    quarter = report_document(table, JAN, MAR_END)  # 2025-26 Q4: a grid period
    overlapping = report_document(table, FEB, MAR_END)  # February and March: not one
    january = report_document(table, JAN, date(2026, 1, 31))
    for doc in (quarter, overlapping, january):  # each table on its own is safe
        assert bd.differencing_check(doc["kpis"], doc["by"]) == []
    assert _white_dna(january["by"])["suppressed"] is True  # 3 missed appointments: suppressed in January's table
    whole, later = _pinned(_white_dna(quarter["by"])), _pinned(_white_dna(overlapping["by"]))
    assert whole is not None and later is not None  # the rates and intervals pin both pairs exactly
    assert whole[0] - later[0] == truth == 3  # the quarter minus February-March: January's suppressed 3


def test_with_the_grid_enforced_the_overlapping_tables_are_never_published() -> None:
    table, _ = _service()
    published = {
        (a, b): report_document(table, a, b, off_grid="withhold", today=TODAY)
        for a, b in ((JAN, MAR_END), (FEB, MAR_END), (JAN, date(2026, 1, 31)))
    }
    assert list(published[(JAN, MAR_END)]["by"]) == list(bd.BREAKDOWNS)  # the quarter: published
    assert published[(FEB, MAR_END)]["by"] == {} and published[(JAN, date(2026, 1, 31))]["by"] == {}
    assert published[(FEB, MAR_END)]["publication"]["overlapping"][0]["name"] == "2025-26 Q4"
    # the quarter's pair is still pinned, but no other published table covers part of it to subtract
    assert _pinned(_white_dna(published[(JAN, MAR_END)]["by"])) is not None


def test_any_two_publishable_periods_share_no_day() -> None:
    """Over seeded random periods (any start, any length up to two years), the ones the grid lets be published by
    group are whole ended quarters, and any two different ones are disjoint: no margin ties a cell of one to a
    cell of the other (every KPI counts events dated in its period), so one cannot be subtracted from another,
    and no sum of several (a half-year, a year) is ever published to subtract them from."""
    rng = random.Random(2026)
    allowed: set[tuple[date, date]] = set()
    for _ in range(3000):
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(1000))
        end = start + timedelta(days=rng.choice([rng.randrange(730), 90, 91, 89, 29, 30, 364, 365]))
        if publication(start, end, TODAY)["on_grid"]:
            allowed.add((start, end))
    for q in grid.overlapping(date(2024, 4, 1), date(2026, 9, 30), "quarter"):  # and every whole quarter
        assert publication(q.start, q.end, TODAY)["on_grid"]
        allowed.add((q.start, q.end))
    assert len(allowed) >= 10  # the ten quarters, and any the random periods hit exactly
    for a, b in allowed:
        assert grid.is_grid_period(a, b, "quarter") and b < TODAY
    for (a1, b1), (a2, b2) in combinations(sorted(allowed), 2):
        assert b1 < a2 or b2 < a1, ((a1, b1), (a2, b2))  # disjoint
    assert not publication(date(2025, 4, 1), date(2026, 3, 31), TODAY)["on_grid"]  # a year of quarters: nested
    assert not publication(date(2026, 7, 1), date(2026, 7, 31), TODAY)["on_grid"]  # a month inside a quarter
