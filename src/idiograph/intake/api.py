"""Routes for the intake baseline: read it, record a section, re-rate the goals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from idiograph.errors import NotFound
from idiograph.intake import service as intake_service
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["intake"])


class ContributionOut(BaseModel):
    by: str
    name: str
    profession: str | None
    at: str


class SectionOut(BaseModel):
    id: str
    title: str
    recorded: bool
    answers: dict[str, Any]
    contributed: ContributionOut | None


class RatingOut(BaseModel):
    date: date
    rating: int
    by: str


class GoalOut(BaseModel):
    number: int
    goal: str
    first: int
    latest: int
    ratings: list[RatingOut]


class IntakeOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    definition: str = Field(description="the intake definition's id and version, e.g. intake/1")
    psychosocial_consent: bool | None
    sections: list[SectionOut]
    goals: list[GoalOut]


class SectionIn(Strict):
    answers: dict[str, Any] = Field(description="this section's answers by field id (intake.yaml)")
    episode_id: uuid.UUID | None = Field(default=None, description="the episode (default: the open one)")


class GoalRatingIn(Strict):
    goal: int = Field(ge=1, le=20, description="the goal's number, from 1")
    rating: int = Field(ge=0, le=10)


class RatingsIn(Strict):
    ratings: list[GoalRatingIn] = Field(min_length=1, max_length=20)
    on: date | None = Field(default=None, description="the day they were rated (default: today)")
    episode_id: uuid.UUID | None = None


def intake_out(v: intake_service.IntakeView) -> IntakeOut:
    return IntakeOut(
        id=v.id,
        person_id=v.person_id,
        episode_id=v.episode_id,
        definition=f"{v.definition_id}/{v.definition_version}",
        psychosocial_consent=v.psychosocial_consent,
        sections=[
            SectionOut(
                id=s.id,
                title=s.title,
                recorded=s.recorded,
                answers=s.answers,
                contributed=ContributionOut(**s.contributor) if s.contributor else None,
            )
            for s in v.sections
        ],
        goals=[
            GoalOut(
                number=g.number,
                goal=g.goal,
                first=g.first,
                latest=g.latest,
                ratings=[RatingOut(**r) for r in g.ratings],
            )
            for g in v.goals
        ],
    )


def _read(db: Session, p: Principal, person_id: uuid.UUID, episode_id: uuid.UUID | None) -> IntakeOut:
    v = intake_service.read(db, p, person_id, episode_id)
    if v is None:
        raise NotFound("no intake is recorded for this episode")
    return intake_out(v)


@router.get("/people/{person_id}/intake", response_model=IntakeOut)
def get_intake(
    person_id: uuid.UUID,
    episode_id: uuid.UUID | None = Query(default=None, description="default: the open episode, else the latest"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> IntakeOut:
    """The intake baseline: each section's answers with who contributed it and in which profession, and the
    goals with their ratings over time."""
    return _read(db, p, person_id, episode_id)


@router.put("/people/{person_id}/intake/{section}", response_model=IntakeOut)
def put_section(
    person_id: uuid.UUID,
    section: str,
    body: SectionIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> IntakeOut:
    """Record or replace one section as the signed-in user (their profession marks it). Refused whole, naming
    every field, when an answer cannot be stored; psychosocial context only with the person's agreement."""
    rec = intake_service.save_section(db, p, person_id, section, body.answers, body.episode_id)
    return intake_out(intake_service.view(rec))


@router.post("/people/{person_id}/intake/goals/ratings", response_model=IntakeOut)
def rate_goals(
    person_id: uuid.UUID,
    body: RatingsIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> IntakeOut:
    """Re-rate the intake goals (e.g. at a review): each given goal gains a rating on ``on``."""
    ratings = {r.goal: r.rating for r in body.ratings}
    rec = intake_service.rerate_goals(db, p, person_id, ratings, body.on, body.episode_id)
    return intake_out(intake_service.view(rec))
