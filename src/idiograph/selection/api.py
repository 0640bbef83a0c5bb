"""Treatment selection over HTTP: a person's options compared (permissioned and audited like the record)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection import service

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
