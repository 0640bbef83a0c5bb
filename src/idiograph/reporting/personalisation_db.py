"""The database as ``reporting.personalisation``'s inputs (read-only), and the ``personalisation`` section with its
one aggregate audit record.

How each input is read:

- an appointment counts when its day is in the period and it has an attendance outcome (``kpis.yaml``);
- the preference it is judged against is the person's latest preferences version recorded on or before the
  appointment's start (none: no stated preference). Time is met when the day (Europe/London) is among the stated
  ``days`` and the time of day among the stated ``periods``, each only if stated; place when the appointment's
  place is among ``places``; format when its format is among ``formats``;
- a person's preferences were **met** when at least half of their appointments with any stated preference
  matched every aspect stated; people with no such appointment are in neither arm;
- the stratum is the band of the person's first completed PHQ-9 (``no baseline PHQ-9`` when none);
- disengaged: an episode ending in the period with a national disengagement reason (``kpis.yaml``);
- crisis admission: an imported admission encounter in the period; a personalised crisis plan: a crisis plan
  whose first version is on or before the period's end;
- changes: governance decisions decided in the period; an escalation's time to answer is from raising to answer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment, CrisisPlan, Preferences
from idiograph.care.slots import LONDON, period_of
from idiograph.governance.model import Decision, Escalation
from idiograph.instruments.definitions import instruments
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.measures.scoring import band_of
from idiograph.patients.demographics import age_on
from idiograph.patients.model import Encounter, Episode
from idiograph.patients.model import Person as PersonRow
from idiograph.reporting.breakdowns import GROUP
from idiograph.reporting.kpis import definitions
from idiograph.reporting.personalisation import BREAKDOWNS, Change, Person, Visit, report
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _utc(at: datetime) -> datetime:
    """A stored time (naive means UTC, as the database stores it)."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def judged(data: dict[str, Any], start: datetime, place: str, fmt: str) -> dict[str, bool | None]:
    """Whether one appointment matched each stated aspect of a preferences version (None: not stated)."""
    days, periods = data.get("days") or [], data.get("periods") or []
    local = _utc(start).astimezone(LONDON)
    time_met: bool | None = None
    if days or periods:
        time_met = (not days or DAYS[local.weekday()] in days) and (not periods or period_of(local) in periods)
    places, formats = data.get("places") or [], data.get("formats") or []
    return {
        "time": time_met,
        "place": (place in places) if places else None,
        "format": (fmt in formats) if formats else None,
    }


def inputs(session: Session, start: date, end: date) -> tuple[list[Person], list[Visit], list[Change]]:
    """People, appointments and changes for ``start``..``end``. Reads person-level data: the caller checks
    permission and audits (``personalisation_section`` does both)."""
    d = definitions()
    versions: dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for pid, at, data in session.execute(select(Preferences.person_id, Preferences.recorded_at, Preferences.data)):
        versions[pid].append((at, dict(data or {})))
    for v in versions.values():
        v.sort(key=lambda x: x[0])

    visits: list[Visit] = []
    met_counts: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    q = select(Appointment.person_id, Appointment.start, Appointment.place, Appointment.format, Appointment.status)
    for pid, at, place, fmt, status in session.execute(q.where(Appointment.status.in_(set(d.attendance_outcomes)))):
        if not start <= at.date() <= end:
            continue
        prior = [data for when, data in versions.get(pid, []) if _utc(when) <= _utc(at)]
        met = judged(prior[-1], at, place, fmt) if prior else {a: None for a in ("time", "place", "format")}
        visits.append(Visit(str(pid), status, met))
        stated = [m for m in met.values() if m is not None]
        if stated:
            met_counts[pid][0] += int(all(stated))
            met_counts[pid][1] += 1

    phq9 = instruments()["phq-9"]
    first_phq: dict[uuid.UUID, int] = {}
    for pid, total in session.execute(
        select(QuestionnaireResponseRecord.person_id, QuestionnaireResponseRecord.total)
        .where(
            QuestionnaireResponseRecord.instrument == "phq-9",
            QuestionnaireResponseRecord.status == "completed",
            QuestionnaireResponseRecord.total.is_not(None),
        )
        .order_by(QuestionnaireResponseRecord.authored_at)
    ):
        if total is not None:
            first_phq.setdefault(pid, int(total))

    disengaged = {
        pid
        for pid, day, reason in session.execute(
            select(Episode.person_id, Episode.discharge_date, Episode.discharge_reason)
        )
        if day is not None and start <= day <= end and reason in set(d.disengagement_codes)
    }
    admitted = {
        pid
        for pid, at in session.execute(
            select(Encounter.person_id, Encounter.start).where(
                Encounter.class_code.in_(list(d.admission_encounter_classes)), Encounter.start.is_not(None)
            )
        )
        if at is not None and start <= at.date() <= end
    }
    planned = {
        pid
        for pid, at in session.execute(
            select(CrisisPlan.person_id, func.min(CrisisPlan.updated_at)).group_by(CrisisPlan.person_id)
        )
        if at.date() <= end
    }
    in_period = {
        pid
        for pid, ref, dis in session.execute(select(Episode.person_id, Episode.referral_date, Episode.discharge_date))
        if ref <= end and (dis is None or dis >= start)
    }

    answered = {
        did: (raised, at)
        for did, raised, at in session.execute(
            select(Escalation.decision_id, Escalation.raised_at, Escalation.answered_at)
        )
    }
    changes: list[Change] = []
    for did, pid, at, authority in session.execute(
        select(Decision.id, Decision.person_id, Decision.decided_at, Decision.authority)
    ):
        if not start <= at.date() <= end:
            continue
        esc = answered.get(did)
        hours = (esc[1] - esc[0]).total_seconds() / 3600 if esc and esc[1] is not None else None
        changes.append(Change(str(pid), authority, escalated=esc is not None, hours_to_answer=hours))

    wanted = in_period | {uuid.UUID(v.person) for v in visits} | {uuid.UUID(c.person) for c in changes}
    people: list[Person] = []
    for row in session.execute(
        select(
            PersonRow.id,
            PersonRow.birth_date,
            PersonRow.sex,
            PersonRow.ethnicity,
            PersonRow.deprivation_decile,
            PersonRow.preferred_language,
        )
    ):
        if row.id not in wanted:
            continue
        like: Any = SimpleNamespace(
            ethnicity=row.ethnicity,
            deprivation_decile=row.deprivation_decile,
            age_at_referral=age_on(row.birth_date, start) if row.birth_date else None,
            sex=row.sex,
            preferred_language=row.preferred_language,
        )
        k, n = met_counts.get(row.id, [0, 0])
        total = first_phq.get(row.id)
        people.append(
            Person(
                id=str(row.id),
                band=band_of(phq9, total) if total is not None else "no baseline PHQ-9",
                groups={b: GROUP[b](like) for b in BREAKDOWNS},
                preferences_met=(2 * k >= n) if n else None,
                disengaged=row.id in disengaged,
                crisis_plan=row.id in planned,
                crisis_admission=row.id in admitted,
            )
        )
    return people, visits, changes


def personalisation_section(session: Session, principal: Principal, start: date, end: date) -> dict[str, Any]:
    """The ``personalisation`` section for ``start``..``end``, for anyone with ``service:summary``; audited as
    one aggregate read (no person named)."""
    principal.require(Permission.SERVICE_SUMMARY)
    people, visits, changes = inputs(session, start, end)
    out = report(people, visits, changes)
    out["period"] = {"from": start.isoformat(), "to": end.isoformat()}
    audit.append(
        session,
        principal.actor,
        "read",
        "PersonalisationReport",
        None,
        None,
        detail={"from": start.isoformat(), "to": end.isoformat(), "people": len(people)},
    )
    return out
