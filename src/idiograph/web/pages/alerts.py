"""An alert's steps from the person's page: seen, acted on (with what was done), closed."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.alerts import service as alert_service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(include_in_schema=False)


ALERT_STEPS = {"seen": "seen", "act": "acted", "close": "closed"}


@router.post("/alerts/{alert_id}/{step}")
def move_alert(
    request: Request,
    alert_id: uuid.UUID,
    step: Literal["seen", "act", "close"],
    note: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """The alert lifecycle from the person's page: seen, acted on (with what was done), closed."""
    alert = alert_service.move(db, p, alert_id, ALERT_STEPS[step], note if step == "act" else None)
    return RedirectResponse(f"/people/{alert.person_id}#alerts", 303)
