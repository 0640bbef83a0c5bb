"""The NHS Talking Therapies KPI engine against an independent implementation of issue 19's definitions.

``independent`` below is written from the issue's text with plain loops and its own thresholds; it calls nothing
of the engine (nor the instrument files): the two agree exactly or the test fails."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.errors import InvalidInput
from idiograph.reporting.breakdowns import BREAKDOWNS, differencing_check
from idiograph.reporting.kpis import CRISIS, ISSUE_KPIS, MEASURES, STAGES, Referral, compute, split

D = date.fromisoformat


def independent(rows: list[dict[str, Any]], start: date, end: date) -> dict[str, Any]:
    """Issue 19's definitions, plainly: {name: (numerator, denominator, rate)} and the funnel's stops."""

    def inside(day: date | None) -> bool:
        return day is not None and start <= day <= end

    def rate(n: int, d: int | None) -> float | None:
        if not d:
            return None
        return ((2000 * n + d) // (2 * d)) / 10  # percent, one decimal, half up, in integers

    referrals = entered = finished = 0
    case = recovered = reliably_recovered = 0
    paired = improved = deteriorated = 0
    six = eighteen = 0
    seconds = over_90 = 0
    stops: dict[tuple[str, str], int] = {}
    ended = 0
    for r in rows:
        if inside(r["referral_date"]):
            referrals += 1
        if inside(r["first_treatment_date"]):
            entered += 1
        if inside(r["second_treatment_date"]):
            seconds += 1
            if (r["second_treatment_date"] - r["first_treatment_date"]).days > 90:
                over_90 += 1
        if not inside(r["end_date"]):
            continue
        ended += 1
        done = r["attended_treatment"] >= 2
        p0, p1, g0, g1 = r["phq9_first"], r["phq9_last"], r["gad7_first"], r["gad7_last"]
        has_pair = None not in (p0, p1, g0, g1)
        # known not at caseness at the start: both first scores there, each below (PHQ-9 < 10, GAD-7 < 8);
        # anything less is not known, and the course stays in recovery's denominator (NHS CDP_B05/B06)
        known_below = p0 is not None and g0 is not None and p0 < 10 and g0 < 8
        got_better = got_worse = at_case = well = False
        if has_pair:
            got_better = p0 - p1 >= 6 or g0 - g1 >= 4
            got_worse = p1 - p0 >= 6 or g1 - g0 >= 4
            at_case = p0 >= 10 or g0 >= 8
            well = p1 < 10 and g1 < 8
        if done:
            finished += 1
            wait = (r["first_treatment_date"] - r["referral_date"]).days
            six += wait <= 42
            eighteen += wait <= 126
            if not known_below:
                case += 1  # with or without paired scores: a missing score counts against the rate
            if has_pair:
                paired += 1
                improved += got_better and not got_worse
                deteriorated += got_worse
                if at_case:
                    recovered += well
                    reliably_recovered += well and got_better and not got_worse
        # the funnel: where this referral stopped
        if r["assessed_date"] is None and r["first_treatment_date"] is None:
            stage = "referred"
        elif r["first_treatment_date"] is None:
            stage = "assessed"
        elif r["second_treatment_date"] is None:
            stage = "entered_treatment"
        elif not done:
            stage = "second_session"
        elif not (has_pair and at_case and well):
            stage = "finished_course"
        else:
            stage = "recovered"
        key = (stage, r["ending_reason"])
        stops[key] = stops.get(key, 0) + 1
    # attendance: every appointment with an outcome dated in the period, whatever its referral did
    outcomes = {"attended", "did_not_attend", "cancelled_by_person", "cancelled_by_service"}
    booked = [status for r in rows for day, status in r.get("appointments", ()) if inside(day)]
    assert all(status in outcomes for status in booked)
    # disengagement: the person dropped out (national 16 before treatment, 47 in it): "disengaged" always,
    # "declined" only once treatment had begun (before it, 14: declined the treatment offered)
    disengaged = sum(
        1
        for r in rows
        if inside(r["end_date"])
        and (r["ending_reason"] == "disengaged" or (r["ending_reason"] == "declined" and r["attended_treatment"] > 0))
    )
    admissions = sum(inside(day) for r in rows for day in r.get("admissions", ()))
    presentations = sum(inside(day) for r in rows for day in r.get("crisis_presentations", ()))
    received = [r for r in rows if inside(r["referral_date"])]
    again = 0
    for r in received:
        gaps = [
            (r["referral_date"] - o["end_date"]).days
            for o in rows
            if o["person_id"] == r["person_id"] and o["referral_id"] != r["referral_id"] and o["end_date"]
        ]
        again += any(0 <= g <= 30 for g in gaps)
    open_rows = [r for r in rows if r["referral_date"] <= end and (r["end_date"] is None or r["end_date"] >= start)]
    at_risk = covered = 0
    for person in sorted({r["person_id"] for r in open_rows}):
        mine = [r for r in open_rows if r["person_id"] == person]
        levels = sorted(x for r in mine for x in r.get("risk_levels", ()) if x[0] <= end)
        if not levels or levels[-1][1] != "high":
            continue
        at_risk += 1
        plans = [r["crisis_plan_from"] for r in mine if r.get("crisis_plan_from")]
        covered += bool(plans) and min(plans) <= end
    figures = {
        "dna_rate": (booked.count("did_not_attend"), len(booked)),
        "disengagement_discharges": (disengaged, None),
        "crisis_admissions": (admissions, None),
        "crisis_presentations": (presentations, None),
        "re_referral_within_30_days": (again, len(received)),
        "crisis_plan_coverage_high_risk": (covered, at_risk),
        "referrals": (referrals, None),
        "entered_treatment": (entered, None),
        "finished_course": (finished, None),
        "recovery": (recovered, case),
        "reliable_recovery": (reliably_recovered, case),
        "reliable_improvement": (improved, finished),  # over all finished courses (NHS CDP_B07)
        "reliable_deterioration": (deteriorated, finished),
        "waited_6_weeks": (six, finished),
        "waited_18_weeks": (eighteen, finished),
        "first_to_second_over_90_days": (over_90, seconds),
        "finished_with_paired_scores": (paired, finished),
    }
    return {
        "kpis": {k: (n, d, rate(n, d)) for k, (n, d) in figures.items()},
        "stops": stops,
        "ended": ended,
    }


def engine(rows: list[dict[str, Any]], start: date, end: date) -> dict[str, Any]:
    report = compute([Referral(**r) for r in rows], start, end)
    stops = {(s.name, reason): n for s in report.funnel for reason, n in s.stopped.items() if n}
    return {
        "kpis": {
            k: (v.numerator, v.denominator, v.rate)
            for k, v in {**report.kpis, **report.supplementary, **report.measures, **report.crisis}.items()
        },
        "stops": stops,
        "ended": report.ended,
    }


def row(
    rid: str,
    referral: str,
    end: str | None,
    reason: str | None,
    *,
    person: str | None = None,
    assessed: str | None = None,
    t1: str | None = None,
    t2: str | None = None,
    attended: int = 0,
    phq9: tuple[float | None, float | None] = (None, None),
    gad7: tuple[float | None, float | None] = (None, None),
    kind: str = "talking_therapies",
    **extra: Any,
) -> dict[str, Any]:
    day = lambda s: D(s) if s else None  # noqa: E731
    return extra | {
        "referral_id": rid,
        "person_id": person or f"p-{rid}",
        "team_kind": kind,
        "referral_date": D(referral),
        "end_date": day(end),
        "ending_reason": reason,
        "assessed_date": day(assessed),
        "first_treatment_date": day(t1),
        "second_treatment_date": day(t2),
        "attended_treatment": attended,
        "phq9_first": phq9[0],
        "phq9_last": phq9[1],
        "gad7_first": gad7[0],
        "gad7_last": gad7[1],
    }


# The issue's edge cases, and every threshold on both sides.
EDGES = [
    # one treatment contact: not a finished course; stops at entered treatment
    row("one", "2025-01-06", "2025-02-20", "disengaged", assessed="2025-01-10", t1="2025-01-20", attended=1,
        phq9=(15, None), gad7=(12, None)),
    # not at caseness at the start (PHQ-9 9, GAD-7 7): in improvement's denominator, not recovery's
    row("notcase", "2025-01-02", "2025-03-10", "completed", assessed="2025-01-05", t1="2025-01-12", t2="2025-01-19",
        attended=6, phq9=(9, 3), gad7=(7, 2)),
    # a missing second score (one PHQ-9 only): finished, waits count; at caseness at the start (PHQ-9 18,
    # GAD-7 14), so in recovery's denominator and in reliable change's (all finished), in no numerator
    row("nosecond", "2025-01-03", "2025-03-20", "completed", assessed="2025-01-06", t1="2025-01-15", t2="2025-01-22",
        attended=4, phq9=(18, None), gad7=(14, 4)),
    # ends in April, two months after its last recorded session (February): counted in April only
    row("late", "2025-01-04", "2025-04-15", "completed", assessed="2025-01-20", t1="2025-02-01", t2="2025-02-08",
        attended=8, phq9=(16, 4), gad7=(12, 3)),
    # a repeat referral: the same person, two referrals, each counts
    row("rep1", "2025-01-10", "2025-02-28", "declined", person="P5", assessed="2025-01-20"),
    row("rep2", "2025-03-05", "2025-05-30", "completed", person="P5", assessed="2025-03-10", t1="2025-04-20",
        t2="2025-04-27", attended=5, phq9=(12, 6), gad7=(9, 7)),  # 46 days; a change of exactly 6: reliable
    # a reliable increase on PHQ-9 (exactly 6) and a reliable decrease on GAD-7 (exactly 4): deteriorated, not
    # improved, not recovered
    row("worse", "2025-02-01", "2025-04-30", "completed", t1="2025-02-10", t2="2025-02-17", attended=3,
        phq9=(10, 16), gad7=(8, 4)),
    # at caseness exactly (10, 8) and below it exactly (9, 7) by less than reliable change: recovered only;
    # 94 days from first to second treatment
    row("edge", "2025-02-03", "2025-05-20", "completed", assessed="2025-02-04", t1="2025-02-05", t2="2025-05-10",
        attended=2, phq9=(10, 9), gad7=(8, 7)),
    # 42 days exactly: within 6 weeks; PHQ-9 down 5 (not reliable), GAD-7 up 3 (not reliable)
    row("wait42", "2025-03-01", "2025-06-01", "completed", t1="2025-04-12", t2="2025-04-19", attended=2,
        phq9=(14, 9), gad7=(5, 8)),
    # 43 days: not within 6 weeks
    row("wait43", "2025-03-01", "2025-06-02", "completed", t1="2025-04-13", t2="2025-04-20", attended=2,
        phq9=(20, 8), gad7=(15, 9)),
    # 126 and 127 days
    row("wait126", "2025-01-01", "2025-06-30", "completed", t1="2025-05-07", t2="2025-05-14", attended=3,
        phq9=(5, 3), gad7=(8, 3)),
    row("wait127", "2025-01-01", "2025-06-30", "completed", t1="2025-05-08", t2="2025-05-15", attended=3,
        phq9=(27, 21), gad7=(21, 21)),
    # still open: counts as referred and entered, second session in the period, never in outcomes
    row("open", "2025-03-01", None, None, t1="2025-03-20", t2="2025-03-27", attended=2, phq9=(12, 11),
        gad7=(9, 9)),
    # not assessed; treated without an attended assessment (counts as assessed in the funnel)
    row("unseen", "2025-04-01", "2025-04-20", "not_suitable"),
    row("noassess", "2025-01-15", "2025-03-01", "disengaged", t1="2025-01-25", attended=1),
    # a community team's referral: reported apart
    row("cmht", "2025-01-15", "2025-03-01", "completed", t1="2025-01-25", t2="2025-02-01", attended=2,
        phq9=(15, 5), gad7=(10, 3), kind="cmht"),
]  # fmt: skip

MONTHS = [
    (date(2025, m, 1), (date(2025, m + 1, 1) if m < 12 else date(2026, 1, 1)) - timedelta(days=1)) for m in range(1, 13)
]


@pytest.mark.parametrize("period", [(date(2025, 1, 1), date(2025, 12, 31)), *MONTHS], ids=str)
def test_engine_agrees_exactly_with_the_independent_implementation(period: tuple[date, date]) -> None:
    talking = [r for r in EDGES if r["team_kind"] == "talking_therapies"]
    assert engine(talking, *period) == independent(talking, *period)


def test_hand_worked_year() -> None:
    talking, community = split([Referral(**r) for r in EDGES])
    assert [r.referral_id for r in community] == ["cmht"]
    k = compute(talking, date(2025, 1, 1), date(2025, 12, 31))
    got = {n: (v.numerator, v.denominator, v.rate) for n, v in {**k.kpis, **k.supplementary}.items()}
    # ended: all but "open" (14); finished: notcase nosecond late rep2 worse edge wait42 wait43 wait126 wait127
    assert got["referrals"] == (15, None, None)  # the repeat referral counts twice
    assert got["entered_treatment"] == (13, None, None)
    assert got["finished_course"] == (10, None, None)
    # paired: the finished less "nosecond" (9)
    assert got["finished_with_paired_scores"] == (9, 10, 90.0)
    # recovery's denominator: the 10 finished less "notcase" (PHQ-9 9 and GAD-7 7 at the start: known not at
    # caseness) = 9, "nosecond" (PHQ-9 18 at the start, no last) in it; "wait126" in by GAD-7 8 alone
    # recovered: late rep2 edge wait126 -> 4/9 = 44.44 -> 44.4
    assert got["recovery"] == (4, 9, 44.4)
    # reliably recovered: late, rep2 (PHQ-9 -6), wait126 (GAD-7 -5); not edge (no reliable change): 3/9 = 33.3
    assert got["reliable_recovery"] == (3, 9, 33.3)
    # improved: notcase late rep2 wait43 wait126 wait127 (PHQ-9 -6, GAD-7 0); not worse, edge, wait42 nor
    # nosecond (no pair); over all 10 finished: 6/10, deteriorated "worse" 1/10
    assert got["reliable_improvement"] == (6, 10, 60.0)
    assert got["reliable_deterioration"] == (1, 10, 10.0)
    # waits (days): notcase 10, nosecond 12, late 28, rep2 46, worse 9, edge 2, wait42 42, wait43 43, 126, 127
    assert got["waited_6_weeks"] == (6, 10, 60.0)
    assert got["waited_18_weeks"] == (9, 10, 90.0)
    # second sessions in the year: the 10 finished and "open"; only "edge" waited over 90 days (94)
    assert got["first_to_second_over_90_days"] == (1, 11, 9.1)
    assert k.ended == 14
    stages = {s.name: s for s in k.funnel}
    assert stages["referred"].stopped == {"not_suitable": 1}
    assert stages["assessed"].stopped == {"declined": 1}
    assert stages["entered_treatment"].stopped == {"disengaged": 2}
    assert stages["recovered"].reached == 4
    assert sum(sum(s.stopped.values()) for s in k.funnel) == k.ended


def test_outcomes_count_in_the_month_the_referral_ended_not_its_last_session() -> None:
    talking = [Referral(**r) for r in EDGES if r["team_kind"] == "talking_therapies"]
    march = compute(talking, *MONTHS[2])
    april = compute(talking, *MONTHS[3])
    assert march.kpis["finished_course"].numerator == 2  # notcase, nosecond
    assert april.kpis["finished_course"].numerator == 2  # late, worse
    assert april.kpis["recovery"].numerator == 1  # late


def _finished(
    rid: str, phq9: tuple[float | None, float | None], gad7: tuple[float | None, float | None]
) -> dict[str, Any]:
    return row(rid, "2025-01-02", "2025-03-10", "completed", t1="2025-01-12", t2="2025-01-19", attended=4,
               phq9=phq9, gad7=gad7)  # fmt: skip


# The reviewer's case: 10 finished courses with paired scores, all at caseness, 5 of them recovered (and
# reliably improved), and 5 more finished courses at caseness at the start that have no last score.
REVIEWER = (
    [_finished(f"rec{i}", (18, 5), (14, 4)) for i in range(5)]  # recovered: below both, PHQ-9 -13, GAD-7 -10
    + [_finished(f"same{i}", (18, 17), (14, 13)) for i in range(5)]  # at caseness still, no reliable change
    + [_finished(f"gone{i}", (18, None), (14, None)) for i in range(5)]  # no last score: no outcome
)


def test_a_missing_last_score_counts_against_the_rate_as_nationally() -> None:
    k = compute([Referral(**r) for r in REVIEWER], date(2025, 1, 1), date(2025, 12, 31))
    got = {n: (v.numerator, v.denominator, v.rate) for n, v in {**k.kpis, **k.supplementary}.items()}
    # NHS CDP_B05: finished (15) less not at caseness at the start (0) = 15; recovered 5 -> 33.33 -> 33.3
    # (dropping the five without a last score would give 5/10 = 50.0)
    assert got["recovery"] == (5, 15, 33.3)
    assert got["reliable_recovery"] == (5, 15, 33.3)
    assert got["reliable_improvement"] == (5, 15, 33.3)  # CDP_B07: over all finished courses
    assert got["reliable_deterioration"] == (0, 15, 0.0)
    assert got["finished_with_paired_scores"] == (10, 15, 66.7)  # the completeness, apart
    assert engine(REVIEWER, date(2025, 1, 1), date(2025, 12, 31)) == independent(
        REVIEWER, date(2025, 1, 1), date(2025, 12, 31)
    )


# Which finished courses are known not to be at caseness at the start (out of recovery's denominator).
CASENESS_UNKNOWN = [
    _finished("both_below", (9, None), (7, None)),  # both first scores below: known not at caseness -> out
    _finished("both_below_paired", (9, 2), (7.5, 1)),  # GAD-7 7.5 < 8: out (paired, reliable improvement)
    _finished("no_first", (None, None), (None, None)),  # no first score at all: not known -> in
    _finished("phq9_only_below", (9, None), (None, None)),  # one measure's first score only: not known -> in
    _finished("gad7_only_below", (None, None), (7, None)),  # likewise -> in
    _finished("gad7_at_case", (9, None), (8, None)),  # GAD-7 8 (caseness exactly): at caseness -> in
    _finished("phq9_at_case", (10, 9), (7, 7)),  # PHQ-9 10 exactly, ends below both: in, recovered
]


def test_only_a_course_known_to_be_below_caseness_leaves_the_recovery_denominator() -> None:
    k = compute([Referral(**r) for r in CASENESS_UNKNOWN], date(2025, 1, 1), date(2025, 12, 31))
    got = {n: (v.numerator, v.denominator, v.rate) for n, v in {**k.kpis, **k.supplementary}.items()}
    # 7 finished less both_below and both_below_paired = 5; recovered: phq9_at_case only -> 20.0
    assert got["recovery"] == (1, 5, 20.0)
    assert got["reliable_recovery"] == (0, 5, 0.0)  # phq9_at_case: PHQ-9 -1, not reliable
    # improved: both_below_paired (PHQ-9 -7, GAD-7 -6.5), over all 7 finished -> 14.29 -> 14.3
    assert got["reliable_improvement"] == (1, 7, 14.3)
    assert got["finished_with_paired_scores"] == (2, 7, 28.6)
    assert engine(CASENESS_UNKNOWN, date(2025, 1, 1), date(2025, 12, 31)) == independent(
        CASENESS_UNKNOWN, date(2025, 1, 1), date(2025, 12, 31)
    )


# Attendance and community measures, every threshold on both sides, for the period March 2025 (1st to 31st).
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
A = lambda *pairs: tuple((D(d), s) for d, s in pairs)  # noqa: E731
COMMUNITY_EDGES = [
    # appointments on the period's first and last day count, the days either side do not; every outcome is in
    # the denominator. DNA rate in March: 2 of 5 (40.0%).
    row("a1", "2025-02-01", None, None, kind="cmht", appointments=A(
        ("2025-02-28", "did_not_attend"), ("2025-03-01", "did_not_attend"), ("2025-03-10", "attended"),
        ("2025-03-17", "cancelled_by_person"), ("2025-03-31", "did_not_attend"), ("2025-04-01", "did_not_attend"))),
    row("a2", "2025-02-01", "2025-03-25", "completed", kind="cmht", t1="2025-03-05", attended=1,
        appointments=A(("2025-03-05", "cancelled_by_service"))),
    # disengaged before any treatment contact (national 16): counts
    row("d1", "2025-01-10", "2025-03-01", "disengaged", kind="cmht", assessed="2025-01-20"),
    # disengaged in treatment (47), on the period's last day: counts
    row("d2", "2025-01-10", "2025-03-31", "disengaged", kind="cmht", t1="2025-02-01", attended=1),
    # declined before treatment (14: declined the treatment offered): not disengagement
    row("d3", "2025-01-10", "2025-03-15", "declined", kind="cmht", assessed="2025-01-20"),
    # declined after one treatment contact (47): counts
    row("d4", "2025-01-10", "2025-03-15", "declined", kind="cmht", t1="2025-02-01", attended=1),
    # disengaged, but ended the day after the period, and one the day before: neither counts
    row("d5", "2025-01-10", "2025-04-01", "disengaged", kind="cmht"),
    row("d6", "2025-01-10", "2025-02-28", "disengaged", kind="cmht"),
    # admissions and crisis presentations on the period's first and last days count, those outside do not
    row("c1", "2025-01-05", None, None, kind="cmht",
        admissions=(D("2025-02-28"), D("2025-03-01"), D("2025-03-31")),
        crisis_presentations=(D("2025-03-01"), D("2025-03-31"), D("2025-04-01"))),
    # re-referral: 30 days after the same person's previous referral ended counts (r2), 31 does not (r4); a
    # referral ended and re-received the same day counts (r6 after r5); a referral never counts against itself
    row("r1", "2025-01-01", "2025-02-01", "completed", person="R", kind="cmht"),
    row("r2", "2025-03-03", None, None, person="R", kind="cmht"),
    row("r3", "2025-01-01", "2025-02-01", "completed", person="S", kind="cmht"),
    row("r4", "2025-03-04", None, None, person="S", kind="cmht"),
    row("r5", "2025-01-01", "2025-03-10", "completed", person="T", kind="cmht"),
    row("r6", "2025-03-10", None, None, person="T", kind="cmht"),
    row("r7", "2025-03-20", "2025-03-20", "other", kind="cmht"),
    # crisis-plan coverage of people at high risk (by their latest risk assessment on or before 31 March):
    # h1 high on the last day, plan on the last day: covered
    row("h1", "2025-01-01", None, None, person="H1", kind="cmht",
        risk_levels=A(("2025-01-05", "low"), ("2025-03-31", "high")), crisis_plan_from=D("2025-03-31")),
    # h2 high, plan the day after the period: at risk, not covered
    row("h2", "2025-01-01", None, None, person="H2", kind="cmht",
        risk_levels=A(("2025-02-01", "high")), crisis_plan_from=D("2025-04-01")),
    # h3 high earlier, medium since: not at high risk
    row("h3", "2025-01-01", None, None, person="H3", kind="cmht",
        risk_levels=A(("2025-01-05", "high"), ("2025-03-02", "medium")), crisis_plan_from=D("2025-01-06")),
    # h4 high only after the period: not at high risk in it
    row("h4", "2025-01-01", None, None, person="H4", kind="cmht", risk_levels=A(("2025-04-01", "high"))),
    # h5 high, but the referral ended before the period began: not counted; h6 high, ended in the period, with
    # a plan from before: covered
    row("h5", "2025-01-01", "2025-02-28", "completed", person="H5", kind="cmht", risk_levels=A(("2025-01-02", "high"))),
    row("h6", "2025-01-01", "2025-03-01", "completed", person="H6", kind="cmht",
        risk_levels=A(("2025-01-02", "high")), crisis_plan_from=D("2024-12-01")),
]  # fmt: skip


def test_attendance_and_community_measures_hand_worked() -> None:
    talking, community = split([Referral(**r) for r in COMMUNITY_EDGES])
    assert talking == []
    k = compute(community, *MARCH)
    got = {n: (v.numerator, v.denominator, v.rate) for n, v in {**k.measures, **k.crisis}.items()}
    assert list(k.measures) == list(MEASURES) and list(k.crisis) == list(CRISIS)
    assert got["dna_rate"] == (2, 5, 40.0)  # a1: 4 in March, the 1st and 31st DNAs; a2: a service cancellation
    assert got["disengagement_discharges"] == (3, None, None)  # d1, d2, d4
    assert got["crisis_admissions"] == (2, None, None)
    assert got["crisis_presentations"] == (2, None, None)
    # received in March: r2, r4, r6, r7 (4); again within 30 days: r2 (30 days), r6 (0 days)
    assert got["re_referral_within_30_days"] == (2, 4, 50.0)
    # at high risk: H1, H2, H6; covered: H1, H6
    assert got["crisis_plan_coverage_high_risk"] == (2, 3, 66.7)
    assert {n: v for n, v in engine(COMMUNITY_EDGES, *MARCH)["kpis"].items()} == independent(COMMUNITY_EDGES, *MARCH)[
        "kpis"
    ]


@pytest.mark.parametrize("period", [MARCH, (date(2025, 1, 1), date(2025, 12, 31)), *MONTHS], ids=str)
def test_community_measures_agree_with_the_independent_implementation(period: tuple[date, date]) -> None:
    assert engine(COMMUNITY_EDGES, *period) == independent(COMMUNITY_EDGES, *period)


def test_an_appointment_without_an_attendance_outcome_is_refused() -> None:
    bad = [row("b", "2025-01-10", None, None, appointments=A(("2025-01-12", "booked")))]
    with pytest.raises(InvalidInput) as e:
        compute([Referral(**r) for r in bad], *MARCH)
    assert [p.field for p in e.value.problems] == ["row 1 (b): appointments"]
    assert "'booked' is not an attendance outcome" in e.value.problems[0].reason


def test_a_table_that_cannot_be_counted_is_refused_by_row_and_column() -> None:
    bad = [
        row("x", "2025-01-10", "2025-01-05", "completed"),
        row("y", "2025-01-10", None, None, t1="2025-01-12", attended=2),
        row("y", "2025-01-10", "2025-02-01", None),
    ]
    with pytest.raises(InvalidInput) as e:
        compute([Referral(**r) for r in bad], date(2025, 1, 1), date(2025, 12, 31))
    fields = {p.field for p in e.value.problems}
    assert "row 1 (x): end_date" in fields
    assert "row 2 (y): second_treatment_date" in fields
    assert "row 3 (y): referral_id" in fields and "row 3 (y): ending_reason" in fields
    with pytest.raises(InvalidInput):
        compute([], date(2025, 2, 1), date(2025, 1, 1))


SCORE = st.one_of(st.none(), st.integers(0, 27))
COUNTS_ALL = (
    "referrals",
    "entered_treatment",
    "finished_course",
    "disengagement_discharges",
    "crisis_admissions",
    "crisis_presentations",
)


@st.composite
def referral_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    day = st.integers(0, 420).map(lambda n: date(2025, 1, 1) + timedelta(days=n))
    status = st.sampled_from(["attended", "did_not_attend", "cancelled_by_person", "cancelled_by_service"])
    people = {}  # a person's risk assessments (on distinct days) and first crisis plan, the same on each referral
    for k in range(9):
        days = draw(st.lists(day, max_size=3, unique=True))
        levels = tuple(sorted((d, draw(st.sampled_from(["low", "medium", "high"]))) for d in days))
        people[f"p{k}"] = {"risk_levels": levels, "crisis_plan_from": draw(st.one_of(st.none(), day))}
    for i in range(draw(st.integers(0, 25))):
        referral = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
        attended = draw(st.integers(0, 5))
        t1 = referral + timedelta(days=draw(st.integers(0, 150))) if attended >= 1 else None
        t2 = t1 + timedelta(days=draw(st.integers(0, 120))) if attended >= 2 and t1 else None
        assessed = referral + timedelta(days=draw(st.integers(0, 30))) if draw(st.booleans()) else None
        last = max(d for d in (referral, assessed, t1, t2) if d is not None)
        end = last + timedelta(days=draw(st.integers(0, 60))) if draw(st.integers(0, 4)) else None
        p0, g0 = draw(SCORE), draw(st.one_of(st.none(), st.integers(0, 21)))
        person = f"p{draw(st.integers(0, 8))}"
        out.append(
            people[person]
            | {
                "appointments": tuple(sorted(draw(st.lists(st.tuples(day, status), max_size=6)))),
                "admissions": tuple(sorted(draw(st.lists(day, max_size=2)))),
                "crisis_presentations": tuple(sorted(draw(st.lists(day, max_size=3)))),
                "referral_id": f"r{i}",
                "person_id": person,
                "team_kind": "talking_therapies",
                "referral_date": referral,
                "end_date": end,
                "ending_reason": draw(st.sampled_from(["completed", "disengaged", "declined", "other"]))
                if end
                else None,
                "assessed_date": assessed,
                "first_treatment_date": t1,
                "second_treatment_date": t2,
                "attended_treatment": attended,
                "phq9_first": p0,
                "phq9_last": draw(SCORE) if p0 is not None else None,
                "gad7_first": g0,
                "gad7_last": draw(st.one_of(st.none(), st.integers(0, 21))) if g0 is not None else None,
            }
        )
    return out


PERIODS = st.tuples(st.integers(0, 400), st.integers(0, 200)).map(
    lambda t: (date(2025, 1, 1) + timedelta(days=t[0]), date(2025, 1, 1) + timedelta(days=t[0] + t[1]))
)


@settings(max_examples=150, deadline=None)
@given(referral_rows(), PERIODS)
def test_properties_and_agreement_on_random_tables(rows: list[dict[str, Any]], period: tuple[date, date]) -> None:
    assert engine(rows, *period) == independent(rows, *period)
    report = compute([Referral(**r) for r in rows], *period)
    for name, k in {**report.kpis, **report.supplementary, **report.measures, **report.crisis}.items():
        if k.denominator is None:
            assert name in (*COUNTS_ALL,) and k.rate is None
            continue
        assert 0 <= k.numerator <= k.denominator
        assert k.rate is None if k.denominator == 0 else 0.0 <= k.rate <= 100.0
    assert report.kpis["finished_course"].numerator <= report.ended
    reached = [s.reached for s in report.funnel]
    assert reached[0] == report.ended and reached == sorted(reached, reverse=True)
    assert [s.name for s in report.funnel] == list(STAGES)
    assert sum(sum(s.stopped.values()) for s in report.funnel) == report.ended
    assert report.funnel[-1].reached == report.kpis["recovery"].numerator


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kpis") / "service"
    r = CliRunner().invoke(app, ["synth", "--people", "150", "--seed", "5", "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    return out


def test_report_kpis_json_from_a_synthetic_service(service: Path, tmp_path: Path) -> None:
    from idiograph.evaluation.kpis_data import referrals

    target = tmp_path / "k.json"
    args = ["report", "kpis", "--data", str(service), "--from", "2024-01-01", "--to", "2024-12-31"]
    r = CliRunner().invoke(app, [*args, "--format", "json", "--out", str(target)])
    assert r.exit_code == 0, r.output
    doc = json.loads(target.read_text())
    assert doc["period"] == {"from": "2024-01-01", "to": "2024-12-31"}
    assert list(doc["by"]) == list(BREAKDOWNS)
    assert differencing_check(doc["kpis"], doc["by"]) == []
    assert list(doc["kpis"]) == list(ISSUE_KPIS) and list(doc["community"]) == list(ISSUE_KPIS)
    for name in ("referrals", "entered_treatment", "finished_course"):
        assert doc["kpis"][name]["denominator"] is None and doc["kpis"][name]["rate"] is None
    rows = [asdict(x) for x in referrals(service)]
    for kind, shown in (("talking_therapies", doc["kpis"]), ("community", doc["community"])):
        mine = [x for x in rows if (x["team_kind"] == "talking_therapies") == (kind == "talking_therapies")]
        want = independent(mine, date(2024, 1, 1), date(2024, 12, 31))
        assert {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in shown.items()} == {
            k: want["kpis"][k] for k in ISSUE_KPIS
        }
        more = {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in doc["supplementary"][kind].items()}
        assert more == {k: want["kpis"][k] for k in more}
        stops = sum(n for stage in doc["funnel"][kind] for n in stage["stopped"].values())
        assert stops == want["ended"] == doc["funnel"][kind][0]["reached"]
    assert doc["kpis"]["referrals"]["numerator"] > 0 and doc["kpis"]["recovery"]["denominator"] > 0
    assert doc["kpis"]["dna_rate"]["denominator"] > 0 and doc["kpis"]["disengagement_discharges"]["numerator"] > 0
    assert any("admissions" in n for n in doc["notes"])

    csv_out = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert csv_out.exit_code == 0
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("teams,breakdown,group,reference_group,kpi,numerator,denominator,rate_percent,")
    assert f"talking_therapies,total,all,,referrals,{doc['kpis']['referrals']['numerator']},,,,,,,,False," in lines
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0 and "funnel" in table.stdout


def test_report_kpis_refuses_bad_options(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(tmp_path), "--from", "2024-13-01"])
    assert r.exit_code == 2 and "--from" in r.output
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(tmp_path)])
    assert r.exit_code == 2 and "idiograph synth" in r.output
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(tmp_path), "--format", "xml"])
    assert r.exit_code == 2
