"""The crisis team's lookup, and the link for the person's own page (the page itself: web/pages/care.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from idiograph.care import phones
from idiograph.care import service as care
from idiograph.errors import DomainError, invalid
from idiograph.security.deps import DB, require
from idiograph.security.headers import public_url
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, refused, render

router = APIRouter(include_in_schema=False)


_FORM_FIELDS = ("nhs_number", "identifier", "family_name", "given_name", "birth_date", "reason")


def _crisis_render(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("form", dict.fromkeys(_FORM_FIELDS, ""))
    for key in ("found", "summary", "error", "problems"):
        ctx.setdefault(key, None)
    return render(
        request,
        "crisis.html",
        status,
        london=london,
        phone_parts=phones.phone_parts,
        answered_at=care.safety_alert_time,
        alert_days=care.SAFETY_ALERT_DAYS,
        **ctx,
    )


@router.get("/crisis")
def crisis_page(
    request: Request,
    nhs_number: str = "",
    db: Session = DB,
    p: Principal = Depends(require(Permission.CRISIS_READ)),
) -> HTMLResponse:
    """The crisis team's lookup form (an NHS number in the address fills it in; the search itself is a POST, so
    names, dates of birth and reasons stay out of addresses and server logs)."""
    form = dict.fromkeys(_FORM_FIELDS, "")
    form["nhs_number"] = nhs_number
    return _crisis_render(request, form=form)


def _birth_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise invalid("birth_date", "a date, e.g. 1980-03-14") from None


@router.post("/crisis")
def crisis_search(
    request: Request,
    nhs_number: str = Form(""),
    identifier: str = Form(""),
    family_name: str = Form(""),
    given_name: str = Form(""),
    birth_date: str = Form(""),
    reason: str = Form(""),
    person_id: str = Form(""),
    chosen_from: int | None = Form(None),
    db: Session = DB,
    p: Principal = Depends(require(Permission.CRISIS_READ)),
) -> HTMLResponse:
    """Find someone by NHS number, local identifier, or family name with date of birth, with a reason; one match
    shows identity, current risk, the crisis plan, their care team and recent safety alerts; several give a
    list to choose from (each choice audited)."""
    form = {
        "nhs_number": nhs_number,
        "identifier": identifier,
        "family_name": family_name,
        "given_name": given_name,
        "birth_date": birth_date,
        "reason": reason,
    }
    try:
        if person_id:
            try:
                chosen = uuid.UUID(person_id)
            except ValueError:
                raise invalid("person_id", "not a person's id") from None
            summary = care.crisis_summary(db, p, chosen, reason, chosen_from)
            return _crisis_render(request, form=form, summary=summary)
        query = care.CrisisQuery(nhs_number, identifier, family_name, given_name, _birth_date(birth_date))
        found = care.crisis_search(db, p, query, reason)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        problems = {pr.field: pr.reason for pr in exc.problems}
        return _crisis_render(request, exc.status, form=form, error=exc.detail, problems=problems)
    return _crisis_render(request, form=form, found=found, summary=found.summary)


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
