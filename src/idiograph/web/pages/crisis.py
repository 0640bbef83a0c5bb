"""The crisis team's lookup, and the person's own plan by their link."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from idiograph.care import options
from idiograph.care import service as care
from idiograph.errors import DomainError
from idiograph.security.deps import DB, require
from idiograph.security.headers import public_url
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, refused, render

router = APIRouter(include_in_schema=False)


@router.get("/crisis")
def crisis_page(
    request: Request,
    nhs_number: str = "",
    db: Session = DB,
    p: Principal = Depends(require(Permission.CRISIS_READ)),
) -> HTMLResponse:
    """The crisis team's view: find someone by NHS number; see identity, current risk and the crisis plan."""
    summary, error = None, None
    if nhs_number:
        try:
            summary = care.crisis_summary(db, p, nhs_number=nhs_number)
        except DomainError as exc:
            db.rollback()  # nothing of the refused request is kept
            error = exc.detail
    return render(request, "crisis.html", summary=summary, error=error, nhs_number=nhs_number, london=london)


@router.post("/people/{person_id}/care/plan-link")
def plan_link_form(
    request: Request,
    person_id: uuid.UUID,
    valid_days: int = Form(30),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        link, token = care.create_plan_link(db, p, person_id, valid_days)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    url = public_url(request, "own_plan", token=token)
    return render(request, "plan_link_created.html", link=link, url=url, london=london)


@router.get("/my-plan/{token}", name="own_plan", openapi_extra={"x-public": "the person's own plan, by their link"})
def own_plan(request: Request, token: str, db: Session = DB) -> HTMLResponse:
    """The person reads their own crisis plan and upcoming appointments (no account; the link expires)."""
    try:
        person, plan, upcoming = care.read_own_plan(db, token)
    except care.PlanLinkGone as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(request, "own_plan.html", exc.status, gone=exc.detail, principal=None)
    return render(
        request,
        "own_plan.html",
        person=person,
        plan=plan,
        upcoming=upcoming,
        options=options,
        london=london,
        gone=None,
        principal=None,
    )
