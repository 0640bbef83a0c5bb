"""Reviews due and overdue, and recording one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.intake import service as intake_service
from idiograph.monitoring.reviews import service as review_service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/reviews")
def reviews_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> HTMLResponse:
    rows = review_service.for_caseload(db, p, ("due", "overdue"), via="web")
    intakes = intake_service.for_episodes(db, p, [r.episode_id for r in rows], via="web") if rows else {}
    return render(request, "reviews.html", rows=rows, intakes=intakes)


@router.post("/episodes/{episode_id}/reviews")
def record_review(
    request: Request,
    episode_id: uuid.UUID,
    week: int = Form(...),
    note: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    review = review_service.record(db, p, episode_id, week, note)
    return RedirectResponse(f"/people/{review.person_id}#reviews", 303)
