"""Routes for alerts: a person's alerts, and their lifecycle."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.alerts import service as alerts
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    status: str
    title: str
    reason: str
    detail: dict[str, Any]
    raised_at: datetime
    seen_by: str | None
    seen_at: datetime | None
    acted_by: str | None
    acted_at: datetime | None
    action_note: str | None
    closed_by: str | None
    closed_at: datetime | None


class ActIn(Strict):
    note: str = Field(min_length=5, max_length=4000, description="what was done")


@router.get("/people/{person_id}/alerts", response_model=list[AlertOut])
def person_alerts(
    person_id: uuid.UUID,
    open_only: bool = False,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[AlertOut]:
    return [AlertOut.model_validate(a) for a in alerts.for_person(db, p, person_id, open_only)]


@router.post("/alerts/{alert_id}/seen", response_model=AlertOut)
def seen(alert_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_WRITE))) -> AlertOut:
    return AlertOut.model_validate(alerts.move(db, p, alert_id, "seen"))


@router.post("/alerts/{alert_id}/act", response_model=AlertOut)
def act(
    alert_id: uuid.UUID,
    body: ActIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> AlertOut:
    """Record what was done about the alert."""
    return AlertOut.model_validate(alerts.move(db, p, alert_id, "acted", body.note))


@router.post("/alerts/{alert_id}/close", response_model=AlertOut)
def close(alert_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_WRITE))) -> AlertOut:
    return AlertOut.model_validate(alerts.move(db, p, alert_id, "closed"))
