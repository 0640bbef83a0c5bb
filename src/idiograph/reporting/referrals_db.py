"""The database as the KPI engine's referral table (read-only): one ``Referral`` per episode, the same fields the
synthetic folder gives (``evaluation.kpis_data``), and the KPI report over it with its one audit record.

What the database records and how it is read:

- a referral is an episode; its team's kind is the team record's, else ``kpis.yaml`` ``team_kinds`` by team name,
  else "unknown" (counted with community; ``reporting.team_kinds``);
- an appointment counts for the episode it was booked for; one with no episode (older records, imports) for the
  person's episode whose referral date is on or before its day and which had not ended before it (the latest such
  episode). Its contact type says whether it is an assessment and whether a treatment contact (``contact_roles``);
  one without a type is the assessment when none came before it, else a treatment contact;
- the first and last PHQ-9 and GAD-7 are stored questionnaire responses with a total (an adaptive short form
  without a full total is not one, H-105) authored from the referral date to its end date, both included;
- crisis presentations and admissions are imported encounters by FHIR class (``kpis.yaml``); each counts for the
  person's latest episode referred on or before its day. The application records neither itself;
- risk levels are the person's risk assessments; a crisis plan counts from its first version's day.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment, CrisisPlan, RiskAssessment
from idiograph.care.options import ASSESSMENT_CONTACTS, TREATMENT_CONTACTS
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.patients.demographics import age_on
from idiograph.patients.model import Encounter, Episode, Person
from idiograph.reporting.community_outcomes_db import section as community_section
from idiograph.reporting.experience_db import experience_document
from idiograph.reporting.inpatient_db import section as inpatient_section
from idiograph.reporting.kpi_report import publication, report_document
from idiograph.reporting.kpis import Definitions, Referral, definitions
from idiograph.reporting.personalisation import report as personalisation_report
from idiograph.reporting.personalisation_db import inputs as personalisation_inputs
from idiograph.reporting.team_kinds import team_kinds
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def _day(at: datetime) -> date:
    """A stored time's day (UTC, as the synthetic folder's)."""
    return at.date()


class _Episodes:
    """A person's episodes in referral order, to find the one a dated event belongs to."""

    def __init__(self, rows: Iterable[tuple[uuid.UUID, date, date | None]]) -> None:
        self.rows = sorted(rows, key=lambda r: (r[1], str(r[0])))
        self.starts = [r[1] for r in self.rows]

    def open_on(self, day: date) -> uuid.UUID | None:
        """The latest episode referred on or before ``day`` that had not ended before it."""
        i = bisect_right(self.starts, day)
        for eid, _, end in reversed(self.rows[:i]):
            if end is None or end >= day:
                return eid
        return None

    def latest_on(self, day: date) -> uuid.UUID | None:
        """The latest episode referred on or before ``day`` (ended or not)."""
        i = bisect_right(self.starts, day)
        return self.rows[i - 1][0] if i else None


def referrals_from_db(session: Session, defs: Definitions | None = None) -> list[Referral]:
    """Every episode as a referral, in referral order. Reads person-level data: the caller checks permission and
    audits (``kpi_document`` does both)."""
    d = defs or definitions()
    kinds = team_kinds(session, d)
    episodes = session.execute(
        select(
            Episode.id,
            Episode.person_id,
            Episode.team_id,
            Episode.referral_date,
            Episode.discharge_date,
            Episode.discharge_reason,
        )
    ).all()
    by_person: dict[uuid.UUID, list[tuple[uuid.UUID, date, date | None]]] = defaultdict(list)
    for e in episodes:
        by_person[e.person_id].append((e.id, e.referral_date, e.discharge_date))
    finder = {p: _Episodes(rows) for p, rows in by_person.items()}

    attended: dict[uuid.UUID, list[tuple[datetime, str | None]]] = defaultdict(list)
    outcomes: dict[uuid.UUID, list[tuple[date, str]]] = defaultdict(list)
    known = set(d.attendance_outcomes)
    episode_ids = {e.id for e in episodes}
    for pid, start, status, own, contact in session.execute(
        select(
            Appointment.person_id,
            Appointment.start,
            Appointment.status,
            Appointment.episode_id,
            Appointment.contact_type,
        ).where(Appointment.status.in_(known))
    ):
        # the episode it was booked for, else the person's episode open on the day
        eid = own if own in episode_ids else (finder[pid].open_on(_day(start)) if pid in finder else None)
        if eid is None:
            continue
        outcomes[eid].append((_day(start), status))
        if status == "attended":
            attended[eid].append((start, contact))

    scores: dict[tuple[uuid.UUID, str], list[tuple[datetime, str, float]]] = defaultdict(list)
    q = select(
        QuestionnaireResponseRecord.person_id,
        QuestionnaireResponseRecord.instrument,
        QuestionnaireResponseRecord.authored_at,
        QuestionnaireResponseRecord.id,
        QuestionnaireResponseRecord.total,
    ).where(
        QuestionnaireResponseRecord.instrument.in_(("phq-9", "gad-7")),
        QuestionnaireResponseRecord.status == "completed",
        QuestionnaireResponseRecord.total.is_not(None),
    )
    for pid, instrument, at, rid, total in session.execute(q):
        scores[(pid, instrument)].append((at, str(rid), float(total)))

    crises: dict[tuple[uuid.UUID, str], list[date]] = defaultdict(list)
    classes = {c: "admission" for c in d.admission_encounter_classes} | {
        c: "crisis" for c in d.crisis_encounter_classes
    }
    for pid, cls, start in session.execute(
        select(Encounter.person_id, Encounter.class_code, Encounter.start).where(
            Encounter.class_code.in_(list(classes)), Encounter.start.is_not(None)
        )
    ):
        eid = finder[pid].latest_on(_day(start)) if pid in finder else None
        if eid is not None:
            crises[(eid, classes[cls])].append(_day(start))

    risks: dict[uuid.UUID, list[tuple[date, str]]] = defaultdict(list)
    for pid, at, level in session.execute(
        select(RiskAssessment.person_id, RiskAssessment.assessed_at, RiskAssessment.level)
    ):
        risks[pid].append((_day(at), level))
    plans: dict[uuid.UUID, date] = {
        pid: _day(at)
        for pid, at in session.execute(
            select(CrisisPlan.person_id, func.min(CrisisPlan.updated_at)).group_by(CrisisPlan.person_id)
        )
    }
    people = {
        p.id: p
        for p in session.execute(
            select(
                Person.id,
                Person.birth_date,
                Person.sex,
                Person.ethnicity,
                Person.deprivation_decile,
                Person.preferred_language,
            )
        )
    }

    out: list[Referral] = []
    for e in episodes:
        assessed, treatment = contact_roles(attended.get(e.id, []))
        first_last: list[float | None] = []
        for instrument in ("phq-9", "gad-7"):
            own = sorted(
                s
                for s in scores.get((e.person_id, instrument), [])
                if e.referral_date <= _day(s[0]) and (e.discharge_date is None or _day(s[0]) <= e.discharge_date)
            )
            first_last += [own[0][2] if own else None, own[-1][2] if len(own) > 1 else None]
        who: Any = people.get(e.person_id)
        out.append(
            Referral(
                referral_id=str(e.id),
                person_id=str(e.person_id),
                team_kind=kinds.get(e.team_id, "unknown") if e.team_id else "unknown",
                referral_date=e.referral_date,
                end_date=e.discharge_date,
                ending_reason=e.discharge_reason,
                assessed_date=_day(assessed) if assessed else None,
                first_treatment_date=_day(treatment[0]) if treatment else None,
                second_treatment_date=_day(treatment[1]) if len(treatment) > 1 else None,
                attended_treatment=len(treatment),
                phq9_first=first_last[0],
                phq9_last=first_last[1],
                gad7_first=first_last[2],
                gad7_last=first_last[3],
                ethnicity=who.ethnicity if who else None,
                age_at_referral=age_on(who.birth_date, e.referral_date) if who and who.birth_date else None,
                sex=who.sex if who else None,
                deprivation_decile=who.deprivation_decile if who else None,
                preferred_language=who.preferred_language if who else None,
                appointments=tuple(sorted(outcomes.get(e.id, []))),
                crisis_presentations=tuple(sorted(crises.get((e.id, "crisis"), []))),
                admissions=tuple(sorted(crises.get((e.id, "admission"), []))),
                risk_levels=tuple(sorted(risks.get(e.person_id, []))),
                crisis_plan_from=plans.get(e.person_id),
            )
        )
    out.sort(key=lambda r: (r.referral_date, r.referral_id))
    return out


def contact_roles(contacts: Iterable[tuple[datetime, str | None]]) -> tuple[datetime | None, list[datetime]]:
    """A referral's attended contacts as (the assessment, the treatment contacts), in time order. A contact says
    what it was for (``care.options.CONTACT_TYPES``: treatment contacts are treatment, assessment and treatment,
    review and treatment, as nationally); one that does not is read as the assessment when no assessment came
    before it, and as a treatment contact after one (so records without types read as before: the first attended
    appointment is the assessment)."""
    assessed: datetime | None = None
    treatment: list[datetime] = []
    for at, kind in sorted(contacts, key=lambda c: c[0]):
        if kind is None:
            kind = "treatment" if assessed is not None else "assessment"
        if kind in ASSESSMENT_CONTACTS and assessed is None:
            assessed = at
        if kind in TREATMENT_CONTACTS:
            treatment.append(at)
    return assessed, treatment


def audited_document(
    session: Session, principal: Principal, start: date, end: date, via: str, today: date | None = None
) -> tuple[dict[str, Any], list[Referral]]:
    """The KPI document for the period with both team kinds' breakdowns (``by`` and ``community_by``) and the
    referral table it came from, for the Reports page, its CSV and the FHIR MeasureReports; one audit record of the
    read (aggregate: no person named), ``via`` saying which. These are published outputs: the breakdowns are
    empty unless the period is exactly one complete period of the publication grid (``publication`` says;
    hazard H-108)."""
    from idiograph.reporting.breakdowns import by_groups

    principal.require(Permission.SERVICE_SUMMARY)
    table = referrals_from_db(session)
    doc = report_document(table, start, end, off_grid="withhold", today=today)
    doc["community_by"] = by_groups(table, start, end, scope="community") if doc["publication"]["on_grid"] else {}
    doc["experience"] = experience_document(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    doc["community_outcomes"] = community_section(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    doc["inpatient"] = inpatient_section(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    if not doc["publication"]["on_grid"]:
        # rounded counts with rates pinned by their intervals: two overlapping periods would give one person's
        # answers away by difference, as group cells would (H-108, H-111), so these too need a grid period
        doc["experience"] = {**doc["experience"], "questions": [], "forms": [], "withheld": True}
        doc["community_outcomes"] = {"available": False, "withheld": True}
    _audit_read(session, principal, doc, len(table), via)
    return doc, table


def _audit_read(
    session: Session, principal: Principal, doc: dict[str, Any], referrals: int, via: str | None = None
) -> None:
    """One audit record of an aggregate KPI read (no person named); ``via`` names the page, CSV or FHIR route."""
    detail: dict[str, Any] = {"from": doc["period"]["from"], "to": doc["period"]["to"], "referrals": referrals}
    if via is not None:
        detail["via"] = via
    if "publication" in doc:
        detail["groups_published"] = doc["publication"]["on_grid"]
    audit.append(session, principal.actor, "read", "KpiReport", None, None, detail=detail)


def cost_by_pathway(
    session: Session, start: date, end: date, referrals: Sequence[Referral] | None = None
) -> dict[str, Any]:
    """Cost per finished course and per recovered case by pathway for referrals ended in the period, counts 1-7
    withheld (reporting.cost, unit costs from IDIOGRAPH_UNIT_COSTS or the illustrative defaults)."""
    from idiograph.reporting import cost, cost_db  # cost_db reads this module's referral table

    units = cost.load_unit_costs()
    rows = cost_db.cost_table(session, start, end, referrals)
    return cost_db.protect(cost.document(cost.by_pathway(rows, units), units))


def kpi_document(
    session: Session, principal: Principal, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """The KPI report from the database for ``start``..``end`` (default: the days the data mention), for anyone
    with ``service:summary``; audited as one aggregate read (no person named)."""
    principal.require(Permission.SERVICE_SUMMARY)
    table = referrals_from_db(session)
    doc = report_document(table, start, end)
    people, visits, changes = personalisation_inputs(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    doc["personalisation"] = {"available": True, **personalisation_report(people, visits, changes)}
    doc["cost"] = cost_by_pathway(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"]), table
    )
    doc["experience"] = experience_document(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    doc["community_outcomes"] = community_section(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    doc["inpatient"] = inpatient_section(
        session, date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    )
    if not publication(date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"]))["on_grid"]:
        doc["notes"].append(
            "experience and community_outcomes: their rates pin their rounded counts, so for a period that is not "
            "one whole ended grid period they can be differenced against another period's like by (H-108, H-111): "
            "for the data team, not for publication"
        )
    _audit_read(session, principal, doc, len(table))
    return doc
