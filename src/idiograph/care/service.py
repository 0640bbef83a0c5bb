"""Use cases for care as delivered: appointments and attendance, the appointment plan, risk assessments,
preferences and crisis plans (read). Changes to the appointment model, the appointment plan and the crisis plan are
governance's (governance.service): the only writer of governed facts."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.care import slots
from idiograph.care.booking import booking_window
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, PlanLink, Preferences, RiskAssessment
from idiograph.care.options import FORMATS, PLACES, RISK_LEVELS, STATUSES, coherent
from idiograph.db import utcnow
from idiograph.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, invalid
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Person
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.text import visible_length


def book(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    start: datetime,
    place: str,
    format_: str,
    minutes: int = 50,
    with_whom: str | None = None,
) -> Appointment:
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    problems = []
    if start.tzinfo is None:
        problems.append(FieldProblem("start", "must carry a UTC offset"))
    elif why_not := booking_window(start, utcnow()):
        problems.append(FieldProblem("start", why_not))
    if place not in PLACES:
        problems.append(FieldProblem("place", f"must be one of {', '.join(PLACES)}"))
    if format_ not in FORMATS:
        problems.append(FieldProblem("format", f"must be one of {', '.join(FORMATS)}"))
    elif place in PLACES and (why := coherent(place, format_)):
        problems.append(FieldProblem("format", why))
    if not 5 <= minutes <= 480:
        problems.append(FieldProblem("minutes", "must be between 5 and 480"))
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s); nothing was booked", problems)
    appt = Appointment(
        person_id=person_id,
        start=start,
        minutes=minutes,
        place=place,
        format=format_,
        with_whom=with_whom,
        created_by=principal.username,
    )
    session.add(appt)
    session.flush()
    audit.append(session, principal.actor, "create", "Appointment", str(appt.id), person_id)
    return appt


def record_attendance(session: Session, principal: Principal, appointment_id: uuid.UUID, status: str) -> Appointment:
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(f"no appointment with id {appointment_id}")
    ensure_access(session, principal, appt.person_id, Permission.PERSON_WRITE)
    if status not in STATUSES or status == "booked":
        raise invalid("status", f"must be one of {', '.join(s for s in STATUSES if s != 'booked')}")
    before = appt.status
    if before == status:
        raise Conflict(f"attendance is already recorded as {status.replace('_', ' ')}")
    # conditional on what was read: of simultaneous recordings one succeeds, the others are told
    won = session.execute(
        update(Appointment)
        .where(Appointment.id == appt.id, Appointment.status == before)
        .values(status=status)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(appt)
    if won != 1:
        raise Conflict(f"someone recorded this appointment as {appt.status.replace('_', ' ')} at the same moment")
    detail = {"status": status} if before == "booked" else {"status": status, "corrected_from": before}
    audit.append(session, principal.actor, "update", "Appointment", str(appt.id), appt.person_id, detail=detail)
    return appt


def appointments_for(
    session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api"
) -> list[Appointment]:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    rows = list(
        session.scalars(select(Appointment).where(Appointment.person_id == person_id).order_by(Appointment.start))
    )
    audit.append(
        session, principal.actor, "read", "Appointment", None, person_id, detail={"via": via, "count": len(rows)}
    )
    return rows


def appointment_plan(session: Session, principal: Principal, person_id: uuid.UUID) -> AppointmentPlan | None:
    """The person's appointment plan (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    plan = session.get(AppointmentPlan, person_id)
    audit.append(
        session, principal.actor, "read", "AppointmentPlan", None, person_id, detail={"found": plan is not None}
    )
    return plan


def record_risk(
    session: Session, principal: Principal, person_id: uuid.UUID, level: str, summary: str
) -> RiskAssessment:
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    if level not in RISK_LEVELS:
        raise invalid("level", f"must be one of {', '.join(RISK_LEVELS)}")
    if visible_length(summary) < 5:
        raise invalid("summary", "describe the assessment (at least 5 characters)")
    r = RiskAssessment(person_id=person_id, level=level, author=principal.username, summary=summary.strip())
    session.add(r)
    session.flush()
    audit.append(session, principal.actor, "create", "RiskAssessment", str(r.id), person_id, detail={"level": level})
    return r


# -- preferences --------------------------------------------------------------------------------------------


def preferences(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> Preferences | None:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    p = session.scalar(
        select(Preferences).where(Preferences.person_id == person_id).order_by(Preferences.version.desc()).limit(1)
    )
    audit.append(session, principal.actor, "read", "Preferences", None, person_id, detail={"via": via})
    return p


def save_preferences(
    session: Session, principal: Principal, person_id: uuid.UUID, data: dict[str, Any], expected_version: int
) -> Preferences:
    """A new version of the person's preferences; ``expected_version`` guards against overwriting an edit."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    latest = session.scalar(select(func.max(Preferences.version)).where(Preferences.person_id == person_id)) or 0
    if latest != expected_version:
        raise Conflict(f"the preferences were changed since you opened them (now version {latest}); reload first")
    p = Preferences(person_id=person_id, version=latest + 1, data=data, recorded_by=principal.username)
    session.add(p)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("someone saved the preferences at the same moment; reload and apply yours again") from None
    audit.append(session, principal.actor, "update", "Preferences", str(p.id), person_id, detail={"version": p.version})
    return p


# -- crisis plans -------------------------------------------------------------------------------------------


def crisis_plan(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> CrisisPlan | None:
    """The one current crisis plan (the same for every team with access)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    plan = session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person_id, CrisisPlan.current.is_(True)))
    audit.append(
        session,
        principal.actor,
        "read",
        "CrisisPlan",
        str(plan.id) if plan else None,
        person_id,
        detail={"via": via},
    )
    return plan


def suggest_slots(
    session: Session, principal: Principal, person_id: uuid.UUID, days: int = 14, limit: int = 10
) -> list[slots.Slot]:
    """Free slots from tomorrow, ranked by fit to the person's current preferences."""
    prefs = preferences(session, principal, person_id, via="slots")
    busy = [a.start for a in appointments_for(session, principal, person_id, via="slots") if a.status == "booked"]
    first = (utcnow().astimezone(slots.LONDON) + timedelta(days=1)).date()
    return slots.rank(slots.candidates(first, days, busy), prefs.data if prefs else {}, limit)


def calendar(session: Session, principal: Principal, person_id: uuid.UUID) -> str:
    appts = appointments_for(session, principal, person_id, via="ics")
    return slots.icalendar(appts, "your care team", utcnow())


@dataclass(frozen=True)
class CrisisSummary:
    """What a crisis response needs, the same plan every team sees."""

    person: Person
    risk: RiskAssessment | None
    plan: CrisisPlan | None


def crisis_summary(
    session: Session, principal: Principal, person_id: uuid.UUID | None = None, nhs_number: str | None = None
) -> CrisisSummary:
    """Identity, current risk and the current crisis plan, found by id or NHS number; an audited read."""
    principal.require(Permission.CRISIS_READ)
    if person_id is not None:
        person = session.get(Person, person_id)
    elif nhs_number:
        person = session.scalar(select(Person).where(Person.nhs_number == nhs_number.replace(" ", "")))
    else:
        raise invalid("nhs_number", "give an NHS number or a person id")
    if person is None:
        raise NotFound("no person with that identifier")
    risk = session.scalar(
        select(RiskAssessment)
        .where(RiskAssessment.person_id == person.id)
        .order_by(RiskAssessment.assessed_at.desc())
        .limit(1)
    )
    plan = session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person.id, CrisisPlan.current.is_(True)))
    audit.append(
        session,
        principal.actor,
        "read",
        "CrisisSummary",
        str(plan.id) if plan else None,
        person.id,
        detail={"via": "crisis", "plan_version": plan.version if plan else None},
    )
    return CrisisSummary(person, risk, plan)


MAX_PLAN_LINK_DAYS = 90


class PlanLinkGone(DomainError):
    def __init__(self) -> None:
        super().__init__("This link has expired or was withdrawn. Ask your care team for a new one.", [], 410, "Gone")


def create_plan_link(
    session: Session, principal: Principal, person_id: uuid.UUID, valid_days: int = 30
) -> tuple[PlanLink, str]:
    """A link for the person to read their own plan; the token is shown once."""
    if not 1 <= valid_days <= MAX_PLAN_LINK_DAYS:
        raise invalid("valid_days", f"must be between 1 and {MAX_PLAN_LINK_DAYS}")
    token = secrets.token_urlsafe(32)
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    now = utcnow()
    link = PlanLink(
        person_id=person_id,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        created_by=principal.username,
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(link)
    session.flush()
    audit.append(
        session, principal.actor, "create", "PlanLink", str(link.id), person_id, detail={"valid_days": valid_days}
    )
    return link, token


def read_own_plan(session: Session, token: str) -> tuple[Person, CrisisPlan | None, list[Appointment]]:
    """What the person sees through their link: their crisis plan and upcoming appointments (audited)."""
    link = session.scalar(select(PlanLink).where(PlanLink.token_hash == hashlib.sha256(token.encode()).hexdigest()))
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        raise PlanLinkGone()
    person = session.get(Person, link.person_id)
    assert person is not None
    plan = session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person.id, CrisisPlan.current.is_(True)))
    upcoming = list(
        session.scalars(
            select(Appointment)
            .where(Appointment.person_id == person.id, Appointment.status == "booked", Appointment.start >= utcnow())
            .order_by(Appointment.start)
        )
    )
    audit.append(
        session,
        Actor(None, f"plan-link:{link.id}", "person"),
        "read",
        "CrisisPlan",
        str(plan.id) if plan else None,
        person.id,
        detail={"via": "own-plan link"},
    )
    return person, plan, upcoming
