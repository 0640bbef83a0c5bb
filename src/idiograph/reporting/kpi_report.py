"""The KPI report as one document (issue 19's JSON), from a referral table: the same for the command line
(``idiograph report kpis``), the Reports page and any export, whichever source the referrals came from (a
synthetic folder, ``evaluation.kpis_data``; the database, ``reporting.referrals_db``). Pure: no database.

Its shape: ``period`` {from, to}; ``definitions`` (the version of ``kpis.yaml``); ``kpis`` {NAME: {numerator,
denominator, rate}} for talking-therapies teams, NAME in ``ISSUE_KPIS`` (a count has denominator null; a rate is
a percent to 1 decimal place, null when its denominator is 0); ``community`` the same for every other team kind;
``by`` the equity breakdowns; ``supplementary`` and ``funnel`` by team kind; ``notes`` what the figures cannot
say. Totals are not rounded: disclosure control applies to ``by`` only.

Group-level cells are safe only for a period that is exactly one period of the publication grid
(``reporting.grid``, ``publication_period`` in ``breakdowns.yaml``; hazard H-108): two tables for overlapping or
nested periods can be subtracted. For any other period ``off_grid="note"`` (the command line, for a data team)
keeps ``by`` and says so in ``notes``; ``off_grid="withhold"`` (every published output: the Reports page, its CSV,
FHIR) leaves ``by`` empty and ``publication`` says why, with the grid periods overlapping the one asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.reporting import grid
from idiograph.reporting.breakdowns import Settings, by_groups, settings
from idiograph.reporting.kpis import Definitions, Kpi, Referral, Report, compute, definitions, split

KINDS = ("talking_therapies", "community")
NOTES = (
    "kpis are the talking-therapies teams' (the NHS Talking Therapies definitions); community is every other "
    "team kind by the same definitions, for comparison (the national KPIs do not cover them).",
    "dna_rate: did not attend over appointments with an attendance outcome (attended, did not attend, cancelled "
    "by the person or by the service) dated in the period.",
    "disengagement_discharges: referrals ended in the period whose ending reason is a national NHS Talking "
    "Therapies ending reason meaning the person dropped out (16: incomplete assessment; 47: treatment ended "
    "earlier than the care professional planned); the mapping is in kpis.yaml.",
    "crisis_admissions: inpatient admissions dated in the period, only as far as they are recorded: the "
    "application records no admissions itself (they come by FHIR import as encounters of class IMP, ACUTE or "
    "NONAC, or from a synthetic folder's events); none recorded shows 0.",
    "re_referral_within_30_days is a new referral within 30 days of the previous one ending, not an inpatient "
    "readmission (discharges from hospital are not recorded); follow-up within 72 hours of inpatient discharge "
    "is not reported for the same reason.",
)


def period_of(referrals: Sequence[Referral]) -> tuple[date, date] | None:
    """The first and last day the referral table mentions (None when it mentions none)."""
    days = [
        d
        for r in referrals
        for d in (
            r.referral_date,
            r.end_date,
            r.assessed_date,
            r.first_treatment_date,
            r.second_treatment_date,
            *(day for day, _ in r.appointments),
            *r.crisis_presentations,
            *r.admissions,
        )
        if d is not None
    ]
    return (min(days), max(days)) if days else None


def reports(
    referrals: Sequence[Referral], start: date, end: date, defs: Definitions | None = None
) -> dict[str, Report]:
    """The engine's report for each team kind (``KINDS``)."""
    d = defs or definitions()
    talking, community = split(referrals, d)
    return {"talking_therapies": compute(talking, start, end, d), "community": compute(community, start, end, d)}


def shape(kpis: dict[str, Kpi]) -> dict[str, dict[str, Any]]:
    return {n: {"numerator": k.numerator, "denominator": k.denominator, "rate": k.rate} for n, k in kpis.items()}


# A referral table (a synthetic folder) records no preferences, decisions or crisis plans: the database's
# reader (reporting.referrals_db.kpi_document) puts reporting.personalisation's section here instead.
PERSONALISATION_NOT_AVAILABLE: dict[str, Any] = {
    "available": False,
    "note": "Not available from a referral table (a synthetic folder has no preferences, governance decisions or "
    "crisis plans); the database report includes it.",
}

# Nor does it hold what people said about their choices: those answers come through the self-report link into the
# database (reporting.experience_db), whose reader puts them here.
EXPERIENCE_NOT_AVAILABLE: dict[str, Any] = {
    "available": False,
    "note": "Not available from a referral table: people's experience of choice is answered through the "
    "self-report link and held in the database; the database report includes it.",
}

COMMUNITY_OUTCOMES_NOT_AVAILABLE: dict[str, Any] = {
    "available": False,
    "note": "Not available from a referral table: DIALOG and Goal-Based Outcomes scores are held in the database; "
    "the database report includes them.",
}

INPATIENT_NOT_AVAILABLE: dict[str, Any] = {
    "available": False,
    "reason": "Not available from a referral table: follow-up after inpatient discharge and readmission need "
    "admissions with their discharge times, held in the database; the database report includes them.",
}


GRAIN_WORDS = {"month": "calendar months", "quarter": "NHS financial quarters", "year": "NHS financial years"}


def publication(start: date, end: date, today: date | None = None, config: Settings | None = None) -> dict[str, Any]:
    """Whether group-level cells may be published for ``start``..``end``: exactly one grid period that has ended
    before ``today`` (a period still running would be published again, larger, once it ends). ``overlapping`` are
    the complete grid periods sharing a day with it, to offer instead."""
    c = config or settings()
    day = today or date.today()
    found = grid.exact(start, end, c.publication_period)
    around = [p for p in grid.overlapping(start, end, c.publication_period) if p.end < day]
    return {
        "grid": c.publication_period,
        "grid_words": GRAIN_WORDS[c.publication_period],
        "on_grid": found is not None and found.end < day,
        "name": found.name if found is not None else None,
        "overlapping": [{"name": p.name, "from": p.start.isoformat(), "to": p.end.isoformat()} for p in around],
    }


def off_grid_note(start: date, end: date, status: dict[str, Any]) -> str:
    """The note of a report whose ``by`` is kept for a period that is not one grid period (the command line)."""
    names = ", ".join(p["name"] for p in status["overlapping"]) or "none has ended yet"
    return (
        f"by: {start.isoformat()} to {end.isoformat()} is not one period of the publication grid "
        f"({status['grid_words']}; breakdowns.yaml publication_period). Do not publish these group cells: cells of "
        "overlapping or nested periods can be subtracted from each other to recover a suppressed count "
        f"(differencing, hazard H-108). Grid periods overlapping it: {names}."
    )


def report_document(
    referrals: Sequence[Referral],
    start: date | None = None,
    end: date | None = None,
    defs: Definitions | None = None,
    off_grid: Literal["note", "withhold"] = "note",
    today: date | None = None,
) -> dict[str, Any]:
    """Issue 19's KPI document for ``start``..``end`` (both included; by default the days the table mentions).
    For a period that is not one complete grid period, ``off_grid`` says whether ``by`` is kept with a note (for
    a data team) or withheld (for publication)."""
    d = defs or definitions()
    if start is None or end is None:
        found = period_of(referrals)
        if found is None:
            raise InvalidInput(
                "there are no referrals to take the period from", [FieldProblem("from", "give the period's days")]
            )
        start, end = start or found[0], end or found[1]
    r = reports(referrals, start, end, d)
    talking = r["talking_therapies"]
    status = publication(start, end, today)
    withhold = off_grid == "withhold" and not status["on_grid"]
    # talking-therapies teams, disclosure-controlled
    by: dict[str, Any] = {} if withhold else by_groups(referrals, start, end, defs=d)
    unknown = sum(1 for x in referrals if x.team_kind == "unknown")
    doc: dict[str, Any] = {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "definitions": d.version,
        "kpis": shape({**talking.kpis, **talking.measures}),
        "community": shape({**r["community"].kpis, **r["community"].measures}),
        "by": by,
        "supplementary": {k: shape({**x.supplementary, **x.crisis}) for k, x in r.items()},
        "funnel": {
            k: [{"stage": s.name, "reached": s.reached, "stopped": s.stopped} for s in x.funnel] for k, x in r.items()
        },
        "personalisation": dict(PERSONALISATION_NOT_AVAILABLE),
        "experience": dict(EXPERIENCE_NOT_AVAILABLE),
        "community_outcomes": dict(COMMUNITY_OUTCOMES_NOT_AVAILABLE),
        "inpatient": dict(INPATIENT_NOT_AVAILABLE),
        "notes": list(NOTES)
        + (
            [f"{unknown} referral(s) of teams with no kind (kpis.yaml team_kinds) are counted with community."]
            if unknown
            else []
        )
        + ([off_grid_note(start, end, status)] if off_grid == "note" and not status["on_grid"] else []),
    }
    if off_grid == "withhold":
        doc["publication"] = status
    return doc
