"""Routes for matching: the person's therapy plan."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from idiograph.errors import NotFound
from idiograph.matching import plan as therapy_plan
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["matching"])


class TherapyPlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    allocation_id: uuid.UUID
    version: int
    current: bool
    status: str
    content: dict[str, Any]
    created_by: str
    created_at: datetime
    answered_at: datetime | None
    answer_note: str | None


@router.get("/people/{person_id}/therapy-plan", response_model=TherapyPlanOut)
def get_therapy_plan(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> TherapyPlanOut:
    """The person's current therapy plan: what was arranged, its version, and their answer (status proposed,
    accepted or change_requested, with their words in ``answer_note``)."""
    found = therapy_plan.read(db, p, person_id)
    if found is None:
        raise NotFound("no therapy plan yet: one is drafted when the person is allocated to a therapist")
    return TherapyPlanOut.model_validate(found)
