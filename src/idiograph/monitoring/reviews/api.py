"""Routes for formal reviews at set weeks of treatment."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.errors import invalid
from idiograph.monitoring.reviews import service as review_service
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["reviews"])


class BaselineOut(BaseModel):
    instrument: str
    intake: float
    latest: float
    change: float


class ReviewDueOut(BaseModel):
    person_id: uuid.UUID
    person_name: str
    episode_id: uuid.UUID
    pathway: str
    treatment_start: date
    week: int
    due: date
    status: str
    baselines: list[BaselineOut]


class ReviewIn(Strict):
    week: int = Field(ge=1, le=104)
    note: str = Field(min_length=5, max_length=10000)


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    episode_id: uuid.UUID
    person_id: uuid.UUID
    week: int
    completed_at: datetime
    completed_by: str
    note: str
    baseline: dict[str, object]


def due_out(r: review_service.ReviewRow) -> ReviewDueOut:
    return ReviewDueOut(
        person_id=r.person_id,
        person_name=r.person_name,
        episode_id=r.episode_id,
        pathway=r.pathway,
        treatment_start=r.start,
        week=r.slot.week,
        due=r.slot.due,
        status=r.slot.status,
        baselines=[
            BaselineOut(instrument=b.instrument, intake=b.intake, latest=b.latest, change=b.change) for b in r.baselines
        ],
    )


@router.get("/reviews", response_model=list[ReviewDueOut])
def reviews(
    status: list[str] = Query(default=["due", "overdue"]),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[ReviewDueOut]:
    """Reviews on your teams' caseloads by status (upcoming, due, overdue, done), overdue first."""
    bad = [s for s in status if s not in ("upcoming", "due", "overdue", "done")]
    if bad:
        raise invalid("status", f"{bad[0]!r} is not upcoming, due, overdue or done")
    return [due_out(r) for r in review_service.for_caseload(db, p, tuple(status))]


@router.get("/people/{person_id}/reviews", response_model=list[ReviewDueOut])
def person_reviews(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[ReviewDueOut]:
    return [due_out(r) for r in review_service.for_person(db, p, person_id)]


@router.post("/episodes/{episode_id}/reviews", response_model=ReviewOut, status_code=201)
def record_review(
    episode_id: uuid.UUID,
    body: ReviewIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> ReviewOut:
    return ReviewOut.model_validate(review_service.record(db, p, episode_id, body.week, body.note))
