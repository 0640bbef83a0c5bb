"""Use cases for care as delivered: appointments and attendance, the appointment plan, risk assessments,
preferences and crisis plans. Changes to the appointment model go through governance.request_change."""

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
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, PlanLink, Preferences, RiskAssessment
from idiograph.care.options import FORMATS, PLACES, RISK_LEVELS, STATUSES, coherent
from idiograph.db import transaction, utcnow
from idiograph.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, invalid
from idiograph.governance import policy as policy_module
from idiograph.governance.model import Decision
from idiograph.governance.service import current_policy
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Person
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


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
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
        problems = []
        if start.tzinfo is None:
            problems.append(FieldProblem("start", "must carry a UTC offset"))
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
    with transaction(session):
        appt = session.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound(f"no appointment with id {appointment_id}")
        ensure_access(session, principal, appt.person_id, Permission.PERSON_WRITE)
        if status not in STATUSES or status == "booked":
            raise invalid("status", f"must be one of {', '.join(s for s in STATUSES if s != 'booked')}")
        appt.status = status
        audit.append(
            session, principal.actor, "update", "Appointment", str(appt.id), appt.person_id, detail={"status": status}
        )
        return appt


def appointments_for(
    session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api"
) -> list[Appointment]:
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_READ)
        rows = list(
            session.scalars(select(Appointment).where(Appointment.person_id == person_id).order_by(Appointment.start))
        )
        audit.append(
            session, principal.actor, "read", "Appointment", None, person_id, detail={"via": via, "count": len(rows)}
        )
        return rows


def set_plan(
    session: Session, principal: Principal, person_id: uuid.UUID, default_frequency: str, place: str, format_: str
) -> AppointmentPlan:
    """Start the appointment plan at the pathway's default; later changes are decisions."""
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
        if default_frequency not in current_policy().frequency_steps:
            raise invalid("default_frequency", f"must be one of {', '.join(current_policy().frequency_steps)}")
        if session.get(AppointmentPlan, person_id) is not None:
            raise Conflict("the person already has an appointment plan; change it through a decision")
        plan = AppointmentPlan(
            person_id=person_id,
            frequency=default_frequency,
            default_frequency=default_frequency,
            place=place,
            format=format_,
        )
        session.add(plan)
        audit.append(session, principal.actor, "create", "AppointmentPlan", str(person_id), person_id)
        return plan


def record_risk(
    session: Session, principal: Principal, person_id: uuid.UUID, level: str, summary: str
) -> RiskAssessment:
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
        if level not in RISK_LEVELS:
            raise invalid("level", f"must be one of {', '.join(RISK_LEVELS)}")
        if len(summary.strip()) < 5:
            raise invalid("summary", "describe the assessment (at least 5 characters)")
        r = RiskAssessment(person_id=person_id, level=level, author=principal.username, summary=summary.strip())
        session.add(r)
        session.flush()
        audit.append(
            session, principal.actor, "create", "RiskAssessment", str(r.id), person_id, detail={"level": level}
        )
        return r


# -- preferences --------------------------------------------------------------------------------------------


def preferences(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> Preferences | None:
    with transaction(session):
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
    with transaction(session):
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
        audit.append(
            session, principal.actor, "update", "Preferences", str(p.id), person_id, detail={"version": p.version}
        )
        return p


# -- crisis plans -------------------------------------------------------------------------------------------


def crisis_plan(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> CrisisPlan | None:
    """The one current crisis plan (the same for every team with access)."""
    with transaction(session):
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


def save_crisis_plan(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    content: dict[str, Any],
    expected_version: int,
    rationale: str,
) -> CrisisPlan:
    """A new version, only if nobody saved one since ``expected_version`` (0 for the first): the loser of
    two simultaneous edits is told, and nothing of the winner's is lost. Recorded as a decision."""
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
        if len(rationale.strip()) < 5:
            raise invalid("rationale", "say why the plan changes (at least 5 characters)")
        policy = current_policy()
        verdict = policy_module.evaluate(policy, policy_module.Request(principal.role, "crisis_plan"))
        if verdict.outcome != "allowed":
            raise invalid("crisis_plan", verdict.reason)
        if expected_version > 0:
            # one conditional update decides who wins: it succeeds for exactly one of two concurrent saves
            won = session.execute(
                update(CrisisPlan)
                .where(
                    CrisisPlan.person_id == person_id,
                    CrisisPlan.version == expected_version,
                    CrisisPlan.current.is_(True),
                )
                .values(current=False)
            ).rowcount
            if won != 1:
                latest = session.scalar(
                    select(CrisisPlan).where(CrisisPlan.person_id == person_id, CrisisPlan.current.is_(True))
                )
                who = (
                    f" by {latest.updated_by} at {latest.updated_at:%d %b %Y %H:%M} UTC (version {latest.version})"
                    if latest
                    else ""
                )
                raise Conflict(
                    f"the crisis plan was changed{who} since you opened it; reload it and apply your change again"
                )
        plan = CrisisPlan(
            person_id=person_id,
            version=expected_version + 1,
            current=True,
            content=content,
            updated_by=principal.username,
        )
        session.add(plan)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                "someone saved the crisis plan at the same moment; reload it and apply your change again"
            ) from None
        session.add(
            Decision(
                person_id=person_id,
                change="crisis_plan",
                summary=f"crisis plan version {plan.version}",
                payload={"crisis_plan_version": plan.version},
                rationale=rationale.strip(),
                based_on={},
                requested_by=principal.username,
                requested_role=principal.role,
                decided_at=utcnow(),
                status="applied",
                authority="delegated",
                policy_version=policy.version,
                policy_reason=verdict.reason,
            )
        )
        audit.append(
            session, principal.actor, "update", "CrisisPlan", str(plan.id), person_id, detail={"version": plan.version}
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
    with transaction(session):
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
    with transaction(session):
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
    with transaction(session):
        link = session.scalar(select(PlanLink).where(PlanLink.token_hash == hashlib.sha256(token.encode()).hexdigest()))
        if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
            raise PlanLinkGone()
        person = session.get(Person, link.person_id)
        assert person is not None
        plan = session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person.id, CrisisPlan.current.is_(True)))
        upcoming = list(
            session.scalars(
                select(Appointment)
                .where(
                    Appointment.person_id == person.id, Appointment.status == "booked", Appointment.start >= utcnow()
                )
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
