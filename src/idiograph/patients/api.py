"""Routes for people, episodes, caseloads, teams and break-the-glass."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from idiograph.patients import coordinator, service
from idiograph.patients.schema import (
    BreakGlassIn,
    BreakGlassOut,
    EpisodeIn,
    EpisodeOut,
    EpisodePatch,
    PersonIn,
    PersonOut,
    PersonPatch,
    ReviewIn,
)
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.post("/people", response_model=PersonOut, status_code=201)
def create_person(
    body: PersonIn, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_WRITE))
) -> PersonOut:
    return service.create_person(db, p, body)


@router.get("/people/{person_id}", response_model=PersonOut)
def get_person(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> PersonOut:
    return service.get_person(db, p, person_id)


@router.patch("/people/{person_id}", response_model=PersonOut)
def update_person(
    person_id: uuid.UUID,
    body: PersonPatch,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> PersonOut:
    return service.update_person(db, p, person_id, body)


@router.get("/people/{person_id}/episodes", response_model=list[EpisodeOut])
def episodes(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[EpisodeOut]:
    return [EpisodeOut.model_validate(e) for e in service.list_episodes(db, p, person_id)]


@router.post("/people/{person_id}/episodes", response_model=EpisodeOut, status_code=201)
def add_episode(
    person_id: uuid.UUID,
    body: EpisodeIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> EpisodeOut:
    return EpisodeOut.model_validate(service.add_episode(db, p, person_id, body))


@router.patch("/episodes/{episode_id}", response_model=EpisodeOut)
def update_episode(
    episode_id: uuid.UUID,
    body: EpisodePatch,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> EpisodeOut:
    return EpisodeOut.model_validate(service.update_episode(db, p, episode_id, body))


@router.post("/people/{person_id}/break-glass", response_model=BreakGlassOut, status_code=201)
def break_glass(
    person_id: uuid.UUID,
    body: BreakGlassIn,
    request: Request,
    db: Session = DB,
    p: Principal = Depends(require(Permission.BREAK_GLASS)),
) -> BreakGlassOut:
    """Emergency access outside your caseload: reason required, time-limited, reviewed afterwards."""
    minutes = request.app.state.settings.break_glass_minutes
    return BreakGlassOut.model_validate(service.break_glass(db, p, person_id, body.reason, minutes))


@router.get("/break-glass", response_model=list[BreakGlassOut])
def grants(
    unreviewed: bool = True,
    db: Session = DB,
    p: Principal = Depends(require(Permission.BREAK_GLASS_REVIEW)),
) -> list[BreakGlassOut]:
    return [BreakGlassOut.model_validate(g) for g in service.list_grants(db, p, unreviewed)]


@router.post("/break-glass/{grant_id}/review", response_model=BreakGlassOut)
def review(
    grant_id: uuid.UUID,
    body: ReviewIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.BREAK_GLASS_REVIEW)),
) -> BreakGlassOut:
    return BreakGlassOut.model_validate(service.review_grant(db, p, grant_id, body.note))


class CareCoordinatorIn(Strict):
    user_id: uuid.UUID | None


class CareCoordinatorOut(BaseModel):
    user_id: uuid.UUID
    name: str
    username: str
    role: str
    team: str


@router.put("/people/{person_id}/care-coordinator", response_model=CareCoordinatorOut | None)
def set_care_coordinator(
    person_id: uuid.UUID,
    body: CareCoordinatorIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> CareCoordinatorOut | None:
    """Name (or clear, with null) the member of the person's team who coordinates their care."""
    coordinator.assign(db, p, person_id, body.user_id)
    now = coordinator.current(db, person_id)
    return CareCoordinatorOut(**vars(now)) if now else None
