"""Questionnaires: entry in a session, single-use self-report links and the phone page they open."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from idiograph.adaptive import taking
from idiograph.errors import Conflict, DomainError, InvalidInput
from idiograph.instruments.definitions import Instrument
from idiograph.measures import experience_service as experience
from idiograph.measures import service
from idiograph.measures.experience import Form as ExperienceForm
from idiograph.measures.experience import forms as experience_forms
from idiograph.observations.recording import Recorder, recorder
from idiograph.patients import service as patients
from idiograph.security.deps import DB, form_data, require
from idiograph.security.headers import public_url
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


def _answers(form: FormData, inst: Instrument) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for item in inst.items:
        raw = str(form.get(item.code) or "").strip()
        out[item.code] = int(raw) if raw.lstrip("-").isdigit() else None
    return out


@router.get("/people/{person_id}/questionnaires/{instrument_id}")
def entry_form(
    request: Request,
    person_id: uuid.UUID,
    instrument_id: str,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> HTMLResponse:
    person = patients.get_person(db, p, person_id, via="web")
    return render(
        request,
        "questionnaire.html",
        inst=service.instrument(instrument_id),
        action=f"/people/{person_id}/questionnaires/{instrument_id}",
        for_person=f"{person.given_name} {person.family_name}",
        csrf_needed=True,
        given={},
        error=None,
    )


@router.post("/people/{person_id}/questionnaires/{instrument_id}")
def entry_submit(
    request: Request,
    person_id: uuid.UUID,
    instrument_id: str,
    form: FormData = Depends(form_data),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
    record: Recorder = Depends(recorder),
) -> Response:
    inst = service.instrument(instrument_id)
    given = _answers(form, inst)
    try:
        service.enter(db, p, person_id, inst.id, given, record=record)
    except InvalidInput as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(
            request,
            "questionnaire.html",
            422,
            inst=inst,
            action=f"/people/{person_id}/questionnaires/{inst.id}",
            for_person=None,
            csrf_needed=True,
            given=given,
            error=exc,
        )
    return RedirectResponse(f"/people/{person_id}#measures", 303)


@router.post("/people/{person_id}/self-report-links")
def create_link(
    request: Request,
    person_id: uuid.UUID,
    instrument: str = Form(...),
    valid_hours: int = Form(72),
    mode: str = Form("full"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> HTMLResponse:
    link, token = service.create_link(db, p, person_id, instrument, valid_hours, mode=mode)
    person = patients.get_person(db, p, person_id, via="web")
    return render(
        request,
        "link_created.html",
        link=link,
        title=service.link_title(link),
        url=public_url(request, "self_report_form", token=token),
        person_name=f"{person.given_name} {person.family_name}",
        london=london,
    )


def _gone(request: Request, exc: DomainError) -> HTMLResponse:
    """A used, expired or unknown link. The person may have just answered the safety question above 0 and come
    back (a reload or the back button after the last question): the crisis numbers are always on this page."""
    return render(
        request, "error.html", exc.status, title=exc.title, detail=exc.detail, problems=[], crisis_numbers=True
    )


@router.get("/r/{token}", name="self_report_form", openapi_extra={"x-public": "single-use self-report link"})
def self_report_form(request: Request, token: str, db: Session = DB) -> HTMLResponse:
    try:
        if service.live_link(db, token).mode == "experience":
            return _experience(request, token, experience.open_form(db, token).form)
        link, inst = service.open_link(db, token)
        if link.mode == "adaptive":
            return _question(request, token, taking.current(db, token))
    except service.LinkGone as exc:
        db.rollback()  # nothing of the refused request is kept
        return _gone(request, exc)
    return render(
        request,
        "questionnaire.html",
        inst=inst,
        action=f"/r/{token}",
        for_person=None,
        csrf_needed=False,
        given={},
        error=None,
        principal=None,
    )


@router.post("/r/{token}", openapi_extra={"x-public": "single-use self-report link"})
def self_report_submit(
    request: Request,
    token: str,
    form: FormData = Depends(form_data),
    db: Session = DB,
    record: Recorder = Depends(recorder),
) -> Response:
    try:
        if service.live_link(db, token).mode == "experience":
            return _experience_answers(request, token, form, db)
        link, inst = service.open_link(db, token)
        if link.mode == "adaptive":
            return _adaptive_answer(request, token, form, db, record)
        given = _answers(form, inst)
        recorded = service.submit_link(db, token, given, record)
    except service.LinkGone as exc:
        db.rollback()  # nothing of the refused request is kept
        return _gone(request, exc)
    except InvalidInput as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(
            request,
            "questionnaire.html",
            422,
            inst=inst,
            action=f"/r/{token}",
            for_person=None,
            csrf_needed=False,
            given=given,
            error=exc,
            principal=None,
        )
    return render(request, "self_report_done.html", safety=bool(recorded.safety_positive), principal=None)


def _question(
    request: Request,
    token: str,
    q: taking.Question | taking.Settled,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    if isinstance(q, taking.Settled):
        return render(request, "adaptive_settled.html", status, q=q, action=f"/r/{token}", principal=None)
    return render(request, "adaptive_question.html", status, q=q, action=f"/r/{token}", error=error, principal=None)


def _adaptive_answer(request: Request, token: str, form: FormData, db: Session, record: Recorder) -> Response:
    """One answer of an adaptive short form: on to the next question (post, then redirect, so a reload never
    answers twice), or the thank-you page when the form has stopped."""
    raw = str(form.get("answer") or "").strip()
    value = int(raw) if raw.lstrip("-").isdigit() else None
    try:
        done = taking.answer(db, token, str(form.get("item") or ""), value, record)
    except (InvalidInput, Conflict) as exc:
        db.rollback()  # nothing of the refused answer is kept
        return _question(request, token, taking.current(db, token), exc, exc.status)
    if isinstance(done, taking.Question):
        return RedirectResponse(f"/r/{token}", 303)
    return render(request, "self_report_done.html", safety=bool(done.safety_positive), principal=None)


def _experience(
    request: Request,
    token: str,
    form: ExperienceForm,
    given: dict[str, str | None] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "experience_form.html",
        status,
        form=form,
        options=experience_forms().options,
        action=f"/r/{token}",
        given=given or {},
        error=error,
        principal=None,
    )


def _experience_answers(request: Request, token: str, raw: FormData, db: Session) -> Response:
    """The person's answers to an experience-of-choice form: stored whole and the link spent, or nothing kept."""
    form = experience.open_form(db, token).form
    given: dict[str, str | None] = {i.code: (str(raw.get(i.code) or "").strip() or None) for i in form.items}
    try:
        experience.submit(db, token, given)
    except InvalidInput as exc:
        db.rollback()  # nothing of the refused form is kept: the link stays unspent
        return _experience(request, token, form, given, exc, exc.status)
    return render(request, "self_report_done.html", safety=False, principal=None)
