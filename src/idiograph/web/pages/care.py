"""A person's care: appointments, the plan, risk, the crisis plan, preferences, changes as decisions."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from idiograph.care import in_words, interventions, options, own_page, phones, tasks
from idiograph.care import service as care
from idiograph.care.api import PreferencesIn
from idiograph.errors import DomainError, FieldProblem, InvalidInput, NotFound, invalid
from idiograph.governance import service as governance
from idiograph.matching import plan as therapy_plan
from idiograph.patients import service as patients
from idiograph.security.deps import DB, form_data, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection import choice as selection_choice
from idiograph.selection import service as selection
from idiograph.web.pages import chosen
from idiograph.web.pages.treatment_options import COVARIATES, comparison_figures, course_figures
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
    return _care_page(request, db, p, person_id)


def _care_page(
    request: Request, db: Session, p: Principal, person_id: uuid.UUID, status: int = 200, **extra: Any
) -> HTMLResponse:
    """The care page; ``extra`` carries what a refused form keeps (the typed crisis plan and why it was refused)."""
    person = patients.get_person(db, p, person_id, via="web")
    decisions = governance.decisions_for(db, p, person_id, via="web")
    extra.setdefault("crisis_typed", None)
    treatment = selection.options(db, p, person_id)
    predicted = [d for d in decisions if (d.based_on or {}).get("prediction")]
    actuals = chosen.actuals(predicted, selection_choice.totals(db, p, person_id, via="web")) if predicted else {}
    therapy = therapy_plan.read(db, p, person_id, via="web")
    return render(
        request,
        "care.html",
        status,
        person=person,
        appointments=care.appointments_for(db, p, person_id, via="web"),
        open_referral=care.open_referral(db, person_id) is not None,
        plan=care.appointment_plan(db, p, person_id),
        risk=governance.risk_for(db, p, person_id),
        preferences=care.preferences(db, p, person_id, via="web"),
        preference_history=care.preferences_history(db, p, person_id, via="web"),
        from_person=tasks.from_person(db, p, person_id, via="web"),
        in_words=in_words,
        crisis=care.crisis_plan(db, p, person_id, via="web"),
        therapy=therapy,
        therapy_shown=therapy_plan.shown(therapy) if therapy else None,
        decisions=decisions,
        escalations=governance.escalations_by_decision(db, p, person_id, [d.id for d in decisions]),
        steps=governance.current_policy().frequency_steps,
        suggested=care.suggest_slots(db, p, person_id, 14, 5),
        choice=governance.intervention_options(db, p, person_id, set()),
        treatment=treatment,
        course_figures=course_figures(treatment),
        comparison=comparison_figures(treatment),
        covariate_words=COVARIATES,
        actuals=actuals,
        intervention_labels={k: v.label for k, v in interventions.rules().interventions.items()},
        options=options,
        phone_parts=phones.phone_parts,
        london=london,
        **extra,
    )


@router.post("/people/{person_id}/care/book")
def book_form(
    request: Request,
    person_id: uuid.UUID,
    start: str = Form(""),
    place: str = Form(""),
    format: str = Form(""),
    contact_type: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        care.book(db, p, person_id, _local(start, "start"), place, format, contact_type=contact_type or None)
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


@router.post("/people/{person_id}/care/choose")
def choose_form(
    request: Request,
    person_id: uuid.UUID,
    intervention: str = Form(""),
    declined: str = Form(""),
    rationale: str = Form(""),
    fingerprint: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """Choose an option after comparing them: a governed decision that keeps the prediction shown (refused when
    the comparison changed since the page was opened)."""
    try:
        if not intervention:
            raise invalid("intervention", "choose an option")
        if not fingerprint:
            raise invalid("fingerprint", "open the options again and choose from them")
        selection_choice.choose(db, p, person_id, intervention, rationale, declined or None, fingerprint)
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
        # the form comes back with everything typed, the reason beside it, and (on a conflict) the version saved
        # in between shown next to it: nothing typed is lost (H-078)
        typed = {**content, "rationale": rationale}
        return _care_page(request, db, p, person_id, exc.status, crisis_typed=typed, crisis_error=exc)
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
        "therapist_gender": str(form.get("therapist_gender", "")) or None,
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
        data = body.model_dump(exclude={"expected_version"})
        if "goals" in form:  # the person's goals, in their words (kept as they are when the form has none)
            data["goals"] = own_page.clean_goals(form.getlist("goals"))
        else:
            current = care.preferences(db, p, person_id, via="web")
            kept = (current.data if current else {}).get("goals")
            data["goals"] = [str(g) for g in kept] if isinstance(kept, list) else []
        care.save_preferences(db, p, person_id, data, body.expected_version)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "preferences")


@router.post("/people/{person_id}/care/plan-link/withdraw")
def withdraw_links_form(
    request: Request,
    person_id: uuid.UUID,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """Withdraw every working link to the person's own page (they open nothing from now on)."""
    care.withdraw_plan_links(db, p, person_id)
    return _back(person_id, "crisis-plan")


@router.post("/people/{person_id}/care/tasks/{task_id}/done")
def task_done_form(
    request: Request,
    person_id: uuid.UUID,
    task_id: uuid.UUID,
    note: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """Record what the person asked for (or told the team) as done, with a note the person reads on their page."""
    try:
        if not any(t.id == task_id for t in tasks.from_person(db, p, person_id, via="web")):
            raise NotFound(f"no request from this person with id {task_id}")
        tasks.complete(db, p, task_id, note)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc)
    return _back(person_id, "requests")


# -- the person's own page, by their link (no account: the link is the credential) ------------------------------

_OWN_TEXT = ("accessible_format", "language", "times")
_OWN_CHOICES = ("days", "periods", "places", "formats", "communication", "goals")


def _own_form(form: FormData) -> dict[str, Any]:
    """The person's preferences form as typed (lists for choices and goals, text for the rest)."""
    typed: dict[str, Any] = {k: [str(v) for v in form.getlist(k)] for k in _OWN_CHOICES}
    typed.update({k: str(form.get(k, "")) for k in _OWN_TEXT})
    typed["interpreter"] = form.get("interpreter") == "yes"
    typed["therapist_gender"] = str(form.get("therapist_gender", ""))
    return typed


def _csrf_ok(request: Request, form: FormData) -> bool:
    """The form's token matches the one this browser was given with the page (no account, so no session id:
    the token rides in the signed session cookie, as on the sign-in page)."""
    sent, expected = str(form.get("csrf_token") or ""), str(request.session.get("csrf") or "")
    return bool(sent and expected and hmac.compare_digest(sent, expected))


def _gone(request: Request, db: Session, exc: DomainError) -> HTMLResponse:
    db.rollback()  # nothing of the refused request is kept
    return render(request, "own_plan.html", exc.status, gone=exc.detail, principal=None)


def _own_render(request: Request, db: Session, token: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """The person's page, or the page saying the link no longer works."""
    try:
        page = own_page.read(db, token)
    except care.PlanLinkGone as exc:
        return _gone(request, db, exc)
    for key in ("sent", "error", "problems", "typed", "asked", "answered"):
        ctx.setdefault(key, None)
    therapy = therapy_plan.read_by_link(db, token)
    return render(
        request,
        "own_plan.html",
        status,
        page=page,
        person=page.person,
        plan=page.plan,
        therapy=therapy,
        therapy_shown=therapy_plan.shown(therapy) if therapy else None,
        upcoming=page.upcoming,
        token=token,
        own=own_page,
        in_words=in_words,
        options=options,
        phone_parts=phones.phone_parts,
        london=london,
        gone=None,
        principal=None,
        **ctx,
    )


_SENT = ("preferences", "request", "nothing", "plan-accepted", "plan-change")


@router.get("/my-plan/{token}", name="own_plan", openapi_extra={"x-public": "the person's own page, by their link"})
def own_plan(request: Request, token: str, sent: str = "", db: Session = DB) -> HTMLResponse:
    """The person's own page: crisis plan, appointments, scores in words, goals, preferences and their requests
    (no account; the link expires and can be withdrawn; every read audited as the person via the link)."""
    return _own_render(request, db, token, sent=sent if sent in _SENT else None)


def _own_refused(request: Request, db: Session, token: str, exc: DomainError, **ctx: Any) -> HTMLResponse:
    db.rollback()  # nothing of the refused request is kept
    problems = {pr.field: pr.reason for pr in exc.problems}
    return _own_render(request, db, token, exc.status, error=exc.detail, problems=problems, **ctx)


def _stale() -> DomainError:
    return DomainError(
        "This page was open for a long time or in another browser, so nothing was sent. Your answers are kept "
        "below: send them again.",
        [],
        403,
        "Forbidden",
    )


@router.post("/my-plan/{token}/preferences", openapi_extra={"x-public": "the person's own page, by their link"})
def own_preferences(request: Request, token: str, form: FormData = Depends(form_data), db: Session = DB) -> Response:
    """The person updates their preferences: a new version, and a task telling their team what changed."""
    typed = _own_form(form)
    try:
        if not _csrf_ok(request, form):
            raise _stale()
        try:
            expected = int(str(form.get("expected_version", "")))
        except ValueError:
            raise invalid("expected_version", "missing: reload the page") from None
        saved = own_page.update_preferences(db, token, typed, expected)
    except care.PlanLinkGone as exc:
        return _gone(request, db, exc)
    except DomainError as exc:
        return _own_refused(request, db, token, exc, typed=typed)
    return RedirectResponse(f"/my-plan/{token}?sent={'preferences' if saved else 'nothing'}#sent", 303)


@router.post("/my-plan/{token}/requests", openapi_extra={"x-public": "the person's own page, by their link"})
def own_request(request: Request, token: str, form: FormData = Depends(form_data), db: Session = DB) -> Response:
    """The person asks their team for a change: a task for the team; the person sees it and its answer."""
    asked = {"kind": str(form.get("kind", "")), "text": str(form.get("text", ""))}
    try:
        if not _csrf_ok(request, form):
            raise _stale()
        own_page.ask_for_change(db, token, asked["kind"], asked["text"])
    except care.PlanLinkGone as exc:
        return _gone(request, db, exc)
    except DomainError as exc:
        return _own_refused(request, db, token, exc, asked=asked)
    return RedirectResponse(f"/my-plan/{token}?sent=request#sent", 303)


@router.post("/my-plan/{token}/therapy-plan", openapi_extra={"x-public": "the person's own page, by their link"})
def own_therapy_plan(request: Request, token: str, form: FormData = Depends(form_data), db: Session = DB) -> Response:
    """The person accepts their therapy plan or asks for a change (in their words: a task for their team, stored
    with the answer or not at all). An answer to a version that is no longer current is refused."""
    answered = {"answer": str(form.get("answer", "")), "text": str(form.get("text", ""))}
    try:
        if not _csrf_ok(request, form):
            raise _stale()
        if answered["answer"] not in ("accept", "change"):
            raise invalid("answer", "choose whether you accept the plan or would like a change")
        try:
            version = int(str(form.get("version", "")))
        except ValueError:
            raise invalid("version", "missing: reload the page") from None
        therapy_plan.answer_by_link(db, token, answered["answer"] == "accept", answered["text"], version)
    except care.PlanLinkGone as exc:
        return _gone(request, db, exc)
    except DomainError as exc:
        # named apart from the request form's fields on the same page: the reason shows beside this form only
        named = [FieldProblem(f"therapy_{pr.field}", pr.reason) for pr in exc.problems]
        return _own_refused(
            request, db, token, DomainError(exc.detail, named, exc.status, exc.title), answered=answered
        )
    sent = "plan-accepted" if answered["answer"] == "accept" else "plan-change"
    return RedirectResponse(f"/my-plan/{token}?sent={sent}#therapy-plan", 303)
