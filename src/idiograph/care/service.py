"""Use cases for care as delivered: appointments and attendance, the appointment plan, risk assessments,
preferences and crisis plans (read). Changes to the appointment model, the appointment plan and the crisis plan are
governance's (governance.service): the only writer of governed facts."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import OPEN, Kind
from idiograph.alerts.model import Alert
from idiograph.care import slots
from idiograph.care.booking import booking_window
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, PlanLink, Preferences, RiskAssessment
from idiograph.care.names import family_matches, given_matches, name_key
from idiograph.care.options import (
    ASSESSMENT_CONTACTS,
    CONTACT_LABELS,
    CONTACT_TYPES,
    FORMATS,
    PLACES,
    RISK_LEVELS,
    STATUSES,
    TREATMENT_CONTACTS,
    coherent,
)
from idiograph.db import utcnow
from idiograph.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, invalid
from idiograph.patients import nhs_number
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment, Episode, Person, PersonIdentifier
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.model import Team, User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.text import visible_length

CLINICAL_CONTACTS = TREATMENT_CONTACTS | ASSESSMENT_CONTACTS


def open_referral(session: Session, person_id: uuid.UUID) -> uuid.UUID | None:
    """The person's latest open episode (referral), if any: what a new appointment belongs to by default."""
    return session.scalar(
        select(Episode.id)
        .where(Episode.person_id == person_id, Episode.discharge_date.is_(None))
        .order_by(Episode.referral_date.desc())
        .limit(1)
    )


def book(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    start: datetime,
    place: str,
    format_: str,
    minutes: int = 50,
    with_whom: str | None = None,
    contact_type: str | None = None,
    episode_id: uuid.UUID | None = None,
) -> Appointment:
    """Book an appointment. ``contact_type`` says what it is for (``CONTACT_TYPES``); ``episode_id`` the referral it
    belongs to, by default the person's latest open episode (none when they have no open one)."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    problems = []
    if contact_type is not None and contact_type not in CONTACT_TYPES:
        problems.append(FieldProblem("contact_type", f"must be one of {', '.join(CONTACT_TYPES)}"))
    if episode_id is not None:
        ep = session.get(Episode, episode_id)
        if ep is None or ep.person_id != person_id:
            problems.append(FieldProblem("episode_id", "is not an episode of this person"))
        elif ep.discharge_date is not None:
            problems.append(FieldProblem("episode_id", f"ended on {ep.discharge_date.isoformat()}"))
    else:
        episode_id = open_referral(session, person_id)
        if episode_id is None and contact_type in CLINICAL_CONTACTS:
            problems.append(
                FieldProblem(
                    "contact_type",
                    f"an {CONTACT_LABELS[contact_type]} appointment belongs to a referral and the person has no open "
                    "one: record the new referral first, or book it as 'other'",
                )
            )
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
        contact_type=contact_type,
        episode_id=episode_id,
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
        raise invalid("level", f"choose the level assessed: {', '.join(RISK_LEVELS)}")
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


# -- the crisis lookup ---------------------------------------------------------------------------------------

SAFETY_ALERT_DAYS = 30  # the crisis summary shows safety alerts about answers this recent (and any still open)
_SAFETY_KINDS = (Kind.SAFETY.value, Kind.SAFETY_UNANSWERED.value)


@dataclass(frozen=True)
class CareContact:
    """A team the person is with and their named care coordinator there (None when nobody is named)."""

    team: str
    coordinator: str | None


@dataclass(frozen=True)
class CrisisSummary:
    """What a crisis response needs, the same plan every team sees: identity, current risk (None: not assessed),
    the current crisis plan, who to call in the person's own teams, and recent safety alerts. Nothing else."""

    person: Person
    risk: RiskAssessment | None
    plan: CrisisPlan | None
    care_team: list[CareContact]
    safety_alerts: list[Alert]


@dataclass(frozen=True)
class CrisisQuery:
    """What the crisis worker typed: one of an NHS number, a local identifier, or a family name with a date of
    birth (the given name narrows a name search)."""

    nhs_number: str = ""
    identifier: str = ""
    family_name: str = ""
    given_name: str = ""
    birth_date: date | None = None

    def kind(self) -> str:
        """'nhs_number', 'identifier' or 'name', or InvalidInput naming the fields when it is none or several."""
        typed = (("nhs_number", self.nhs_number), ("identifier", self.identifier))
        names = (("family_name", self.family_name), ("given_name", self.given_name))
        if nul := [FieldProblem(k, "contains a NUL character") for k, v in (*typed, *names) if "\x00" in v]:
            raise InvalidInput("a search term contains a NUL character; nobody was looked up", nul)
        kinds = [
            k
            for k, given in (
                ("nhs_number", self.nhs_number.strip()),
                ("identifier", self.identifier.strip()),
                ("name", self.family_name.strip() or self.given_name.strip() or self.birth_date),
            )
            if given
        ]
        if not kinds:
            raise InvalidInput(
                "say who to look up: an NHS number, a local identifier, or a family name with a date of birth",
                [FieldProblem("nhs_number", "give an NHS number, a local identifier, or a name and date of birth")],
            )
        if len(kinds) > 1:
            raise InvalidInput(
                "search by one thing at a time, so the result is not a mixture",
                [FieldProblem(k, "clear this or the other search fields") for k in kinds],
            )
        if kinds[0] == "name":
            problems = []
            if not name_key(self.family_name):
                problems.append(FieldProblem("family_name", "a name search needs the family name"))
            if self.birth_date is None:
                problems.append(
                    FieldProblem("birth_date", "a name search needs the date of birth (a name alone shows nobody)")
                )
            elif self.birth_date > utcnow().date():
                problems.append(FieldProblem("birth_date", "is in the future"))
            if problems:
                raise InvalidInput(f"{len(problems)} problem(s) in the search; nobody was looked up", problems)
        return kinds[0]

    def described(self) -> str:
        """What was searched, in words (shown with the result, 'nothing matched' included)."""
        kind = self.kind()
        if kind == "nhs_number":
            n = nhs_number.normalise(self.nhs_number)
            return f"NHS number {n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else f"NHS number {n}"
        if kind == "identifier":
            return f"local identifier {self.identifier.strip()}"
        assert self.birth_date is not None
        given = f", given name {self.given_name.strip()}" if self.given_name.strip() else ""
        return f"family name {self.family_name.strip()}{given}, born {self.birth_date:%d %b %Y}"

    def terms(self) -> dict[str, str]:
        """The typed terms, for the audit trail (who looked for whom)."""
        out = {
            "nhs_number": nhs_number.normalise(self.nhs_number),
            "identifier": self.identifier.strip(),
            "family_name": self.family_name.strip(),
            "given_name": self.given_name.strip(),
            "birth_date": self.birth_date.isoformat() if self.birth_date else "",
        }
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class CrisisMatch:
    """One person a search found, with enough to tell them from the others."""

    person: Person
    teams: list[str]


@dataclass(frozen=True)
class CrisisSearch:
    """The people a crisis search found (their summary when exactly one), and what was searched."""

    searched: str
    matches: list[CrisisMatch]
    summary: CrisisSummary | None
    note: str | None = None


def _reason(reason: str | None) -> str:
    if reason and "\x00" in reason:
        raise invalid("reason", "contains a NUL character")
    if visible_length(reason) < 5:
        raise invalid("reason", "say why you are looking this person up (at least 5 characters)")
    assert reason is not None
    return reason.strip()


def _crisis_matches(session: Session, q: CrisisQuery) -> tuple[list[Person], str | None]:
    kind = q.kind()
    if kind == "nhs_number":
        try:
            number = nhs_number.validate(q.nhs_number)
        except ValueError as exc:
            raise invalid("nhs_number", str(exc)) from None
        return list(session.scalars(select(Person).where(Person.nhs_number == number))), None
    if kind == "identifier":
        value = q.identifier.strip()
        ids = select(PersonIdentifier.person_id).where(
            PersonIdentifier.value.in_({value, value.upper(), value.lower()})
        )
        return list(session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.family_name))), None
    born = session.scalars(select(Person).where(Person.birth_date == q.birth_date))
    family = [p for p in born if family_matches(q.family_name, p.family_name)]
    if not q.given_name.strip():
        return sorted(family, key=_by_name), None
    given = [p for p in family if given_matches(q.given_name, p.given_name)]
    if given or not family:
        return sorted(given, key=_by_name), None
    # a nickname or a misspelt given name: the family name and date of birth are the search's rule, not the
    # given name, so show who has them rather than nobody
    return sorted(family, key=_by_name), (
        f"Nobody with the given name {q.given_name.strip()}: showing everyone with this family name and date of birth."
    )


def _by_name(p: Person) -> tuple[str, str]:
    return (name_key(p.family_name), name_key(p.given_name))


def _teams(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, str | None]]]:
    """Each person's teams and the named lead in each (display name), by team name."""
    rows = session.execute(
        select(CaseloadAssignment.person_id, Team.name, User.display_name)
        .join(Team, Team.id == CaseloadAssignment.team_id)
        .outerjoin(User, User.id == CaseloadAssignment.lead_user_id)
        .where(CaseloadAssignment.person_id.in_(person_ids))
        .order_by(Team.name)
    )
    out: dict[uuid.UUID, list[tuple[str, str | None]]] = {pid: [] for pid in person_ids}
    for pid, team, lead in rows:
        out[pid].append((team, lead))
    return out


def _summary(session: Session, person: Person) -> CrisisSummary:
    risk = session.scalar(
        select(RiskAssessment)
        .where(RiskAssessment.person_id == person.id)
        .order_by(RiskAssessment.assessed_at.desc())
        .limit(1)
    )
    plan = session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person.id, CrisisPlan.current.is_(True)))
    since = utcnow() - timedelta(days=SAFETY_ALERT_DAYS)
    candidates = session.scalars(
        select(Alert)
        .where(
            Alert.person_id == person.id,
            Alert.kind.in_(_SAFETY_KINDS),
            or_(Alert.raised_at >= since, Alert.status.in_([s.value for s in OPEN])),
        )
        .order_by(Alert.raised_at.desc())
    )
    # recent by the answer's own time (a late import raises today an alert about an answer of last year);
    # an alert still open is shown whatever its age
    alerts = sorted(
        (a for a in candidates if a.status in OPEN or safety_alert_time(a) >= since),
        key=safety_alert_time,
        reverse=True,
    )
    care_team = [CareContact(t, lead) for t, lead in _teams(session, [person.id])[person.id]]
    return CrisisSummary(person, risk, plan, care_team, alerts)


def safety_alert_time(alert: Alert) -> datetime:
    """When the answer behind a safety alert was given (the alert's own time when the answer's is not kept)."""
    when = (alert.detail or {}).get("time")
    if isinstance(when, str):
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            return alert.raised_at
        return parsed if parsed.tzinfo else alert.raised_at
    return alert.raised_at


def _summary_audit(s: CrisisSummary, reason: str, detail: dict[str, Any]) -> audit.Entry:
    return audit.Entry(
        "read",
        "CrisisSummary",
        str(s.plan.id) if s.plan else None,
        s.person.id,
        reason,
        {
            "via": "crisis",
            "reason": reason,
            **detail,
            "plan_version": s.plan.version if s.plan else None,
            "safety_alerts": len(s.safety_alerts),
        },
    )


def crisis_search(session: Session, principal: Principal, query: CrisisQuery, reason: str | None) -> CrisisSearch:
    """Find people for a crisis response by NHS number, a local identifier (any system's), or family name with
    date of birth - never a name alone. One match opens their summary; several give a short list to choose
    from. Audited with the reason and what was searched: one record for each person shown (or one saying
    nothing matched)."""
    principal.require(Permission.CRISIS_READ)
    why = _reason(reason)
    people, note = _crisis_matches(session, query)
    searched = query.described()
    detail: dict[str, Any] = {
        "searched_by": query.kind(),
        "terms": query.terms(),
        "matches": len(people),
    }
    teams = _teams(session, [p.id for p in people])
    matches = [CrisisMatch(p, [t for t, _ in teams[p.id]]) for p in people]
    if len(people) == 1:
        summary = _summary(session, people[0])
        audit.append_many(session, principal.actor, [_summary_audit(summary, why, detail)])
        return CrisisSearch(searched, matches, summary, note)
    entries = [
        audit.Entry("read", "CrisisSearch", None, p.id, why, {"via": "crisis", "reason": why, **detail}) for p in people
    ] or [audit.Entry("read", "CrisisSearch", None, None, why, {"via": "crisis", "reason": why, **detail})]
    audit.append_many(session, principal.actor, entries)
    return CrisisSearch(searched, matches, None, note)


def crisis_summary(
    session: Session, principal: Principal, person_id: uuid.UUID, reason: str | None, chosen_from: int | None = None
) -> CrisisSummary:
    """One person's crisis summary, opened by id (chosen from a search's list); an audited read with the reason."""
    principal.require(Permission.CRISIS_READ)
    why = _reason(reason)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    summary = _summary(session, person)
    detail: dict[str, Any] = {"searched_by": "person_id"}
    if chosen_from is not None:
        detail["chosen_from"] = chosen_from
    audit.append_many(session, principal.actor, [_summary_audit(summary, why, detail)])
    return summary


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


def withdraw_plan_links(session: Session, principal: Principal, person_id: uuid.UUID) -> int:
    """Withdraw every working link to the person's own page (a lost phone, a link shared with someone it should
    not be): they open nothing from now on. Returns how many were withdrawn (audited, each)."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    now = utcnow()
    links = list(
        session.scalars(
            select(PlanLink).where(
                PlanLink.person_id == person_id, PlanLink.revoked_at.is_(None), PlanLink.expires_at > now
            )
        )
    )
    for link in links:
        link.revoked_at = now
    session.flush()
    audit.append_many(
        session,
        principal.actor,
        [audit.Entry("update", "PlanLink", str(k.id), person_id, None, {"revoked": True}) for k in links],
    )
    return len(links)


PERSON_VIA_LINK = "the person (via link)"  # who recorded what the person saved through their link


def open_plan_link(session: Session, token: str) -> PlanLink:
    """The person's link for a token, or PlanLinkGone when it is unknown, expired or withdrawn (nothing said of
    which, so a guessed token learns nothing)."""
    link = session.scalar(select(PlanLink).where(PlanLink.token_hash == hashlib.sha256(token.encode()).hexdigest()))
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        raise PlanLinkGone()
    return link


def link_actor(link: PlanLink) -> Actor:
    """The person, acting through their link: every read and write through it is audited as this actor."""
    return Actor(None, f"plan-link:{link.id}", "person")


def current_crisis_plan(session: Session, person_id: uuid.UUID) -> CrisisPlan | None:
    """The current plan, unaudited: for use cases that audit the read themselves (the person's own page)."""
    return session.scalar(select(CrisisPlan).where(CrisisPlan.person_id == person_id, CrisisPlan.current.is_(True)))


def upcoming_appointments(session: Session, person_id: uuid.UUID) -> list[Appointment]:
    """Booked appointments from now, soonest first, unaudited (the caller audits)."""
    return list(
        session.scalars(
            select(Appointment)
            .where(Appointment.person_id == person_id, Appointment.status == "booked", Appointment.start >= utcnow())
            .order_by(Appointment.start)
        )
    )


def preferences_history(
    session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api"
) -> list[Preferences]:
    """Every saved version of the person's preferences, newest first (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    rows = list(
        session.scalars(
            select(Preferences).where(Preferences.person_id == person_id).order_by(Preferences.version.desc())
        )
    )
    audit.append(
        session, principal.actor, "read", "Preferences", None, person_id, detail={"via": via, "versions": len(rows)}
    )
    return rows
