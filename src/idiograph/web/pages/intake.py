"""The intake baseline on the page: record or edit one section as the signed-in clinician, and re-rate goals."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from idiograph.errors import DomainError, InvalidInput, NotFound
from idiograph.intake import service as intake_service
from idiograph.intake.definition import FieldSpec, Section, definition
from idiograph.intake.sections import GOALS, section_of
from idiograph.patients import service as patients
from idiograph.security.deps import DB, form_data, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import refused, render

router = APIRouter(include_in_schema=False)
GOAL_ROWS = 5


def _section(section_id: str) -> Section:
    section = section_of(section_id)
    if section is None:
        raise NotFound(f"no intake section {section_id!r}")
    return section


def _value(spec: FieldSpec, raw: str) -> Any:
    """A form's text as the definition's type; text that is not one is kept, so the check names the field."""
    raw = raw.strip()
    if raw == "":
        return None
    if spec.type == "bool":
        return {"yes": True, "no": False}.get(raw, raw)
    if spec.type == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number
    return raw


def _goal_rows(form: FormData) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, GOAL_ROWS + 1):
        words = str(form.get(f"goal_{i}") or "").strip()
        raw = str(form.get(f"goal_{i}_rating") or "").strip()
        if not words and not raw:
            continue
        rows.append({"goal": words, "rating": int(raw) if raw.lstrip("-").isdigit() else raw or None})
    return rows


def answers_from(form: FormData, section: Section) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if section.consent:
        out[section.consent] = _value(
            FieldSpec(id=section.consent, label="", type="bool"), str(form.get(section.consent) or "")
        )
    for f in section.fields:
        out[f.id] = _goal_rows(form) if f.type == "goals" else _value(f, str(form.get(f.id) or ""))
    return out


def _form(
    request: Request,
    db: Session,
    p: Principal,
    person_id: uuid.UUID,
    section: Section,
    given: dict[str, Any],
    error: DomainError | None = None,
) -> HTMLResponse:
    person = patients.get_person(db, p, person_id, via="web")
    return render(
        request,
        "intake_form.html",
        422 if error else 200,
        person=person,
        section=section,
        given=given,
        goal_rows=GOAL_ROWS,
        errors={pr.field.split(".")[0]: pr.reason for pr in (error.problems if error else [])},
        error=error,
        professions=definition().professions,
    )


@router.get("/people/{person_id}/intake/{section_id}")
def section_form(
    request: Request,
    person_id: uuid.UUID,
    section_id: str,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> HTMLResponse:
    section = _section(section_id)
    current = intake_service.read(db, p, person_id, via="web")
    given: dict[str, Any] = {}
    if current is not None:
        if section.id == GOALS:
            given[GOALS] = [{"goal": g.goal, "rating": g.first} for g in current.goals]
        else:
            given = dict(current.section(section.id).answers)  # type: ignore[union-attr]
    return _form(request, db, p, person_id, section, given)


@router.post("/people/{person_id}/intake/{section_id}")
def save_section(
    request: Request,
    person_id: uuid.UUID,
    section_id: str,
    form: FormData = Depends(form_data),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    section = _section(section_id)
    given = answers_from(form, section)
    try:
        intake_service.save_section(db, p, person_id, section.id, given)
    except InvalidInput as exc:
        db.rollback()  # nothing of the refused request is kept
        return _form(request, db, p, person_id, section, given, exc)
    except DomainError as exc:
        db.rollback()
        return refused(request, person_id, exc)
    return RedirectResponse(f"/people/{person_id}#intake", 303)


@router.post("/people/{person_id}/intake-goal-ratings")
def rate_goals(
    request: Request,
    person_id: uuid.UUID,
    form: FormData = Depends(form_data),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    ratings: dict[int, Any] = {}
    for i in range(1, GOAL_ROWS + 1):
        raw = str(form.get(f"rating_{i}") or "").strip()
        if raw:
            ratings[i] = int(raw) if raw.isdigit() else raw
    try:
        intake_service.rerate_goals(db, p, person_id, ratings)
    except DomainError as exc:
        db.rollback()
        return refused(request, person_id, exc)
    return RedirectResponse(f"/people/{person_id}#intake", 303)
