"""NHS Talking Therapies KPIs for a whole referral table, totals and every equity breakdown, in Ibis (issue 19).

The same definitions as the pure engine (``reporting.kpis``, whose module text is the contract): the thresholds
of time and contacts come from ``kpis.yaml`` (``reporting.kpis.definitions``), caseness and reliable change from
the instrument files (``monitoring.outcomes.nhs_talking_therapies``); none is written here as a literal. A test
checks that both give exactly the same numerators and denominators, for the totals and for every group.

Input: a referral table (Parquet, a folder of Parquet files, or CSV) with the columns of
``reporting.kpis.Referral``, one row per referral. Output (:func:`compute`): one row per (breakdown, group) -
``breakdown`` is ``total`` (group ``all``), ``ethnic_group`` (the five high-level NHS groups, ``Not stated``,
``Not known``), ``ethnic_category`` (the detailed NHS category), ``imd_quintile`` (deciles 1-2 -> ``1`` ... 9-10
-> ``5``; ``1`` most deprived), ``age_band`` (``patients.demographics.AGE_BANDS`` on the age at referral), ``sex``
and ``preferred_language`` (``unknown`` where not recorded) - then ``NAME_numerator`` and ``NAME_denominator``
for every KPI and supplementary rate (the denominator is null for a count). The total is always there (zeros
for an empty table); another group is listed when the team kind has at least one referral in it, whatever the
period (``reporting.breakdowns`` lists the rest of each vocabulary, with zeros). The counts are **not**
suppressed: disclosure control runs afterwards on this small aggregate (``reporting.disclosure``).

Written once in Ibis: DuckDB embedded (``cohort.baselines.connect("duckdb")``), PySpark on a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from idiograph.cohort.baselines import InputError, read_file
from idiograph.monitoring.outcomes.nhs_talking_therapies import caseness, criteria
from idiograph.patients.demographics import AGE_BANDS, ETHNIC_CATEGORIES
from idiograph.reporting.kpis import COUNTS, KPIS, SUPPLEMENTARY, Definitions, Kpi, definitions

Scope = Literal["talking_therapies", "community"]
BREAKDOWNS = ("total", "ethnic_group", "ethnic_category", "imd_quintile", "age_band", "sex", "preferred_language")
NAMES = KPIS + SUPPLEMENTARY
NOT_KNOWN = "Not known"  # patients.demographics.ethnic_group's answer for a code not recorded or not recognised
UNKNOWN = "unknown"

DATES = ("referral_date", "end_date", "assessed_date", "first_treatment_date", "second_treatment_date")
SCORES = ("phq9_first", "phq9_last", "gad7_first", "gad7_last")
TEXT = ("referral_id", "person_id", "team_kind", "ending_reason", "ethnicity", "sex", "preferred_language")
INTEGERS = ("attended_treatment", "age_at_referral", "deprivation_decile")
COLUMNS = TEXT + DATES + INTEGERS + SCORES
# The referral table as Arrow (what the benchmark and the tests write): the Referral columns with their types
SCHEMA = pa.schema(
    [(c, pa.string()) for c in TEXT]
    + [(c, pa.date32()) for c in DATES]
    + [(c, pa.int64()) for c in INTEGERS]
    + [(c, pa.float64()) for c in SCORES]
)


def read(con: Any, path: Path) -> ir.Table:
    """The referral table: Parquet (a file or a folder) or CSV, every ``Referral`` column, with its types."""
    return prepare(read_file(con, path, "referrals"))


def prepare(t: ir.Table) -> ir.Table:
    """Check the columns and their kinds, and cast them to one schema (dates, integers, floats, text)."""
    missing = [c for c in COLUMNS if c not in t.columns]
    if missing:
        raise InputError(f"referrals: missing column(s) {', '.join(missing)}")
    casts: dict[str, ir.Value] = {}
    for c in DATES:
        kind = t[c].type()
        if not (kind.is_date() or kind.is_timestamp() or kind.is_string() or kind.is_null()):
            raise InputError(f"{c}: must be a date (YYYY-MM-DD), found {kind}")
        casts[c] = t[c].cast("date")
    for c in INTEGERS:
        kind = t[c].type()
        if not (kind.is_integer() or kind.is_null()):
            raise InputError(f"{c}: must be a whole number, found {kind}")
        casts[c] = t[c].cast("int64")
    for c in SCORES:
        kind = t[c].type()
        if not (kind.is_numeric() or kind.is_null()):
            raise InputError(f"{c}: must be a number, found {kind}")
        casts[c] = t[c].cast("float64")
    for c in TEXT:
        casts[c] = t[c].cast("string")
    return t.select(**{c: casts[c] for c in COLUMNS})


def check(con: Any, t: ir.Table) -> None:
    """The pure engine's ``problems`` on the whole table, in one pass: ``InputError`` naming the column, the rule,
    how many referrals break it and the first of them (an engine that cannot rely on a bad row being absent)."""
    rules = _rules(t)
    counts = con.execute(
        t.aggregate(
            given=t.referral_id.count(),  # ids given (a missing one is a rule of its own)
            ids=t.referral_id.nunique(),
            **{f"r{i}": bad.cast("int64").sum() for i, (_c, _w, bad) in enumerate(rules)},
        )
    ).iloc[0]
    found = []
    for i, (column, why, bad) in enumerate(rules):
        n = int(counts[f"r{i}"] or 0)
        if n:
            first = con.execute(t.filter(bad).select("referral_id").limit(1))["referral_id"].tolist()[0]
            found.append(f"{column}: {why} ({n:,} referral(s), first {first})")
    if int(counts["ids"]) < int(counts["given"]):
        dupes = t.group_by("referral_id").aggregate(n=t.count()).filter(lambda g: g.n > 1)
        n_dupes = int(con.execute(dupes.count()))
        first = con.execute(dupes.select("referral_id").limit(1))["referral_id"].tolist()[0]
        found.append(f"referral_id: appears more than once ({n_dupes:,} id(s), first {first})")
    if found:
        raise InputError("referrals: " + "; ".join(found))


def _rules(t: ir.Table) -> list[tuple[str, str, ir.BooleanValue]]:
    def after(a: ir.DateValue, b: ir.DateValue) -> ir.BooleanValue:
        return (a.notnull() & b.notnull() & (a > b)).fill_null(False)

    rules: list[tuple[str, str, ir.BooleanValue]] = [
        ("referral_id", "is missing", t.referral_id.isnull()),
        ("referral_date", "is missing", t.referral_date.isnull()),
        ("attended_treatment", "is missing or negative", (t.attended_treatment < 0).fill_null(True)),
        ("end_date", "is before the referral date", after(t.referral_date, t.end_date)),
        (
            "ending_reason",
            "is missing for an ended referral",
            t.end_date.notnull() & (t.ending_reason.isnull() | (t.ending_reason == "")).fill_null(True),
        ),
    ]
    for c in ("assessed_date", "first_treatment_date", "second_treatment_date"):
        rules.append((c, "is before the referral date", after(t.referral_date, t[c])))
        rules.append((c, "is after the end date", after(t[c], t.end_date)))
    attended = t.attended_treatment.fill_null(0)
    rules += [
        (
            "first_treatment_date",
            "must be given exactly when attended_treatment is at least 1",
            t.first_treatment_date.isnull() != (attended < 1),
        ),
        (
            "second_treatment_date",
            "must be given exactly when attended_treatment is at least 2",
            t.second_treatment_date.isnull() != (attended < 2),
        ),
        (
            "second_treatment_date",
            "is before the first treatment date",
            after(t.first_treatment_date, t.second_treatment_date),
        ),
    ]
    for m in ("phq9", "gad7"):
        rules.append((f"{m}_last", f"is given without {m}_first", t[f"{m}_last"].notnull() & t[f"{m}_first"].isnull()))
    return rules


def _within(day: ir.DateValue, start: date, end: date) -> ir.BooleanValue:
    return (day.notnull() & (day >= start) & (day <= end)).fill_null(False)


def _days(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    return later.delta(earlier, unit="day")


def flags(t: ir.Table, start: date, end: date, defs: Definitions | None = None) -> dict[str, ir.BooleanValue]:
    """Each numerator's and denominator's condition on one referral, as in ``reporting.kpis.compute``."""
    d = defs or definitions()
    phq9_case, gad7_case = caseness()
    phq9_rc, gad7_rc = criteria()
    if phq9_rc.points is None or gad7_rc.points is None:  # criteria() refuses this; a national rule is in points
        raise InputError("PHQ-9 and GAD-7 must carry their national reliable-change criterion (points)")
    p0, p1, g0, g1 = t.phq9_first, t.phq9_last, t.gad7_first, t.gad7_last

    ended = _within(t.end_date, start, end)
    finished = ended & (t.attended_treatment >= d.finished_min_attended)
    paired = finished & p0.notnull() & p1.notnull() & g0.notnull() & g1.notnull()
    case_start = paired & ((p0 >= phq9_case) | (g0 >= gad7_case))
    # known not at caseness at the start: both first scores, each below caseness (reporting.kpis.not_at_caseness)
    not_case = (p0.notnull() & g0.notnull() & (p0 < phq9_case) & (g0 < gad7_case)).fill_null(False)
    case_denominator = finished & ~not_case  # recovery's denominator: a missing score stays in it
    case_end = (p1 >= phq9_case) | (g1 >= gad7_case)
    down = ((p1 < p0) & ((p0 - p1) >= phq9_rc.points)) | ((g1 < g0) & ((g0 - g1) >= gad7_rc.points))
    up = ((p1 > p0) & ((p1 - p0) >= phq9_rc.points)) | ((g1 > g0) & ((g1 - g0) >= gad7_rc.points))
    recovered = (case_start & ~case_end).fill_null(False)
    improved = (paired & down & ~up).fill_null(False)
    deteriorated = (paired & up).fill_null(False)
    treated = t.first_treatment_date.notnull()
    wait = _days(t.first_treatment_date, t.referral_date)
    second = treated & _within(t.second_treatment_date, start, end)
    gap = _days(t.second_treatment_date, t.first_treatment_date)

    def waited(days: int) -> ir.BooleanValue:
        return (finished & treated & (wait <= days)).fill_null(False)

    return {
        "referrals": _within(t.referral_date, start, end),
        "entered_treatment": _within(t.first_treatment_date, start, end),
        "finished_course": finished,
        "recovery": recovered,
        "recovery/": case_denominator,
        "reliable_recovery": (recovered & improved).fill_null(False),
        "reliable_recovery/": case_denominator,
        "reliable_improvement": improved,
        "reliable_improvement/": finished,
        "reliable_deterioration": deteriorated,
        "reliable_deterioration/": finished,
        "waited_6_weeks": waited(d.waited_6_weeks_days),
        "waited_6_weeks/": finished,
        "waited_18_weeks": waited(d.waited_18_weeks_days),
        "waited_18_weeks/": finished,
        "first_to_second_over_90_days": (second & (gap > d.first_to_second_over_days)).fill_null(False),
        "first_to_second_over_90_days/": second,
        "finished_with_paired_scores": paired,
        "finished_with_paired_scores/": finished,
    }


def _lookup(value: ir.StringValue, mapping: Mapping[str, str], otherwise: str) -> ir.StringValue:
    return ibis.cases(*((value == k, v) for k, v in mapping.items()), else_=otherwise)


def groups(t: ir.Table) -> dict[str, ir.StringValue]:
    """Each breakdown's group of a referral (text), from ``patients.demographics``' vocabularies."""
    age = t.age_at_referral
    band = ibis.cases(
        *(((age >= low) if high is None else ((age >= low) & (age <= high)), label) for low, high, label in AGE_BANDS),
        else_=UNKNOWN,
    )
    decile = t.deprivation_decile
    quintile = ibis.cases(((decile >= 1) & (decile <= 10), ((decile + 1) // 2).cast("string")), else_=UNKNOWN)
    return {
        "total": ibis.literal("all"),
        "ethnic_group": _lookup(t.ethnicity, {k: v[0] for k, v in ETHNIC_CATEGORIES.items()}, NOT_KNOWN),
        "ethnic_category": _lookup(t.ethnicity, {k: v[1] for k, v in ETHNIC_CATEGORIES.items()}, NOT_KNOWN),
        "imd_quintile": quintile,
        "age_band": band,
        "sex": _blank_unknown(t.sex),
        "preferred_language": _blank_unknown(t.preferred_language),
    }


def _blank_unknown(value: ir.StringValue) -> ir.StringValue:
    return ibis.cases((value.isnull() | (value == ""), UNKNOWN), else_=value)


def in_scope(t: ir.Table, scope: Scope, defs: Definitions | None = None) -> ir.Table:
    """The talking-therapies teams' referrals, or every other kind's (community): each is reported apart."""
    kinds = list((defs or definitions()).talking_therapies_kinds)
    talking = t.team_kind.isin(kinds).fill_null(False)
    if scope == "talking_therapies":
        return t.filter(talking)
    if scope == "community":
        return t.filter(~talking)
    raise InputError(f"scope: {scope!r} is not talking_therapies or community")


def expression(t: ir.Table, start: date, end: date, defs: Definitions | None = None) -> ir.Table:
    """Totals and every breakdown as one table expression: each referral's 0/1 flags and groups as one projection,
    a sum per breakdown over it, stacked (``union all``)."""
    if end < start:
        raise InputError(f"to: the period ends ({end}) before it starts ({start})")
    conditions = flags(t, start, end, defs)
    keys = groups(t)
    cols = {f"f{i}": cond.cast("int8") for i, cond in enumerate(conditions.values())}
    wide = t.select(**{f"k_{b}": keys[b] for b in BREAKDOWNS}, **cols)
    names = list(conditions)
    parts = []
    sums = {_column(n): wide[f"f{i}"].sum().cast("int64") for i, n in enumerate(names)}
    for b in BREAKDOWNS:
        if b == "total":  # no group-by: one row even when no referral is in scope (its sums null, then 0)
            agg = wide.aggregate(**sums).mutate(group=ibis.literal("all"))
        else:
            agg = wide.group_by(group=wide[f"k_{b}"]).aggregate(**sums)
        parts.append(agg.mutate(breakdown=ibis.literal(b)).select("breakdown", "group", *sums))
    out = parts[0].union(*parts[1:], distinct=False)
    order = ["breakdown", "group"]
    for n in NAMES:
        order.append(f"{n}_numerator")
        order.append(f"{n}_denominator")
    return out.mutate(
        **{f"{n}_denominator": ibis.null("int64") for n in COUNTS},
        **{c: out[c].fill_null(0) for c in out.columns if c.endswith(("_numerator", "_denominator"))},
    ).select(order)


def _column(name: str) -> str:
    return f"{name[:-1]}_denominator" if name.endswith("/") else f"{name}_numerator"


@dataclass(frozen=True)
class Cell:
    breakdown: str
    group: str
    kpis: dict[str, Kpi]  # KPIS then SUPPLEMENTARY, as reporting.kpis.Kpi (unsuppressed)


def cells(result: pa.Table) -> list[Cell]:
    """The aggregate as ``Kpi`` values, ordered by breakdown (``BREAKDOWNS``) then group."""
    out = []
    for row in result.to_pylist():
        kpis = {n: Kpi(int(row[f"{n}_numerator"]), _maybe_int(row[f"{n}_denominator"])) for n in NAMES}
        out.append(Cell(row["breakdown"], row["group"], kpis))
    return sorted(out, key=lambda c: (BREAKDOWNS.index(c.breakdown), c.group))


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)


def compute(
    con: Any,
    referrals: Path | ir.Table,
    start: date,
    end: date,
    scope: Scope = "talking_therapies",
    defs: Definitions | None = None,
    validate: bool = True,
    say: Callable[[str], None] = lambda _m: None,
) -> pa.Table:
    """Read (a path) or take (a table expression), check, compute; the aggregate as an Arrow table."""
    t = read(con, referrals) if isinstance(referrals, Path) else prepare(referrals)
    if validate:
        say("checking the referral table")
        check(con, t)
    say(f"computing the {scope.replace('_', ' ')} KPIs with every breakdown")
    result: pa.Table = con.to_pyarrow(expression(in_scope(t, scope, defs), start, end, defs))
    return result
