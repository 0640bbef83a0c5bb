"""Routes for governed change: request a change, answer an escalation, read decisions and the queue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.care.api import CrisisPlanIn, CrisisPlanOut, PlanIn, PlanOut
from idiograph.governance import reviews, service
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["governance"])


class ChangeIn(Strict):
    """One change to a person's care: an appointment's time, place or format (``appointment_id`` with any of
    ``start``, ``place``, ``format``) and/or the plan's ``frequency``."""

    appointment_id: uuid.UUID | None = None
    start: datetime | None = None
    place: str | None = None
    format: str | None = None
    frequency: str | None = None
    intervention: str | None = Field(default=None, description="an appropriate intervention (see /interventions)")
    declined: str | None = Field(default=None, max_length=200, description="what the person declined, if that is why")
    discharge: str | None = Field(default=None, description="discharge the open episode, with this reason")
    rationale: str = Field(max_length=4000, description="why, in words")
    based_on: dict[str, Any] = Field(default_factory=dict, description="ids of observations, alerts it rests on")


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    change: str
    summary: str
    rationale: str
    based_on: dict[str, Any]
    requested_by: str
    requested_role: str
    requested_profession: str | None = None
    decided_at: datetime
    status: str
    authority: str
    policy_version: str
    policy_reason: str


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    decision_id: uuid.UUID
    person_id: uuid.UUID
    to_role: str
    reason: str
    raised_at: datetime
    due_at: datetime
    status: str
    answered_by: str | None
    answered_at: datetime | None
    answer_note: str | None


class AnswerIn(Strict):
    approve: bool
    note: str = Field(max_length=4000)


class QueueOut(BaseModel):
    pending: list[EscalationOut]
    delegated: list[DecisionOut]


@router.post("/people/{person_id}/changes", response_model=DecisionOut, status_code=201)
def request_change(
    person_id: uuid.UUID,
    body: ChangeIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> DecisionOut:
    """Applied at once under delegated authority, or recorded as pending with an escalation."""
    payload = body.model_dump(mode="json", exclude={"rationale", "based_on"}, exclude_none=True)
    return DecisionOut.model_validate(service.request_change(db, p, person_id, payload, body.rationale, body.based_on))


@router.get("/people/{person_id}/decisions", response_model=list[DecisionOut])
def decisions(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[DecisionOut]:
    return [DecisionOut.model_validate(d) for d in service.decisions_for(db, p, person_id)]


@router.post("/escalations/{escalation_id}/answer", response_model=EscalationOut)
def answer(
    escalation_id: uuid.UUID,
    body: AnswerIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> EscalationOut:
    return EscalationOut.model_validate(service.answer(db, p, escalation_id, body.approve, body.note))


@router.get("/governance/queue", response_model=QueueOut)
def queue(db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))) -> QueueOut:
    q = service.queue(db, p)
    return QueueOut(
        pending=[EscalationOut.model_validate(e) for e in q["pending"]],
        delegated=[DecisionOut.model_validate(d) for d in q["delegated"]],
    )


class OptionOut(BaseModel):
    id: str
    label: str
    reasons: list[str]


class InterventionsOut(BaseModel):
    current: str | None
    standard: str
    alternatives: list[OptionOut]


@router.get("/people/{person_id}/interventions", response_model=InterventionsOut)
def interventions(
    person_id: uuid.UUID,
    declined: list[str] = Query(default_factory=list),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> InterventionsOut:
    """The standard offer for the person's presentation and the appropriate alternatives if they decline it."""
    current, standard, options = service.intervention_options(db, p, person_id, set(declined))
    return InterventionsOut(
        current=current,
        standard=standard,
        alternatives=[OptionOut(id=o.id, label=o.label, reasons=list(o.reasons)) for o in options],
    )


@router.post("/people/{person_id}/appointment-plan", response_model=PlanOut, status_code=201)
def plan(
    person_id: uuid.UUID,
    body: PlanIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> PlanOut:
    return PlanOut.model_validate(service.set_plan(db, p, person_id, body.default_frequency, body.place, body.format))


@router.put("/people/{person_id}/crisis-plan", response_model=CrisisPlanOut)
def put_crisis_plan(
    person_id: uuid.UUID,
    body: CrisisPlanIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> CrisisPlanOut:
    content = body.model_dump(exclude={"expected_version", "rationale"})
    return CrisisPlanOut.model_validate(
        service.save_crisis_plan(db, p, person_id, content, body.expected_version, body.rationale)
    )


class FollowUpIn(Strict):
    text: str = Field(max_length=200, description="what must be done")
    nhs_number: str | None = Field(default=None, max_length=12, description="the person it is about, if anyone")


class SignOffIn(Strict):
    notes: str = Field(max_length=4000, description="what the review found, in words")
    follow_ups: list[FollowUpIn] = Field(default_factory=list, max_length=50)


def _review_json(v: Any) -> dict[str, Any]:
    return {
        "team_id": str(v.team_id),
        "team": v.team_name,
        "period_start": v.start.isoformat(),
        "period_end": v.end.isoformat(),
        "counts": v.counts,
        "overdue": v.overdue,
        "decisions": [str(d.id) for d in v.decisions],
        "escalations": [{"id": str(e.id), "status": e.status, "level": e.level} for e in v.escalations],
        "signed_off": None
        if v.signed is None
        else {"by": v.signed.signed_by, "at": v.signed.signed_at.isoformat(), "notes": v.signed.notes},
    }


@router.get("/governance/reviews/{team_id}/{period}")
def governance_review(
    team_id: uuid.UUID,
    period: date,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> dict[str, Any]:
    """The governance review of a team for the period containing ``period`` (a date), and its sign-off (audited)."""
    return _review_json(reviews.view(db, p, team_id, period))


@router.post("/governance/reviews/{team_id}/{period}/sign-off", status_code=201)
def governance_review_sign_off(
    team_id: uuid.UUID,
    period: date,
    body: SignOffIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> dict[str, Any]:
    """Sign the review off once with notes; each follow-up becomes a task."""
    reviews.sign_off(db, p, team_id, period, body.notes, [f.model_dump() for f in body.follow_ups])
    return _review_json(reviews.view(db, p, team_id, period))
