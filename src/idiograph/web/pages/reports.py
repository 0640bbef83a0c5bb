"""The Reports page (issue 19) for service leads and commissioners: the KPI report for a period with monthly
trends, the attrition funnel and the equity breakdowns, a CSV of the disclosure-controlled figures, and a
printable page. Aggregates only (``service:summary``); each view is one audited aggregate read."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from idiograph import languages
from idiograph.errors import FieldProblem, InvalidInput
from idiograph.methods.proportions import wilson
from idiograph.reporting import breakdowns as bd
from idiograph.reporting import grid
from idiograph.reporting.disclosure import primary, rounded
from idiograph.reporting.kpi_csv import CSV_COLUMNS, csv_rows
from idiograph.reporting.kpi_report import reports
from idiograph.reporting.kpis import ISSUE_KPIS, STAGES, Referral
from idiograph.reporting.referrals_db import audited_document, cost_by_pathway
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web import report_charts as rc
from idiograph.web.render import render

router = APIRouter(include_in_schema=False)

# name -> (plain name, what it means, which way is better, the national standard in percent)
KPI_WORDS: dict[str, tuple[str, str, str | None, float | None]] = {
    "referrals": ("Referrals received", "New referrals received in the period.", None, None),
    "entered_treatment": (
        "Entered treatment",
        "Referrals whose first treatment appointment was in the period.",
        None,
        None,
    ),
    "finished_course": (
        "Finished a course of treatment",
        "Referrals that ended in the period after at least two treatment appointments.",
        None,
        None,
    ),
    "recovery": (
        "Recovery",
        "Of finished courses not known to have started below caseness (PHQ-9 10 or more, or GAD-7 8 or more, or a "
        "first score missing), the share below caseness on both at the end; a missing last score counts as not "
        "recovered, as nationally.",
        "higher",
        50.0,
    ),
    "reliable_recovery": (
        "Reliable recovery",
        "Recovered and also reliably improved (same courses as recovery).",
        "higher",
        48.0,
    ),
    "reliable_improvement": (
        "Reliable improvement",
        "Of all finished courses, the share whose scores fell by more than measurement error on at least one "
        "questionnaire and rose on neither (a course without scores at the start and end counts as not improved).",
        "higher",
        67.0,
    ),
    "reliable_deterioration": (
        "Reliable deterioration",
        "Of the same courses, the share whose scores rose by more than measurement error on either questionnaire.",
        "lower",
        None,
    ),
    "waited_6_weeks": (
        "Waited 6 weeks or less",
        "Of finished courses, the share that started treatment within 6 weeks (42 days) of referral.",
        "higher",
        75.0,
    ),
    "waited_18_weeks": (
        "Waited 18 weeks or less",
        "Of finished courses, the share that started treatment within 18 weeks (126 days) of referral.",
        "higher",
        95.0,
    ),
    "dna_rate": (
        "Did not attend",
        "Appointments missed without notice, out of all appointments with an outcome (attended, missed or cancelled).",
        "lower",
        None,
    ),
    "disengagement_discharges": (
        "Ended by dropping out",
        "Referrals that ended in the period because the person stopped coming (national ending reasons 16 and 47).",
        "lower",
        None,
    ),
    "crisis_admissions": (
        "Crisis admissions",
        "Inpatient admissions in the period, as far as they are recorded (imported; none recorded shows 0).",
        "lower",
        None,
    ),
}
STAGE_WORDS = {
    "referred": "Referred",
    "assessed": "Assessed",
    "entered_treatment": "Entered treatment",
    "second_session": "Second treatment session",
    "finished_course": "Finished a course",
    "recovered": "Recovered",
}
BREAKDOWN_WORDS = {
    "ethnic_group": "ethnic group",
    "ethnic_category": "ethnic category (detailed)",
    "imd_quintile": "deprivation (IMD quintile)",
    "age_band": "age band",
    "sex": "sex",
    "preferred_language": "preferred language",
}
SHOWN_BREAKDOWNS = ("ethnic_group", "imd_quintile", "age_band", "sex", "preferred_language")
TABLE_KPIS = ("referrals", "recovery", "reliable_improvement", "waited_6_weeks", "dna_rate")
TREND_KPIS = ("recovery", "reliable_improvement", "waited_6_weeks", "waited_18_weeks")
MAX_MONTHS = 36
GRID_CHOICES = 8  # recent complete grid periods offered by the picker
GRAIN_WORD = {"month": "calendar month", "quarter": "financial quarter", "year": "financial year"}
GRAIN_PLURAL = {k: f"whole {w}s" for k, w in GRAIN_WORD.items()}
TEAM_WORDS = {"talking_therapies": "talking-therapies teams", "community": "community teams"}


def _suppress_words() -> str:
    """What a suppressed cell means: the same words for a small count and for one withheld to protect it (telling
    them apart would say which is small)."""
    n = bd.settings().disclosure.suppress_max + 1
    return f"fewer than {n}, or withheld so that a number below {n} cannot be worked out from the totals"


def _month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def _grain() -> grid.Grain:
    return bd.settings().publication_period


def default_period(today: date) -> tuple[date, date]:
    """The latest complete period of the publication grid (by default the last whole NHS financial quarter): the
    one period for which the page publishes everything, group breakdowns included (H-108)."""
    p = grid.latest_complete(today, _grain())
    return p.start, p.end


def grid_choices(today: date, chosen: tuple[date, date] | None = None) -> list[dict[str, Any]]:
    """The picker's recent complete grid periods, latest first, the chosen one marked."""
    return [
        {"value": p.start.isoformat(), "name": p.name, "selected": chosen == (p.start, p.end)}
        for p in grid.recent(today, _grain(), GRID_CHOICES)
    ]


def parse_grid_period(raw: str, today: date) -> tuple[date, date]:
    """A grid period chosen by its first day (the picker's ``period``); an error naming ``period`` otherwise."""
    try:
        first = date.fromisoformat(raw.strip())
    except ValueError:
        first = None
    p = grid.containing(first, _grain()) if first else None
    if p is None or p.start != first or p.end >= today:
        reason = f"{raw!r} is not the first day of a {GRAIN_WORD[_grain()]} that has ended"
        raise InvalidInput(f"The period could not be read: period: {reason}", [FieldProblem("period", reason)])
    return p.start, p.end


def parse_period(
    raw_from: str | None, raw_to: str | None, today: date, raw_grid: str | None = None
) -> tuple[date, date]:
    """The period asked for: a grid period by its first day (``period``), else ``from``/``to`` as YYYY-MM-DD,
    both included; by default the latest complete grid period. A bad date is an error naming its field."""
    if raw_grid and raw_grid.strip():
        return parse_grid_period(raw_grid, today)
    start, end = default_period(today)
    found: list[FieldProblem] = []
    days: dict[str, date] = {}
    for name, raw, default in (("from", raw_from, start), ("to", raw_to, end)):
        text = (raw or "").strip()
        if not text:
            days[name] = default
            continue
        try:
            days[name] = date.fromisoformat(text)
        except ValueError:
            found.append(FieldProblem(name, f"{text!r} is not a date: give it as YYYY-MM-DD, e.g. 2026-04-01"))
    if not found and days["from"] > days["to"]:
        found.append(FieldProblem("to", f"{days['to'].isoformat()} is before from ({days['from'].isoformat()})"))
    if not found and days["to"] > today:
        found.append(FieldProblem("to", f"{days['to'].isoformat()} is in the future (today is {today.isoformat()})"))
    if found:
        raise InvalidInput("The period could not be read: " + "; ".join(f"{p.field}: {p.reason}" for p in found), found)
    return days["from"], days["to"]


def _withheld(numerator: int, denominator: int) -> bool:
    c = bd.settings().disclosure
    return primary(numerator, c) or primary(denominator, c)


def months(table: Sequence[Referral], start: date, end: date) -> dict[str, list[rc.MonthPoint]]:
    """Each trend KPI of the talking-therapies teams, one report per calendar month of the period (the last
    ``MAX_MONTHS``), each month cut to the period. A month's rate is withheld when its numerator or denominator
    is 1 to 7 (too few to read, and disclosive); its denominator is published rounded."""
    c = bd.settings()
    firsts: list[date] = []
    m = _month_start(start)
    while m <= end:
        firsts.append(m)
        m = _month_start(m, -1)
    firsts = firsts[-MAX_MONTHS:]
    out: dict[str, list[rc.MonthPoint]] = {k: [] for k in TREND_KPIS}
    few = f"fewer than {c.disclosure.suppress_max + 1}"
    for first in firsts:
        last = min(_month_start(first, -1) - timedelta(days=1), end)
        report = reports(table, max(first, start), last)["talking_therapies"]
        for name in TREND_KPIS:
            k = report.kpis[name]
            n, d = k.numerator, k.denominator or 0
            label = first.strftime("%b %Y")
            if d == 0:
                out[name].append(rc.MonthPoint(first.strftime("%Y-%m"), label, None, None, None, 0, "none counted"))
            elif _withheld(n, d):
                out[name].append(
                    rc.MonthPoint(
                        first.strftime("%Y-%m"),
                        label,
                        None,
                        None,
                        None,
                        few if primary(d, c.disclosure) else rounded(d, c.disclosure),
                        f"suppressed: {few} counted",
                    )
                )
            else:
                lo, hi = wilson(n, d, c.confidence)
                out[name].append(
                    rc.MonthPoint(
                        first.strftime("%Y-%m"),
                        label,
                        k.rate,
                        round(100 * lo, 1),
                        round(100 * hi, 1),
                        rounded(d, c.disclosure),
                    )
                )
    return out


def funnel_rows(stages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The funnel's stages with the ending reasons of those who stopped at each, all exact: the funnel is a service
    total, as the KPI totals on the same page are. Suppressing its reasons protected nothing (found by review and a
    new user's trial: the exact stage count, or the exact disengagement total, gave a suppressed reason back), so it
    claims no protection; disclosure control is for the breakdowns by group."""
    out = []
    for i, s in enumerate(stages):
        nxt = stages[i + 1]["reached"] if i + 1 < len(stages) else 0
        out.append(
            {
                "stage": s["stage"],
                "label": STAGE_WORDS.get(s["stage"], s["stage"]),
                "reached": s["reached"],
                "went_on": nxt,
                "stopped_here": s["reached"] - nxt,
                "reasons": [(reason.replace("_", " "), n) for reason, n in s["stopped"].items()],
            }
        )
    return out


def group_label(breakdown: str, group: str) -> str:
    """A group as a reader names it: IMD quintiles with which end is which, languages by name, "Not recorded"
    for a value nobody recorded."""
    if group == bd.UNKNOWN:
        return "Not recorded"
    if breakdown == "imd_quintile":
        return f"Quintile {group}" + {"1": " (most deprived)", "5": " (least deprived)"}.get(group, "")
    if breakdown == "preferred_language":
        return languages.name(group)
    if breakdown == "sex":
        return group.capitalize()
    return group


def _labelled(breakdown: str, cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "label": group_label(breakdown, str(c["group"]))} for c in cells]


def _group_points(cells: Sequence[Mapping[str, Any]], kpi: str) -> list[rc.GroupPoint]:
    out = []
    for cell in cells:
        e = cell["kpis"].get(kpi, {})
        why = "suppressed" if e.get("suppressed") else "none counted"
        lo, hi = e.get("ci95") or (None, None)
        out.append(
            rc.GroupPoint(
                str(cell.get("label", cell["group"])), e.get("rate"), lo, hi, bool(cell.get("reference")), why
            )
        )
    return out


def _headline(kpis: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rates with a national standard, met or not, first on the page."""
    out = []
    for name in ("recovery", "reliable_improvement", "waited_6_weeks", "waited_18_weeks"):
        k = kpis.get(name)
        label, _, _, standard = KPI_WORDS[name]
        if k is None or standard is None:
            continue
        rate = k.get("rate")
        lo, hi = wilson(k["numerator"], k["denominator"]) if k.get("denominator") else (None, None)
        out.append(
            {
                "name": name,
                "label": label,
                "rate": rate,
                "low": None if lo is None else round(100 * lo, 1),
                "high": None if hi is None else round(100 * hi, 1),
                "numerator": k["numerator"],
                "denominator": k["denominator"],
                "standard": standard,
                "met": None if rate is None else rate >= standard,
            }
        )
    return out


def _biggest_gaps(by: Mapping[str, Sequence[Mapping[str, Any]]], kpi: str = "recovery") -> list[dict[str, Any]]:
    """Groups whose recovery is below their reference group's with the whole 95% interval of the gap below 0."""
    out = []
    for b in SHOWN_BREAKDOWNS:
        ref = next((group_label(b, str(c["group"])) for c in by.get(b, []) if c.get("reference")), "the reference")
        for cell in by.get(b, []):
            e = cell["kpis"].get(kpi, {})
            gi = e.get("gap_ci95")
            if gi and gi[1] < 0:
                label = group_label(b, str(cell["group"]))
                out.append(
                    {"breakdown": BREAKDOWN_WORDS[b], "group": label, "reference": ref, "gap": e["gap"], "ci": gi}
                )
    return sorted(out, key=lambda g: g["gap"])


def plain_notes(notes: Sequence[str]) -> list[str]:
    """The report's notes in the page's words: KPI names as the page names them; the note that the totals are the
    talking-therapies teams' is left out (the page shows the two kinds side by side)."""
    names = {n: w[0] for n, w in KPI_WORDS.items()} | {"re_referral_within_30_days": "Re-referral within 30 days"}
    out = []
    for note in notes:
        if note.startswith("kpis are"):
            continue
        for code, words in names.items():
            if note.startswith(code + ":"):
                note = words + note[len(code) :]
            if "_" in code:
                note = note.replace(code, words[0].lower() + words[1:])
        out.append(note[:1].upper() + note[1:])
    return out


def context(db: Session, p: Principal, start: date, end: date, today: date | None = None) -> dict[str, Any]:
    """Everything the page shows. Group-level figures (equity by group, gaps, teams, pathways, flexibility by group)
    only when the period is one complete grid period (``doc["publication"]``, H-108); service totals, the months
    and the funnel always."""
    doc, table = audited_document(db, p, start, end, "web", today)
    published = bool(doc["publication"]["on_grid"])
    trend = months(table, start, end)
    figures = [
        rc.trend(f"trend-{k}", KPI_WORDS[k][0], trend[k], KPI_WORDS[k][3], KPI_WORDS[k][2] != "lower")
        for k in TREND_KPIS
    ]
    funnels = {kind: funnel_rows(doc["funnel"][kind]) for kind in ("talking_therapies", "community")}
    funnel_figs = {
        kind: rc.funnel(f"funnel-{kind}", [(r["label"], r["reached"]) for r in rows], TEAM_WORDS[kind])
        for kind, rows in funnels.items()
    }
    equity = []
    for b in SHOWN_BREAKDOWNS if published else ():
        cells = _labelled(b, doc["by"].get(b, []))
        equity.append(
            {
                "key": b,
                "title": BREAKDOWN_WORDS[b],
                "cells": cells,
                "reference": next((c["label"] for c in cells if c.get("reference")), None),
                "figure": rc.by_group(f"equity-{b}", "Recovery", BREAKDOWN_WORDS[b], _group_points(cells, "recovery")),
            }
        )
    return {
        "doc": doc,
        "start": start,
        "end": end,
        "headline": _headline(doc["kpis"]),
        "gaps": _biggest_gaps(doc["by"]),
        "notes": plain_notes(doc.get("notes", [])),
        "kpi_words": KPI_WORDS,
        "kpi_names": ISSUE_KPIS,
        "table_kpis": TABLE_KPIS,
        "trends": figures,
        "trend_points": trend,
        "funnels": funnels,
        "funnel_figs": funnel_figs,
        "equity": equity,
        "suppress_meaning": _suppress_words(),
        "team_words": TEAM_WORDS,
        "stages": STAGES,
        "cost": cost_context(db, start, end, published, table),
        "personalisation": personalisation_context(db, start, end, published),
        "experience": experience_context(doc["experience"]),
        "team_funnel": team_funnel_context(db, table, start, end) if published else {"figure": None, "rows": []},
        "publication": doc["publication"],
        "groups_published": published,
        "grid_plural": GRAIN_PLURAL[doc["publication"]["grid"]],
        "grid_word": GRAIN_WORD[doc["publication"]["grid"]],
    }


def withheld_teams(counts: Mapping[str, tuple[int, int]]) -> set[str]:
    """Teams (numerator, denominator) with a recovered, not-recovered or counted number from 1 to 7; when that is
    one team only, the next smallest too (the service total minus the others would give it back)."""
    few = set(range(1, 8))
    small = {t for t, (n, d) in counts.items() if {n, d - n, d} & few}
    if len(small) == 1 and len(counts) > 1:
        small.add(min((t for t in counts if t not in small), key=lambda t: (counts[t][1], t)))
    return small


def team_funnel_context(db: Session, table: Sequence[Referral], start: date, end: date) -> dict[str, Any]:
    """Recovery by talking-therapies team against the service's rate with 95% and 99.8% limits (reporting.funnel).
    A team with a count of 1 to 7 (recovered, not recovered or counted) is withheld; when exactly one team is
    withheld the next smallest is too, so that the service total minus the others does not give it back."""
    from sqlalchemy import select

    from idiograph.patients.model import Episode
    from idiograph.reporting import funnel
    from idiograph.reporting.kpis import compute, split
    from idiograph.security.model import Team

    names = {
        str(eid): name
        for eid, name in db.execute(select(Episode.id, Team.name).join(Team, Team.id == Episode.team_id)).all()
    }
    talking, _ = split(table)
    overall = compute(talking, start, end).kpis["recovery"]
    if not overall.denominator:
        return {"figure": None, "rows": []}
    p0 = overall.numerator / overall.denominator
    teams: dict[str, list[Referral]] = {}
    for r in talking:
        teams.setdefault(names.get(r.referral_id, "no team"), []).append(r)
    counts = {t: compute(rs, start, end).kpis["recovery"] for t, rs in sorted(teams.items())}
    counts = {t: k for t, k in counts.items() if k.denominator}
    small = withheld_teams({t: (k.numerator, k.denominator or 0) for t, k in counts.items()})
    points = [
        funnel.FunnelPoint(t, None, None, "fewer than 8 counted, or withheld so that it cannot be worked out")
        if t in small
        else funnel.FunnelPoint(t, k.numerator, k.denominator)
        for t, k in counts.items()
    ]
    beyond = {v.team: v.beyond for v in funnel.classify(points, p0)}
    shown = [
        rc.TeamFunnelPoint(
            pt.team,
            None if pt.rate is None else round(100 * pt.rate, 1),
            pt.denominator,
            beyond.get(pt.team, ""),
            pt.why,
        )
        for pt in points
    ]
    n_max = max([pt.denominator or 0 for pt in points] + [8])
    return {
        "figure": rc.team_funnel("team-funnel", "Recovery", round(100 * p0, 1), funnel.curves(p0, n_max), shown),
        "rows": shown,
    }


def cost_context(
    db: Session, start: date, end: date, published: bool = True, referrals: Sequence[Referral] | None = None
) -> dict[str, Any]:
    """Cost by pathway (reporting.cost_db), counts 1-7 withheld; read within the page's one audited aggregate view
    (the caller has checked service:summary). Off the publication grid only the all-pathways row (a service
    total): pathways are groups, and differencing two periods would give a withheld pathway count back."""
    out = cost_by_pathway(db, start, end, referrals)
    if not published:
        out = {**out, "pathways": [r for r in out["pathways"] if r["pathway"] == "all"], "groups_withheld": True}
    return out


FLEX_WORDS = {
    "time": "At the preferred time",
    "place": "At the preferred place",
    "format": "In the preferred format",
    "delegated": "Changes made under delegated authority",
}
COMPARISON_WORDS = {
    "dna_by_preferences_met": ("Missed appointments (did not attend)", "preferences met", "preferences not met"),
    "disengagement_by_preferences_met": ("Discharged for disengagement", "preferences met", "preferences not met"),
    "crisis_admission_by_crisis_plan": ("Crisis admissions", "with a crisis plan", "without a crisis plan"),
}


def _flex_point(label: str, cell: Mapping[str, Any], why: str) -> rc.GroupPoint:
    ci = cell.get("ci") or (None, None)
    if cell.get("rate") is None:
        return rc.GroupPoint(label, None, None, None, why=why)
    return rc.GroupPoint(label, cell["rate"], ci[0], ci[1])


EXPERIENCE_WHEN = {"assessment": "After the assessment", "discharge": "At discharge"}


def experience_context(experience: Mapping[str, Any]) -> dict[str, Any]:
    """People's experience of choice: per form, each question's rate with its interval as a chart, and the table
    with the question's wording and what was counted (service level, counts as published)."""
    why = "suppressed"
    forms = []
    for f in experience["forms"]:
        questions = [q for q in experience["questions"] if q["form"] == f["id"]]
        points = [
            rc.GroupPoint(
                q["label"],
                q["rate"],
                (q["ci"] or (None, None))[0],
                (q["ci"] or (None, None))[1],
                False,
                why if q["suppressed"] else "none answered",
            )
            for q in questions
        ]
        figure = rc.by_group(f"experience-{f['id']}", "Counted answer", EXPERIENCE_WHEN[f["when"]].lower(), points)
        figure["heading"] = f"{EXPERIENCE_WHEN[f['when']]}: the share giving the counted answer to each question"
        figure["caption"] = (
            "Dots: each question's share; lines: its 95% interval (Wilson). A question with no dot was suppressed or "
            "answered by nobody (see the table)."
        )
        forms.append({**f, "heading": EXPERIENCE_WHEN[f["when"]], "questions": questions, "figure": figure})
    return {"forms": forms, "source": experience["source"], "version": experience["version"]}


def personalisation_context(db: Session, start: date, end: date, published: bool = True) -> dict[str, Any]:
    """Care around the person's preferences (reporting.personalisation): the shares at the preferred time, place
    and format, governance, the observational comparisons and who gets flexibility; read within the page's one
    audited aggregate view (the caller has checked service:summary). Who gets flexibility by group only on the
    publication grid (H-108)."""
    from idiograph.reporting.personalisation import report
    from idiograph.reporting.personalisation_db import inputs

    out = report(*inputs(db, start, end))
    if not published:
        out["by"] = {}
    why = "suppressed"
    shares = {**out["preferred"], "delegated": out["governance"]["delegated"]}
    overall = [
        _flex_point(FLEX_WORDS[k], shares[k], why if shares[k].get("suppressed") else "none counted")
        for k in FLEX_WORDS
    ]
    by_ethnic = [
        _flex_point(str(row["group"]), row["place"], why if row["place"].get("suppressed") else "none counted")
        for row in out["by"].get("ethnic_group", [])
    ]
    return {
        **out,
        "words": FLEX_WORDS,
        "comparison_words": COMPARISON_WORDS,
        "figure": rc.by_group("flex-overall", "Appointments and changes", "what the person asked for", overall),
        "equity_figure": rc.by_group("flex-ethnic", "At the preferred place", "ethnic group", by_ethnic)
        if published
        else None,
    }


def _today() -> date:
    return date.today()


@router.get("/reports")
def reports_page(
    request: Request,
    raw_from: str | None = Query(None, alias="from"),
    raw_to: str | None = Query(None, alias="to"),
    raw_grid: str | None = Query(None, alias="period"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.SERVICE_SUMMARY)),
) -> HTMLResponse:
    today = _today()
    try:
        start, end = parse_period(raw_from, raw_to, today, raw_grid)
    except InvalidInput as exc:
        d_from, d_to = default_period(today)
        return render(
            request,
            "reports.html",
            400,
            error=exc,
            problems={f.field: f.reason for f in exc.problems},
            raw_from=raw_from or d_from.isoformat(),
            raw_to=raw_to or d_to.isoformat(),
            grid_choices=grid_choices(today),
            grid_word=GRAIN_WORD[_grain()],
        )
    ctx = context(db, p, start, end, today)
    return render(
        request,
        "reports.html",
        raw_from=start.isoformat(),
        raw_to=end.isoformat(),
        problems={},
        grid_choices=grid_choices(today, (start, end)),
        **ctx,
    )


@router.get("/reports/kpis.csv")
def reports_csv(
    raw_from: str | None = Query(None, alias="from"),
    raw_to: str | None = Query(None, alias="to"),
    raw_grid: str | None = Query(None, alias="period"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.SERVICE_SUMMARY)),
) -> Response:
    """The period's KPI totals and disclosure-controlled breakdowns as CSV (a suppressed cell is empty with
    suppressed true); the breakdowns only for one complete grid period (H-108), totals only otherwise."""
    today = _today()
    start, end = parse_period(raw_from, raw_to, today, raw_grid)
    doc, _ = audited_document(db, p, start, end, "csv", today)
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in csv_rows(doc):
        w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    whole = "" if doc["publication"]["on_grid"] else "-totals-only"  # no group cells off the grid (H-108)
    name = f"idiograph-kpis-{start.isoformat()}-to-{end.isoformat()}{whole}.csv"
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
