"""Treatment selection over HTTP: a person's options compared (permissioned and audited like the record)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection import choice, service

router = APIRouter(prefix="/api/v1", tags=["treatment selection"])


@router.get("/people/{person_id}/options", response_model=dict[str, Any])
def options(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> dict[str, Any]:
    """Every intervention the service offers, for this person: whether it is clinically appropriate, the expected
    PHQ-9 at the end of treatment with the interval for their observed score, the advantage over the standard offer
    with its 95% interval, the similar finished episodes it rests on, which of their data moved it, the method and
    its limits; no number where support is too thin. Advice only: choosing is a decision."""
    return service.options(db, p, person_id)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rationale: str = Field(description="why, in words (at least 5 characters)")
    declined: str | None = Field(None, description="the option the person declined, when they did")
    fingerprint: str | None = Field(
        None, description="the option's fingerprint as GET .../options showed it: a comparison changed since is refused"
    )


@router.post("/people/{person_id}/options/{option}/choice", response_model=dict[str, Any], status_code=201)
def choose(
    person_id: uuid.UUID,
    option: str,
    body: Choice,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> dict[str, Any]:
    """Choose an option for the person's open episode: a governed decision (applied under delegated authority or
    escalated) whose record keeps the prediction shown for the option (values, intervals, course, model version)."""
    d = choice.choose(db, p, person_id, option, body.rationale, body.declined, body.fingerprint)
    return {
        "decision_id": str(d.id),
        "status": d.status,
        "authority": d.authority,
        "summary": d.summary,
        "prediction": d.based_on.get("prediction"),
    }


@router.get("/people/{person_id}/options/choices", response_model=list[dict[str, Any]])
def choices(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[dict[str, Any]]:
    """The person's treatment choices with the prediction each was shown and every PHQ-9 and GAD-7 score since, each
    against the chosen option's 95% band for its week (predicted against actual)."""
    return choice.history(db, p, person_id)
