"""The KPI report as one document (issue 19's JSON), from a referral table: the same for the command line
(``idiograph report kpis``), the Reports page and any export, whichever source the referrals came from (a
synthetic folder, ``evaluation.kpis_data``; the database, ``reporting.referrals_db``). Pure: no database.

Its shape: ``period`` {from, to}; ``definitions`` (the version of ``kpis.yaml``); ``kpis`` {NAME: {numerator,
denominator, rate}} for talking-therapies teams, NAME in ``ISSUE_KPIS`` (a count has denominator null; a rate is
a percent to 1 decimal place, null when its denominator is 0); ``community`` the same for every other team kind;
``by`` the equity breakdowns; ``supplementary`` and ``funnel`` by team kind; ``notes`` what the figures cannot
say. Totals are not rounded: disclosure control applies to ``by`` only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.reporting.breakdowns import by_groups
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


def report_document(
    referrals: Sequence[Referral],
    start: date | None = None,
    end: date | None = None,
    defs: Definitions | None = None,
) -> dict[str, Any]:
    """Issue 19's KPI document for ``start``..``end`` (both included; by default the days the table mentions)."""
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
    by: dict[str, Any] = by_groups(referrals, start, end, defs=d)  # talking-therapies teams, disclosure-controlled
    unknown = sum(1 for x in referrals if x.team_kind == "unknown")
    return {
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
        "notes": list(NOTES)
        + (
            [f"{unknown} referral(s) of teams with no kind (kpis.yaml team_kinds) are counted with community."]
            if unknown
            else []
        ),
    }
