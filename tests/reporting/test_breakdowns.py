"""Equity breakdowns: groups, intervals and gaps by hand, the ``by`` shape of issue 19, and the differencing check
over random seeded referral tables (hypothesis)."""

from __future__ import annotations

import random
from dataclasses import asdict, fields
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import idiograph.reporting.breakdowns as breakdowns
from idiograph.reporting import disclosure
from idiograph.reporting.breakdowns import (
    BREAKDOWNS,
    GROUP,
    Settings,
    by_groups,
    differencing_check,
    newcombe,
    shown_rate,
    tabulate,
)
from idiograph.reporting.kpis import KPIS, Kpi, Referral, compute

START, END = date(2024, 1, 1), date(2024, 12, 31)
OUTCOMES = ["attended", "attended", "attended", "did_not_attend", "cancelled_by_person", "cancelled_by_service"]
CODES = ["A", "A", "A", "A", "B", "C", "D", "H", "J", "K", "M", "N", "R", "S", "Z", "99", None, "X"]


def referral(i: int, **who: Any) -> Referral:
    """Referred and ended in 2024 after two treatment contacts, at caseness at the start, recovered unless
    ``recovered=False``."""
    recovered = who.pop("recovered", True)
    day = date(2024, 2, 1)
    return Referral(
        referral_id=f"r{i}",
        person_id=f"p{i}",
        team_kind=who.pop("team_kind", "talking_therapies"),
        referral_date=day,
        end_date=day + timedelta(days=90),
        ending_reason="completed",
        assessed_date=day + timedelta(days=7),
        first_treatment_date=day + timedelta(days=14),
        second_treatment_date=day + timedelta(days=28),
        attended_treatment=6,
        phq9_first=15,
        phq9_last=4 if recovered else 14,
        gad7_first=12,
        gad7_last=3 if recovered else 11,
        **who,
    )


def totals_json(referrals: list[Referral]) -> dict[str, dict[str, Any]]:
    r = compute([x for x in referrals if x.team_kind == "talking_therapies"], START, END)
    kpis = {**r.kpis, **getattr(r, "measures", {})}
    return {n: {"numerator": k.numerator, "denominator": k.denominator, "rate": k.rate} for n, k in kpis.items()}


def test_groups_of_a_referral() -> None:
    r = referral(1, ethnicity="N", deprivation_decile=2, age_at_referral=24, sex="male", preferred_language="so")
    assert [GROUP[b](r) for b in BREAKDOWNS] == [
        "Black or Black British",
        "Black or Black British - African",
        "1",  # deciles 1-2 are quintile 1, the most deprived
        "18-24",
        "male",
        "so",
    ]
    blank = referral(2)
    assert [GROUP[b](blank) for b in BREAKDOWNS] == [
        "Not known",
        "Not known",
        "unknown",
        "unknown",
        "unknown",
        "unknown",
    ]
    assert GROUP["ethnic_group"](referral(3, ethnicity="Z")) == "Not stated"
    assert GROUP["imd_quintile"](referral(4, deprivation_decile=10)) == "5"
    assert GROUP["imd_quintile"](referral(5, deprivation_decile=9)) == "5"
    assert GROUP["age_band"](referral(6, age_at_referral=75)) == "75+"


def test_newcombe_against_the_published_values() -> None:
    # Newcombe 1998 (Stat Med 17:873), Table II, method 10 (hybrid score)
    lo, hi = newcombe(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    first = lo
    lo, hi = newcombe(9, 10, 3, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.1705, 0.8090)
    lo, hi = newcombe(5, 56, 0, 29)
    assert (round(lo, 4), round(hi, 4)) == (-0.0381, 0.1926)
    # by hand from the two Wilson intervals: 56/70 is 0.69183..0.87695, 48/80 is 0.49045..0.70038, so the lower
    # end is 0.2 - sqrt((0.8 - 0.69183)^2 + (0.70038 - 0.6)^2) = 0.2 - sqrt(0.011700 + 0.010076) = 0.05243
    assert abs(first - (0.2 - ((0.8 - 0.69183) ** 2 + (0.70038 - 0.6) ** 2) ** 0.5)) < 1e-4


def test_shown_rate_is_the_engine_s_rate_with_its_wilson_interval() -> None:
    assert shown_rate(56, 70) == (80.0, 69.2, 87.7)
    assert shown_rate(0, 0) == (None, None, None)


def hand_table() -> list[Referral]:
    """White: 40 referrals, 30 recovered; Asian: 20, 10 recovered; Black: 3, all recovered; Mixed: 9, 3
    recovered; plus 5 community referrals that must not count."""
    rows: list[Referral] = []
    i = 0
    for code, n, rec in (("A", 40, 30), ("H", 20, 10), ("M", 3, 3), ("D", 9, 3)):
        for j in range(n):
            i += 1
            rows.append(referral(i, ethnicity=code, sex="female" if j % 2 else "male", recovered=j < rec))
    rows += [referral(100 + j, ethnicity="M", team_kind="cmht") for j in range(5)]
    return rows


def test_by_groups_by_hand() -> None:
    rows = hand_table()
    by = by_groups(rows, START, END)
    assert list(by) == list(BREAKDOWNS)
    eg = {c["group"]: c for c in by["ethnic_group"]}
    assert list(eg) == [
        "White",
        "Mixed",
        "Asian or Asian British",
        "Black or Black British",
        "Other ethnic groups",
        "Not stated",
        "Not known",
    ]
    assert [g for g, c in eg.items() if c["reference"]] == ["White"]
    white = eg["White"]["kpis"]["recovery"]
    assert white["numerator"] == 30 and white["denominator"] == 40 and white["rate"] == 75.0
    assert white["suppressed"] is False and white["gap"] is None
    assert white["ci95"] == [pytest.approx(59.8, abs=0.05), pytest.approx(85.8, abs=0.05)]
    asian = eg["Asian or Asian British"]["kpis"]["recovery"]
    # 10 of 20 is published as 10 of 20 (rounded, here exact), rate 50.0 from the unrounded counts; the gap to
    # White is 50 - 75 = -25.0 points with Newcombe's interval
    assert (asian["numerator"], asian["denominator"], asian["rate"], asian["gap"]) == (10, 20, 50.0, -25.0)
    lo, hi = newcombe(10, 20, 30, 40)
    assert asian["gap_ci95"] == [round(100 * lo, 1), round(100 * hi, 1)]
    # Black: 3 referrals (community's 5 left out) are suppressed everywhere; as one small cell among larger
    # ones it takes a second with it: the smallest non-zero, Mixed (9)
    black = eg["Black or Black British"]["kpis"]
    assert black["referrals"] == {"numerator": None, "denominator": None, "rate": None, "suppressed": True}
    assert black["recovery"]["rate"] is None and black["recovery"]["gap"] is None
    assert eg["Mixed"]["kpis"]["referrals"]["numerator"] is None
    assert eg["Mixed"]["kpis"]["referrals"]["suppressed"] is True
    assert eg["Other ethnic groups"]["kpis"]["referrals"] == {
        "numerator": 0,
        "denominator": None,
        "rate": None,
        "suppressed": False,
    }
    # the detailed categories carry their group; within Black, M is the only non-zero category
    cats = {c["group"]: c for c in by["ethnic_category"]}
    assert cats["Black or Black British - Caribbean"]["ethnic_group"] == "Black or Black British"
    assert cats["Black or Black British - Caribbean"]["kpis"]["referrals"]["numerator"] is None
    assert differencing_check(totals_json(rows), by) == []


def test_every_group_and_kpi_of_the_issue_shape() -> None:
    rows = hand_table()
    by = by_groups(rows, START, END)
    names = list(totals_json(rows))
    for cells in by.values():
        for cell in cells:
            assert set(cell) >= {"group", "reference", "kpis"}
            assert list(cell["kpis"]) == names
            for k in cell["kpis"].values():
                assert {"numerator", "denominator", "rate", "suppressed"} <= set(k)
    assert [c["group"] for c in by["imd_quintile"]] == ["1", "2", "3", "4", "5", "unknown"]
    assert [c["group"] for c in by["sex"]] == ["female", "male", "other", "unknown"]
    # the reference is data: the largest recorded group where none is named
    assert [c["group"] for c in by["sex"] if c["reference"]] == ["male"]  # 37 male, 35 female


def test_settings_are_checked_and_the_reference_can_be_chosen() -> None:
    with pytest.raises(ValidationError, match="references: 'ethnicity' is not a breakdown"):
        Settings(version="x", references={"ethnicity": "White"})
    with pytest.raises(ValidationError, match="references: imd_quintile: 'least deprived' is not one of its groups"):
        Settings(version="x", references={"imd_quintile": "least deprived"})
    with pytest.raises(ValidationError, match="references: sex: 'unknown' stands for not recorded"):
        Settings(version="x", references={"sex": "unknown"})
    chosen = Settings(version="x", references={"ethnic_group": "Asian or Asian British"})
    by = by_groups(hand_table(), START, END, chosen)
    white = next(c for c in by["ethnic_group"] if c["group"] == "White")["kpis"]["recovery"]
    assert white["gap"] == 25.0
    no_rounding = Settings(version="x", disclosure=disclosure.DisclosureConfig(round_to=1))
    by = by_groups(hand_table(), START, END, no_rounding)
    assert next(c for c in by["sex"] if c["group"] == "male")["kpis"]["referrals"]["numerator"] == 37


def test_a_rare_language_is_pooled_not_listed() -> None:
    rows = hand_table()[:40]  # White, no language recorded
    rows += [referral(200 + i, preferred_language="pl") for i in range(12)]
    rows += [referral(300 + i, preferred_language="ti") for i in range(2)]
    rows += [referral(400 + i, preferred_language="so") for i in range(3)]
    languages = {c["group"]: c["kpis"]["referrals"] for c in by_groups(rows, START, END)["preferred_language"]}
    assert list(languages) == ["en", "pl", "other languages", "unknown"]  # no ti or so: 2 and 3 referrals
    assert languages["other languages"] == {"numerator": None, "denominator": None, "rate": None, "suppressed": True}
    assert languages["pl"]["suppressed"]  # 12, the smallest beside the 5 (secondary suppression)


def test_the_groups_must_sum_to_the_total() -> None:
    totals, cells = tabulate(hand_table()[:72], START, END)
    cells["sex"]["female"]["referrals"] = Kpi(1, None)
    with pytest.raises(ValueError, match="sex: the groups sum to"):
        breakdowns.publish(totals, cells)


def test_the_check_finds_a_cell_given_away_without_secondary_suppression(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = hand_table()

    def primary_only(
        counts: dict[str, int], margins: Any, rates: Any = (), config: Any = disclosure.DEFAULT, exact: bool = False
    ) -> dict[str, int | None]:
        return disclosure.publish(counts, {k for k, n in counts.items() if disclosure.primary(n, config)}, config)

    monkeypatch.setattr(breakdowns, "protect", primary_only)
    found = differencing_check(totals_json(rows), by_groups(rows, START, END))
    # Black's 3 finished courses: the total (72) less White, Asian and Mixed published as 40, 20 and 10 (8..12 for
    # the 10). Each group's wait within 6 weeks is 100.0% with a Wilson interval that fits one count only (9 of 9
    # is 70.1..100.0, 10 of 10 would be 72.2..100.0), so the 9 and the others are pinned and 72 - 40 - 20 - 9 = 3
    assert "ethnic_group | Black or Black British | finished_course: suppressed but recoverable as 3" in found
    assert (
        "ethnic_category | Black or Black British - Caribbean | finished_course: suppressed but recoverable as 3"
        in found
    )


def test_a_tampered_publication_is_caught() -> None:
    rows = hand_table()
    by = by_groups(rows, START, END)
    cell = next(c for c in by["sex"] if c["group"] == "female")["kpis"]["referrals"]
    cell["numerator"] = 36
    assert any("36 is published" in p for p in differencing_check(totals_json(rows), by))
    by = by_groups(rows, START, END)
    black = next(c for c in by["ethnic_group"] if c["group"] == "Black or Black British")["kpis"]["referrals"]
    black["suppressed"] = False
    assert any("null count without suppressed: true" in p for p in differencing_check(totals_json(rows), by))


# ---- random seeded referral tables ----


@st.composite
def tables(draw: st.DrawFn) -> list[Referral]:
    return random_rows(draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from([3, 12, 40, 120, 300])))


def random_rows(state: int, size: int) -> list[Referral]:
    rng = random.Random(state)
    out: list[Referral] = []
    for i in range(size):
        day = START + timedelta(days=rng.randrange(330))
        attended = rng.choice([0, 0, 1, 2, 3, 6, 8])
        first = day + timedelta(days=rng.randrange(150)) if attended >= 1 else None
        second = first + timedelta(days=rng.randrange(120)) if first and attended >= 2 else None
        last_contact = second or first or day
        ended = rng.random() < 0.7
        end = last_contact + timedelta(days=rng.randrange(60)) if ended else None
        p0 = rng.choice([None, rng.randrange(28)])
        g0 = rng.choice([None, rng.randrange(22)])
        out.append(
            Referral(
                referral_id=f"r{i}",
                person_id=f"p{rng.randrange(size)}",
                team_kind=rng.choice(["talking_therapies"] * 4 + ["cmht"]),
                referral_date=day,
                end_date=end,
                ending_reason="completed" if ended else None,
                assessed_date=day if rng.random() < 0.8 else None,
                first_treatment_date=first,
                second_treatment_date=second,
                attended_treatment=attended,
                phq9_first=p0,
                phq9_last=None if p0 is None or rng.random() < 0.2 else rng.randrange(28),
                gad7_first=g0,
                gad7_last=None if g0 is None or rng.random() < 0.2 else rng.randrange(22),
                ethnicity=rng.choice(CODES),
                age_at_referral=rng.choice([None, 16, 19, 30, 41, 50, 62, 70, 80]),
                sex=rng.choice(["female", "female", "male", "other", None]),
                deprivation_decile=rng.choice([None, *range(1, 11)]),
                preferred_language=rng.choice(["en", "en", "en", "pl", "ur", None]),
                appointments=tuple(
                    (day + timedelta(days=rng.randrange(200)), rng.choice(OUTCOMES)) for _ in range(rng.randrange(6))
                ),
                admissions=tuple(day + timedelta(days=rng.randrange(200)) for _ in range(rng.choice([0, 0, 0, 1, 2]))),
            )
        )
    return out


@seed(19)
@settings(max_examples=120, deadline=None)
@given(tables())
def test_differencing_check_passes_on_random_tables(rows: list[Referral]) -> None:
    by = by_groups(rows, START, END)
    assert differencing_check(totals_json(rows), by) == []
    _, cells = tabulate([r for r in rows if r.team_kind == "talking_therapies"], START, END)
    cells["preferred_language"] = breakdowns._pool_rare(cells["preferred_language"], 7)
    for b, published in by.items():
        for cell in published:
            for name, entry in cell["kpis"].items():
                true = cells[b][cell["group"]][name]
                for part, n in (("numerator", true.numerator), ("denominator", true.denominator)):
                    v = entry[part]
                    if v is None:
                        continue
                    assert v == 0 or (v % 5 == 0 and v >= 10)  # never 1..7, always a multiple of 5
                    assert n is not None and abs(v - n) <= 2 and (v == 0) == (n == 0)
                if entry["rate"] is not None:
                    assert entry["rate"] == true.rate  # from the unrounded counts
                    assert not entry["suppressed"]


def test_the_cohort_aggregate_at_scale_publishes_the_same_by() -> None:
    # cohort.kpis (Ibis) lists only the groups it finds; publish adds the rest, so both paths give one "by"
    ibis = pytest.importorskip("ibis")
    pa = pytest.importorskip("pyarrow")
    from idiograph.cohort import kpis as ck

    rows = [r for r in random_rows(7, 400) if r.team_kind == "talking_therapies"]
    schema = pa.schema([ck.SCHEMA.field(f.name) for f in fields(Referral) if f.name in ck.SCHEMA.names])
    table = pa.Table.from_pylist([asdict(r) for r in rows], schema)
    found = ck.cells(ck.compute(ibis.duckdb.connect(), ibis.memtable(table), START, END))
    totals = {n: k for n, k in found[0].kpis.items() if n in KPIS}
    assert found[0].breakdown == "total"
    at_scale: dict[str, dict[str, dict[str, Kpi]]] = {}
    for cell in found[1:]:
        at_scale.setdefault(cell.breakdown, {})[cell.group] = {n: cell.kpis[n] for n in KPIS}
    assert len(at_scale["ethnic_category"]) < len(breakdowns.VOCABULARY["ethnic_category"])  # E, F, G, L, P absent
    pure_totals, pure_cells = tabulate(rows, START, END)
    only = {b: {g: {n: k[n] for n in KPIS} for g, k in gs.items()} for b, gs in pure_cells.items()}
    direct = breakdowns.publish({n: pure_totals[n] for n in KPIS}, only)
    assert breakdowns.publish(totals, at_scale) == direct
    assert any(k["suppressed"] for c in direct["ethnic_category"] for k in c["kpis"].values())


@seed(22)
@settings(max_examples=6, deadline=None)
@given(tables())
def test_the_reader_solving_every_constraint_at_once_finds_nothing_either(rows: list[Referral]) -> None:
    by = by_groups(rows, START, END)
    assert differencing_check(totals_json(rows), by, exact=True) == []
