"""The Ibis KPI expression (``cohort.kpis``) agrees exactly with the pure engine (``reporting.kpis.compute``) -
totals and every group of every breakdown, the pure engine run on the group's referrals picked out by a plain
Python filter - on a hand-built table with hand-worked figures, on seeded random tables (hypothesis) with the
issue's edge cases, and on the benchmark's generated referrals."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import asdict, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from idiograph.cohort import baselines as cb
from idiograph.cohort import kpis as ck
from idiograph.cohort.baselines import InputError
from idiograph.patients.demographics import AGE_BANDS, ETHNIC_CATEGORIES, ethnic_group
from idiograph.reporting.kpis import Referral, compute, split

D = date.fromisoformat
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = pa.schema([ck.SCHEMA.field(f.name) for f in fields(Referral) if f.name in ck.SCHEMA.names])  # flat columns


def arrow(rows: list[Referral]) -> pa.Table:
    return pa.Table.from_pylist([asdict(r) for r in rows], SCHEMA)


# ---- the breakdowns, in plain Python on one referral (patients.demographics' vocabularies) ----


def _age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return "unknown"


KEYS = {
    "total": lambda r: "all",
    "ethnic_group": lambda r: ethnic_group(r.ethnicity),
    "ethnic_category": lambda r: ETHNIC_CATEGORIES[r.ethnicity][1] if r.ethnicity in ETHNIC_CATEGORIES else "Not known",
    "imd_quintile": lambda r: (
        str((r.deprivation_decile + 1) // 2)
        if r.deprivation_decile is not None and 1 <= r.deprivation_decile <= 10
        else "unknown"
    ),
    "age_band": lambda r: _age_band(r.age_at_referral),
    "sex": lambda r: r.sex or "unknown",
    "preferred_language": lambda r: r.preferred_language or "unknown",
}
Figures = dict[tuple[str, str], dict[str, tuple[int, int | None]]]


def pure(rows: list[Referral], start: date, end: date, community: bool = False) -> Figures:
    """The pure engine on each group's referrals (split by team kind first, as the report does)."""
    talking, others = split(rows)
    mine = others if community else talking
    out: Figures = {}
    for b, key in KEYS.items():
        for g in sorted({key(r) for r in mine} | ({"all"} if b == "total" else set())):
            report = compute([r for r in mine if key(r) == g], start, end)
            out[(b, g)] = {n: (k.numerator, k.denominator) for n, k in {**report.kpis, **report.supplementary}.items()}
    return out


def via_ibis(rows: list[Referral] | pa.Table, start: date, end: date, community: bool = False) -> Figures:
    t = rows if isinstance(rows, pa.Table) else arrow(rows)
    con = ibis.duckdb.connect()
    return figures(ck.compute(con, ibis.memtable(t), start, end, "community" if community else "talking_therapies"))


def figures(result: pa.Table) -> Figures:
    return {
        (c.breakdown, c.group): {n: (k.numerator, k.denominator) for n, k in c.kpis.items()} for c in ck.cells(result)
    }


def differences(a: Figures, b: Figures) -> list[str]:
    out = [f"group {k} only in {'ibis' if k in a else 'pure'}" for k in sorted(set(a) ^ set(b))]
    for k in sorted(set(a) & set(b)):
        out += [f"{k} {n}: ibis {a[k][n]} pure {b[k].get(n)}" for n in a[k] if a[k][n] != b[k].get(n)]
    return out


# ---- a hand-built table, figures worked by hand ----


def ref(
    rid: str,
    referred: str,
    end: str | None = None,
    *,
    person: str | None = None,
    kind: str = "talking_therapies",
    t1: str | None = None,
    t2: str | None = None,
    attended: int = 0,
    scores: tuple[float | None, float | None, float | None, float | None] = (None, None, None, None),
    who: tuple[str | None, int | None, str | None, int | None, str | None] = (None, None, None, None, None),
) -> Referral:
    return Referral(
        referral_id=rid,
        person_id=person or f"p-{rid}",
        team_kind=kind,
        referral_date=D(referred),
        end_date=D(end) if end else None,
        ending_reason="completed" if end else None,
        assessed_date=D(referred) if t1 else None,
        first_treatment_date=D(t1) if t1 else None,
        second_treatment_date=D(t2) if t2 else None,
        attended_treatment=attended,
        phq9_first=scores[0],
        phq9_last=scores[1],
        gad7_first=scores[2],
        gad7_last=scores[3],
        ethnicity=who[0],
        age_at_referral=who[1],
        sex=who[2],
        deprivation_decile=who[3],
        preferred_language=who[4],
    )


START, END = D("2025-04-01"), D("2025-06-30")
HAND = [
    # recovered and reliably improved: at caseness (PHQ-9 15), ends below on both, PHQ-9 down 9; waited 42 days
    ref("a", "2025-02-01", "2025-05-20", t1="2025-03-15", t2="2025-03-22", attended=6, scores=(15, 6, 9, 5),
        who=("A", 30, "female", 2, "en")),
    # one treatment contact: ended in the period but not a finished course
    ref("b", "2025-04-01", "2025-05-01", t1="2025-04-10", attended=1, scores=(14, None, 9, None),
        who=("A", 17, "male", 10, "en")),
    # not at caseness at the start (PHQ-9 9, GAD-7 7): in improvement's denominator, not recovery's; a reliable
    # decrease of exactly 6 on PHQ-9 (the threshold) and none on GAD-7; waited 43 days (over 6 weeks)
    ref("c", "2025-01-01", "2025-06-30", t1="2025-02-13", t2="2025-02-20", attended=3, scores=(9, 3, 7, 5),
        who=("N", 18, "female", 5, "so")),
    # a missing second score (GAD-7 last): finished but no paired scores - in no outcome numerator, but in every
    # outcome denominator (at caseness at the start, PHQ-9 20; reliable change is over all finished courses)
    ref("d", "2025-03-01", "2025-04-15", t1="2025-03-10", t2="2025-03-17", attended=2, scores=(20, 8, 12, None),
        who=("N", 24, "female", 4, None)),
    # ends in a later month (June) than its last session (March): counted in June's period; at caseness on
    # GAD-7 only (8, the threshold), ends at 4: recovered, GAD-7 down exactly 4 - reliable recovery; waited 126
    ref("e", "2024-11-01", "2025-06-02", t1="2025-03-07", t2="2025-03-14", attended=4, scores=(5, 5, 8, 4),
        who=("99", 75, None, None, "pl")),
    # a repeat referral of a's person, received in the period, still open: a referral, nothing else
    ref("f", "2025-06-30", person="p-a", who=("A", 30, "female", 2, "en")),
    # deterioration: PHQ-9 up 6 (reliable), GAD-7 down 4 (reliable) - not improvement, is deterioration; still at
    # caseness at the end; first to second 91 days (over 90), the second contact on the period's first day
    ref("g", "2024-12-01", "2025-05-05", t1="2024-12-31", t2="2025-04-01", attended=5, scores=(12, 18, 10, 6),
        who=("Z", 64, "other", 1, "en")),
    # ends the day after the period: not an outcome of this period; referred the day before it: not a referral
    ref("h", "2025-03-31", "2025-07-01", t1="2025-04-02", t2="2025-04-09", attended=2, scores=(15, 2, 15, 2),
        who=("H", 40, "male", 7, "pa-Guru")),
    # another team kind: reported apart (community)
    ref("i", "2025-04-02", "2025-05-02", kind="community", t1="2025-04-03", t2="2025-04-10", attended=2,
        scores=(20, 2, 15, 2), who=("A", 30, "female", 2, "en")),
]  # fmt: skip


def test_hand_built_table_figures_worked_by_hand() -> None:
    got = via_ibis(HAND, START, END)
    total = got[("total", "all")]
    # referrals b, f (received 1 Apr..30 Jun); entered treatment b, h (first contact in the period)
    assert total["referrals"] == (2, None) and total["entered_treatment"] == (2, None)
    # ended in the period: a, b, c, d, e, g; finished (>= 2 contacts): a, c, d, e, g; paired: a, c, e, g
    assert total["finished_course"] == (5, None)
    assert total["finished_with_paired_scores"] == (4, 5)
    # recovery's denominator: finished less c (known not at caseness: PHQ-9 9, GAD-7 7) = a, d (PHQ-9 20, no
    # pair), e (GAD-7 8), g; recovered: a, e; both also reliably improved
    assert total["recovery"] == (2, 4) and total["reliable_recovery"] == (2, 4)
    # reliable improvement: a (PHQ-9 -9), c (PHQ-9 -6), e (GAD-7 -4); g has a reliable increase; over all 5
    # finished (d without a pair counts against the rate)
    assert total["reliable_improvement"] == (3, 5) and total["reliable_deterioration"] == (1, 5)
    # waits among finished a 42, c 43, d 9, e 126, g 30
    assert total["waited_6_weeks"] == (3, 5) and total["waited_18_weeks"] == (5, 5)
    # second contact in the period: h (7 days), g (91 days)
    assert total["first_to_second_over_90_days"] == (1, 2)
    # breakdowns: a, b, f are White - British (b and f received in the period); a (IMD decile 2 -> quintile 1)
    # the White group's one finished course at caseness; c, d Black African, 18-24
    assert got[("ethnic_category", "White - British")]["referrals"] == (2, None)
    assert got[("ethnic_group", "White")]["recovery"] == (1, 1)
    assert got[("imd_quintile", "1")]["reliable_deterioration"] == (1, 2)  # a and g
    assert got[("imd_quintile", "unknown")]["recovery"] == (1, 1)  # e
    assert got[("age_band", "18-24")]["finished_with_paired_scores"] == (1, 2)  # c paired, d not
    assert got[("age_band", "18-24")]["recovery"] == (0, 1)  # d in (at caseness, no pair), c out (below)
    assert got[("age_band", "18-24")]["reliable_improvement"] == (1, 2)  # c improved, over c and d
    assert got[("age_band", "under 18")]["finished_course"] == (0, None)  # b: one contact
    assert got[("age_band", "75+")]["waited_18_weeks"] == (1, 1)
    assert got[("ethnic_group", "Not known")]["reliable_recovery"] == (1, 1)  # e: code 99
    assert got[("ethnic_group", "Not stated")]["reliable_deterioration"] == (1, 1)  # g: code Z
    assert got[("sex", "unknown")]["recovery"] == (1, 1) and got[("preferred_language", "unknown")][
        "waited_6_weeks"
    ] == (
        1,
        1,
    )
    assert ("ethnic_group", "Asian or Asian British") in got  # h: a group with nothing in the period still listed
    assert differences(got, pure(HAND, START, END)) == []
    community = via_ibis(HAND, START, END, community=True)
    assert community[("total", "all")]["recovery"] == (1, 1)
    assert differences(community, pure(HAND, START, END, community=True)) == []


def test_a_missing_score_stays_in_the_denominators() -> None:
    """Recovery's denominator leaves out only a course known not at caseness (both first scores below); a
    missing score (no first, one measure's first only, no last) counts against every outcome rate."""
    day = dict(t1="2025-04-02", t2="2025-04-09", attended=3)
    rows = [
        ref("below", "2025-04-01", "2025-05-01", **day, scores=(9, None, 7, None)),  # out of recovery's
        ref("none", "2025-04-01", "2025-05-01", **day),  # no first score: in
        ref("phq9", "2025-04-01", "2025-05-01", **day, scores=(9, None, None, None)),  # one measure only: in
        ref("gad7", "2025-04-01", "2025-05-01", **day, scores=(None, None, 7, None)),  # in
        ref("nolast", "2025-04-01", "2025-05-01", **day, scores=(15, None, 9, None)),  # at caseness, no last: in
        ref("rec", "2025-04-01", "2025-05-01", **day, scores=(15, 4, 9, 3)),  # recovered, reliably improved
    ]
    got = via_ibis(rows, START, END)
    total = got[("total", "all")]
    assert total["recovery"] == (1, 5) and total["reliable_recovery"] == (1, 5)
    assert total["reliable_improvement"] == (1, 6) and total["reliable_deterioration"] == (0, 6)
    assert total["finished_with_paired_scores"] == (1, 6)
    assert differences(got, pure(rows, START, END)) == []


def test_reads_parquet_and_checks_the_table(tmp_path: Path) -> None:
    path = tmp_path / "referrals.parquet"
    pq.write_table(arrow(HAND), path)
    con = ibis.duckdb.connect()
    result = ck.compute(con, path, START, END)
    assert {(c.breakdown, c.group): c.kpis["recovery"].numerator for c in ck.cells(result)}[("total", "all")] == 2
    bad = [replace(HAND[0], end_date=D("2025-01-01")), HAND[0], replace(HAND[1], attended_treatment=2)]
    pq.write_table(arrow(bad), path)
    with pytest.raises(InputError) as e:
        ck.compute(con, path, START, END)
    message = str(e.value)
    assert "end_date: is before the referral date (1 referral(s), first a)" in message
    assert "second_treatment_date: must be given exactly when attended_treatment is at least 2" in message
    assert "referral_id: appears more than once (1 id(s), first a)" in message
    pq.write_table(arrow(HAND).drop_columns(["sex"]), path)
    with pytest.raises(InputError, match=r"missing column\(s\) sex"):
        ck.compute(con, path, START, END)
    pq.write_table(
        arrow(HAND).set_column(
            SCHEMA.get_field_index("attended_treatment"), "attended_treatment", pa.array(["2"] * len(HAND))
        ),
        path,
    )
    with pytest.raises(InputError, match="attended_treatment: must be a whole number"):
        ck.compute(con, path, START, END)
    empty = via_ibis([], START, END)  # the total is there, in zeros; no other group
    assert list(empty) == [("total", "all")] and set(empty[("total", "all")].values()) == {(0, None), (0, 0)}
    with pytest.raises(InputError, match="period ends"):
        ck.compute(con, ibis.memtable(arrow(HAND)), END, START)


# ---- seeded random tables with the edge cases ----

SCORE = st.one_of(st.none(), st.integers(0, 27), st.sampled_from([9.5, 10.0, 5.5]))
GAD = st.one_of(st.none(), st.integers(0, 21), st.sampled_from([7.5, 8.0]))
DAY0 = D("2025-01-01")


@st.composite
def tables(draw: st.DrawFn) -> list[Referral]:
    out = []
    for i in range(draw(st.integers(0, 30))):
        referred = DAY0 + timedelta(days=draw(st.integers(0, 200)))
        attended = draw(st.sampled_from([0, 1, 1, 2, 3, 6]))
        t1 = referred + timedelta(days=draw(st.sampled_from([0, 41, 42, 43, 125, 126, 127, 10]))) if attended else None
        t2 = t1 + timedelta(days=draw(st.sampled_from([0, 7, 90, 91]))) if t1 and attended >= 2 else None
        last = max(d for d in (referred, t1, t2) if d is not None)
        # ends at the last session or later (a later month), or stays open
        end = last + timedelta(days=draw(st.sampled_from([0, 1, 35, 70]))) if draw(st.integers(0, 4)) else None
        p0, g0 = draw(SCORE), draw(GAD)
        out.append(
            Referral(
                referral_id=f"r{i}",
                person_id=f"p{draw(st.integers(0, 5))}",  # repeat referrals of the same person
                team_kind=draw(st.sampled_from(["talking_therapies", "talking_therapies", "community"])),
                referral_date=referred,
                end_date=end,
                ending_reason=draw(st.sampled_from(["completed", "disengaged"])) if end else None,
                assessed_date=referred if draw(st.booleans()) else None,
                first_treatment_date=t1,
                second_treatment_date=t2,
                attended_treatment=attended,
                phq9_first=p0,
                phq9_last=draw(SCORE) if p0 is not None else None,
                gad7_first=g0,
                gad7_last=draw(GAD) if g0 is not None else None,
                ethnicity=draw(st.sampled_from([None, "A", "B", "H", "M", "N", "R", "Z", "99", "X"])),
                age_at_referral=draw(st.one_of(st.none(), st.sampled_from([16, 17, 18, 24, 25, 64, 74, 75, 90]))),
                sex=draw(st.sampled_from([None, "female", "male", "other", "unknown"])),
                deprivation_decile=draw(st.one_of(st.none(), st.integers(1, 10))),
                preferred_language=draw(st.sampled_from([None, "en", "pl", "so"])),
            )
        )
    return out


PERIODS = st.tuples(st.integers(0, 330), st.sampled_from([0, 1, 29, 30, 90, 364])).map(
    lambda t: (DAY0 + timedelta(days=t[0]), DAY0 + timedelta(days=t[0] + t[1]))
)


@seed(19)
@settings(max_examples=80, deadline=None, database=None)
@given(tables(), PERIODS, st.booleans())
def test_agrees_with_the_pure_engine_on_random_tables(
    rows: list[Referral], period: tuple[date, date], community: bool
) -> None:
    assert differences(via_ibis(rows, *period, community), pure(rows, *period, community)) == []


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("report_kpis", ROOT / "benchmarks" / "report_kpis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_agrees_on_the_benchmark_referrals(tmp_path: Path) -> None:
    """The benchmark's generator (seeded) makes valid referrals, and the million-row figure is this computation."""
    bench = _benchmark()
    path = tmp_path / "referrals.parquet"
    bench.generate(path, 6_000, seed=3)
    t = pq.read_table(path)
    rows = bench.to_referrals(t)
    start, end = bench.PERIOD
    got = via_ibis(t, start, end)
    assert got[("total", "all")]["finished_course"][0] > 500  # a table where every fraction has something in it
    assert differences(got, pure(rows, start, end)) == []


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_the_same_expression_on_spark_local_mode(tmp_path: Path) -> None:
    """Backend-neutral: the expression run by PySpark (local mode) gives the pure engine's figures too."""
    bench = _benchmark()
    generated = tmp_path / "referrals.parquet"
    bench.generate(generated, 3_000, seed=5)
    hand = tmp_path / "hand.parquet"
    pq.write_table(arrow(HAND), hand)
    con = cb.connect("spark")
    try:
        for path, rows, (start, end) in (
            (hand, HAND, (START, END)),
            (generated, bench.to_referrals(pq.read_table(generated)), bench.PERIOD),
        ):
            assert differences(figures(ck.compute(con, path, start, end)), pure(rows, start, end)) == []
    finally:
        cb.disconnect(con)
