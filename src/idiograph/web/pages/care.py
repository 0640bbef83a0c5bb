"""A person's care: appointments, the plan, risk, the crisis plan, preferences, changes as decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from idiograph.care import interventions, options
from idiograph.care import service as care
from idiograph.care.api import PreferencesIn
from idiograph.errors import DomainError, FieldProblem, InvalidInput, invalid
from idiograph.governance import service as governance
from idiograph.patients import service as patients
from idiograph.security.deps import DB, form_data, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import LONDON, london, refused, render

router = APIRouter(include_in_schema=False)


def _local(value: str, field: str) -> datetime:
    """A datetime-local field, read as Europe/London (the form shows local time)."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LONDON)
    except ValueError:
        raise invalid(field, "a date and time, e.g. 2026-12-01T10:30") from None


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.splitlines() if x.strip()]


def _back(person_id: uuid.UUID, anchor: str = "care") -> RedirectResponse:
    return RedirectResponse(f"/people/{person_id}/care#{anchor}", 303)


@router.get("/people/{person_id}/care")
def care_page(
    request: Request,
    person_id: uuid.UUID,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    person = patients.get_person(db, p, person_id, via="web")
    decisions = governance.decisions_for(db, p, person_id, via="web")
    return render(
        request,
        "care.html",
        person=person,
        appointments=care.appointments_for(db, p, person_id, via="web"),
        plan=care.appointment_plan(db, p, person_id),
        risk=governance.risk_for(db, p, person_id),
        preferences=care.preferences(db, p, person_id, via="web"),
        crisis=care.crisis_plan(db, p, person_id, via="web"),
        decisions=decisions,
        escalations=governance.escalations_by_decision(db, p, person_id, [d.id for d in decisions]),
        steps=governance.current_policy().frequency_steps,
        suggested=care.suggest_slots(db, p, person_id, 14, 5),
        choice=governance.intervention_options(db, p, person_id, set()),
        intervention_labels={k: v.label for k, v in interventions.rules().interventions.items()},
        options=options,
        london=london,
    )


@router.post("/people/{person_id}/care/book")
def book_form(
    request: Request,
    person_id: uuid.UUID,
    start: str = Form(""),
    place: str = Form(""),
    format: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        care.book(db, p, person_id, _local(start, "start"), place, format)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "appointments")


@router.post("/people/{person_id}/care/plan")
def plan_form(
    request: Request,
    person_id: uuid.UUID,
    default_frequency: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        governance.set_plan(db, p, person_id, default_frequency, "clinic", "in_person")
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "plan")


@router.post("/people/{person_id}/care/change")
def change_form(
    request: Request,
    person_id: uuid.UUID,
    appointment_id: str = Form(""),
    start: str = Form(""),
    place: str = Form(""),
    format: str = Form(""),
    frequency: str = Form(""),
    intervention: str = Form(""),
    declined: str = Form(""),
    rationale: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """One form for an appointment's time, place and format, or the plan's frequency."""
    payload: dict[str, Any] = {}
    try:
        if appointment_id:
            payload["appointment_id"] = appointment_id
            if start:
                payload["start"] = _local(start, "start").isoformat()
            if place:
                payload["place"] = place
            if format:
                payload["format"] = format
        if frequency:
            payload["frequency"] = frequency
        if intervention:
            payload["intervention"] = intervention
            if declined:
                payload["declined"] = declined
        governance.request_change(db, p, person_id, payload, rationale)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "decisions")


@router.post("/appointments/{appointment_id}/attendance")
def attendance_form(
    request: Request,
    appointment_id: uuid.UUID,
    status: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    appt = care.record_attendance(db, p, appointment_id, status)
    return _back(appt.person_id, "appointments")


@router.post("/people/{person_id}/care/risk")
def risk_form(
    request: Request,
    person_id: uuid.UUID,
    level: str = Form(""),
    summary: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        care.record_risk(db, p, person_id, level, summary)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "risk")


@router.post("/people/{person_id}/care/crisis-plan")
def crisis_form(
    request: Request,
    person_id: uuid.UUID,
    expected_version: int = Form(0),
    rationale: str = Form(""),
    triggers: str = Form(""),
    warning_signs: str = Form(""),
    what_helps: str = Form(""),
    what_does_not_help: str = Form(""),
    contacts: str = Form(""),
    crisis_care_preferences: str = Form(""),
    advance_statement: str = Form(""),
    copies_held_by: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    content = {
        "triggers": _lines(triggers),
        "warning_signs": _lines(warning_signs),
        "what_helps": _lines(what_helps),
        "what_does_not_help": _lines(what_does_not_help),
        "contacts": _lines(contacts),
        "crisis_care_preferences": crisis_care_preferences.strip() or None,
        "advance_statement": advance_statement.strip() or None,
        "copies_held_by": _lines(copies_held_by),
    }
    try:
        governance.save_crisis_plan(db, p, person_id, content, expected_version, rationale)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "crisis-plan")


@router.post("/people/{person_id}/care/preferences")
def preferences_form(
    request: Request,
    person_id: uuid.UUID,
    form: FormData = Depends(form_data),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """What the person has said about times, places, formats, contact, language, who to involve and what they
    have declined - a new version each time, refused if someone else saved in between."""
    declined = []
    for line in _lines(str(form.get("declined", ""))):
        what, _, why = line.partition(":")
        declined.append({"what": what.strip(), "why": why.strip()})
    raw = {
        "expected_version": form.get("expected_version", "0"),
        "days": form.getlist("days"),
        "periods": form.getlist("periods"),
        "places": form.getlist("places"),
        "formats": form.getlist("formats"),
        "communication": form.getlist("communication"),
        "accessible_format": str(form.get("accessible_format", "")).strip() or None,
        "language": str(form.get("language", "")).strip() or None,
        "interpreter": form.get("interpreter") == "yes",
        "times": _lines(str(form.get("times", ""))),
        "involve": _lines(str(form.get("involve", ""))),
        "declined": declined,
    }
    try:
        try:
            body = PreferencesIn.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput(
                "some answers could not be used; nothing was saved",
                [FieldProblem(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.errors()],
            ) from None
        care.save_preferences(db, p, person_id, body.model_dump(exclude={"expected_version"}), body.expected_version)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "preferences")
