"""Routes for appointments, the appointment plan, risk assessments, preferences and crisis plans."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.care import service
from idiograph.care.options import CONTACT_TYPES
from idiograph.errors import Conflict, NotFound
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["care"])


class AppointmentIn(Strict):
    start: datetime
    place: str
    format: str
    minutes: int = 50
    with_whom: str | None = Field(default=None, max_length=120)
    contact_type: str | None = Field(
        default=None, description="what it is for: " + ", ".join(CONTACT_TYPES) + " (reports count treatment contacts)"
    )
    episode_id: uuid.UUID | None = Field(
        default=None, description="the referral it belongs to; by default the person's latest open episode"
    )


class AppointmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    start: datetime
    minutes: int
    place: str
    format: str
    with_whom: str | None
    status: str
    contact_type: str | None = None
    episode_id: uuid.UUID | None = None


class AttendanceIn(Strict):
    status: str = Field(description="attended, did_not_attend, cancelled_by_person or cancelled_by_service")


class PlanIn(Strict):
    default_frequency: str
    place: str = "clinic"
    format: str = "in_person"


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: uuid.UUID
    frequency: str
    default_frequency: str
    place: str
    format: str


class RiskIn(Strict):
    level: str
    summary: str = Field(max_length=4000)


class RiskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    level: str
    assessed_at: datetime
    author: str
    summary: str


class PreferencesIn(Strict):
    """What the person has said: times, places, formats, communication, who to involve, what they declined."""

    expected_version: int = Field(ge=0, description="the version you started from (0 for the first)")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default_factory=list)
    periods: list[Literal["morning", "afternoon", "evening"]] = Field(default_factory=list)
    times: list[str] = Field(default_factory=list, max_length=20, description="anything else about times, in words")
    places: list[Literal["clinic", "home", "community", "remote"]] = Field(default_factory=list)
    formats: list[Literal["in_person", "video", "phone", "group"]] = Field(default_factory=list)
    communication: list[Literal["sms", "letter", "email", "phone"]] = Field(default_factory=list)
    accessible_format: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=35)
    interpreter: bool = False
    therapist_gender: Literal["female", "male"] | None = Field(
        default=None, description="a therapist of this gender preferred (matching weighs it; never a hard rule)"
    )
    involve: list[str] = Field(default_factory=list, max_length=10)
    declined: list[dict[str, str]] = Field(default_factory=list, max_length=20, description="[{what, why}]")
    goals: list[str] | None = Field(
        default=None, max_length=3, description="the person's goals in their words; omitted keeps the current ones"
    )


class PreferencesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: uuid.UUID
    version: int
    data: dict[str, Any]
    recorded_by: str
    recorded_at: datetime


class CrisisPlanIn(Strict):
    expected_version: int = Field(ge=0, description="the version you edited (0 for the first plan)")
    rationale: str = Field(max_length=4000)
    triggers: list[str] = Field(default_factory=list, max_length=30)
    warning_signs: list[str] = Field(default_factory=list, max_length=30)
    what_helps: list[str] = Field(default_factory=list, max_length=30)
    what_does_not_help: list[str] = Field(default_factory=list, max_length=30)
    contacts: list[str] = Field(default_factory=list, max_length=30)
    crisis_care_preferences: str | None = Field(default=None, max_length=4000)
    advance_statement: str | None = Field(default=None, max_length=8000)
    copies_held_by: list[str] = Field(default_factory=list, max_length=20)


class CrisisPlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    version: int
    content: dict[str, Any]
    updated_by: str
    updated_at: datetime


@router.post("/people/{person_id}/appointments", response_model=AppointmentOut, status_code=201)
def book(
    person_id: uuid.UUID,
    body: AppointmentIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> AppointmentOut:
    a = service.book(
        db,
        p,
        person_id,
        body.start,
        body.place,
        body.format,
        body.minutes,
        body.with_whom,
        body.contact_type,
        body.episode_id,
    )
    return AppointmentOut.model_validate(a)


@router.get("/people/{person_id}/appointments", response_model=list[AppointmentOut])
def appointments(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[AppointmentOut]:
    return [AppointmentOut.model_validate(a) for a in service.appointments_for(db, p, person_id)]


@router.post("/appointments/{appointment_id}/attendance", response_model=AppointmentOut)
def attendance(
    appointment_id: uuid.UUID,
    body: AttendanceIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> AppointmentOut:
    return AppointmentOut.model_validate(service.record_attendance(db, p, appointment_id, body.status))


@router.post("/people/{person_id}/risk-assessments", response_model=RiskOut, status_code=201)
def risk(
    person_id: uuid.UUID,
    body: RiskIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> RiskOut:
    return RiskOut.model_validate(service.record_risk(db, p, person_id, body.level, body.summary))


@router.get("/people/{person_id}/preferences", response_model=PreferencesOut)
def get_preferences(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> PreferencesOut:
    prefs = service.preferences(db, p, person_id)
    if prefs is None:
        raise NotFound("no preferences recorded yet")
    return PreferencesOut.model_validate(prefs)


@router.put("/people/{person_id}/preferences", response_model=PreferencesOut)
def put_preferences(
    person_id: uuid.UUID,
    body: PreferencesIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> PreferencesOut:
    data = body.model_dump(exclude={"expected_version"})
    if body.goals is None:  # a client that does not know about goals keeps the person's own
        current = service.preferences(db, p, person_id)
        data["goals"] = list((current.data if current else {}).get("goals") or [])
    return PreferencesOut.model_validate(service.save_preferences(db, p, person_id, data, body.expected_version))


@router.get("/people/{person_id}/crisis-plan", response_model=CrisisPlanOut)
def get_crisis_plan(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> CrisisPlanOut:
    plan_ = service.crisis_plan(db, p, person_id)
    if plan_ is None:
        raise NotFound("no crisis plan yet")
    return CrisisPlanOut.model_validate(plan_)


class SlotOut(BaseModel):
    start: datetime
    place: str
    format: str
    fit: float = Field(description="share of the person's stated preferences this slot meets")
    reasons: list[str]


@router.get("/people/{person_id}/slots", response_model=list[SlotOut])
def slots(
    person_id: uuid.UUID,
    days: int = Query(14, ge=1, le=60),
    limit: int = Query(10, ge=1, le=100),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[SlotOut]:
    """Free slots over the next ``days``, best fit to the person's preferences first."""
    return [
        SlotOut(start=s.start, place=s.place, format=s.format, fit=s.score, reasons=list(s.reasons))
        for s in service.suggest_slots(db, p, person_id, days, limit)
    ]


@router.get("/people/{person_id}/appointments.ics")
def appointments_ics(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> Response:
    """The person's booked appointments as an iCalendar file, to give them (when, how, where - nothing else)."""
    return Response(
        service.calendar(db, p, person_id),
        media_type="text/calendar",
        headers={"Content-Disposition": "attachment; filename=appointments.ics"},
    )


class CareContactOut(BaseModel):
    team: str
    care_coordinator: str | None = Field(description="the named lead in that team (None: nobody named)")


class SafetyAlertOut(BaseModel):
    kind: str
    title: str
    reason: str
    answered_at: datetime = Field(description="when the answer behind the alert was given")
    raised_at: datetime
    status: str


class CrisisSummaryOut(BaseModel):
    person_id: uuid.UUID
    name: str
    birth_date: str | None
    nhs_number: str | None
    risk_level: str | None = Field(description="None: not assessed (unknown, not low)")
    risk_assessed_at: datetime | None
    risk_assessed_by: str | None = None
    crisis_plan: CrisisPlanOut | None
    care_team: list[CareContactOut] = Field(default_factory=list)
    safety_alerts: list[SafetyAlertOut] = Field(
        default_factory=list, description=f"safety alerts of the last {service.SAFETY_ALERT_DAYS} days, and open ones"
    )


class CrisisMatchOut(BaseModel):
    person_id: uuid.UUID
    name: str
    birth_date: str | None
    nhs_number: str | None
    teams: list[str]


class CrisisMatchesOut(BaseModel):
    searched: str
    note: str | None
    matches: list[CrisisMatchOut]


def _summary_out(s: service.CrisisSummary) -> CrisisSummaryOut:
    return CrisisSummaryOut(
        person_id=s.person.id,
        name=f"{s.person.given_name} {s.person.family_name}",
        birth_date=s.person.birth_date.isoformat() if s.person.birth_date else None,
        nhs_number=s.person.nhs_number,
        risk_level=s.risk.level if s.risk else None,
        risk_assessed_at=s.risk.assessed_at if s.risk else None,
        risk_assessed_by=s.risk.author if s.risk else None,
        crisis_plan=CrisisPlanOut.model_validate(s.plan) if s.plan else None,
        care_team=[CareContactOut(team=c.team, care_coordinator=c.coordinator) for c in s.care_team],
        safety_alerts=[
            SafetyAlertOut(
                kind=a.kind,
                title=a.title,
                reason=a.reason,
                answered_at=service.safety_alert_time(a),
                raised_at=a.raised_at,
                status=a.status,
            )
            for a in s.safety_alerts
        ],
    )


_REASON = Query(None, description="why you are looking this person up (required, at least 5 characters; audited)")


@router.get("/crisis", response_model=CrisisSummaryOut)
def crisis_lookup(
    reason: str | None = _REASON,
    nhs_number: str = "",
    identifier: str = Query("", description="a local identifier of any system (e.g. a hospital number)"),
    family_name: str = "",
    given_name: str = Query("", description="optional; narrows a search by family name and date of birth"),
    birth_date: date | None = Query(None, description="needed with family_name: a name alone finds nobody"),
    person_id: uuid.UUID | None = Query(None, description="one of the people /crisis/matches listed"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.CRISIS_READ)),
) -> CrisisSummaryOut:
    """For crisis teams: identity, current risk, the crisis plan, the care team and recent safety alerts of
    anyone, by NHS number, local identifier, family name with date of birth, or id (audited with the reason).
    When a search matches several people it is refused (409) naming how many: list them with /crisis/matches."""
    if person_id is not None:
        return _summary_out(service.crisis_summary(db, p, person_id, reason))
    q = service.CrisisQuery(nhs_number, identifier, family_name, given_name, birth_date)
    found = service.crisis_search(db, p, q, reason)
    if found.summary is not None:
        return _summary_out(found.summary)
    if not found.matches:
        raise NotFound(f"nobody matched {found.searched}")
    raise Conflict(
        f"{len(found.matches)} people match {found.searched}: list them with /api/v1/crisis/matches and choose one "
        "by person_id"
    )


@router.get("/crisis/matches", response_model=CrisisMatchesOut)
def crisis_matches(
    reason: str | None = _REASON,
    nhs_number: str = "",
    identifier: str = "",
    family_name: str = "",
    given_name: str = "",
    birth_date: date | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.CRISIS_READ)),
) -> CrisisMatchesOut:
    """For crisis teams: everyone a search matches (name, date of birth, NHS number, teams) to choose from;
    audited with the reason for each person listed."""
    q = service.CrisisQuery(nhs_number, identifier, family_name, given_name, birth_date)
    found = service.crisis_search(db, p, q, reason)
    return CrisisMatchesOut(
        searched=found.searched,
        note=found.note,
        matches=[
            CrisisMatchOut(
                person_id=m.person.id,
                name=f"{m.person.given_name} {m.person.family_name}",
                birth_date=m.person.birth_date.isoformat() if m.person.birth_date else None,
                nhs_number=m.person.nhs_number,
                teams=m.teams,
            )
            for m in found.matches
        ],
    )
