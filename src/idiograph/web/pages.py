"""Page routes: sign-in, caseload, a person's record with charts, break-the-glass, audit, summary."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import plotly
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.alerts import service as alert_service
from idiograph.baselines import service as baseline_service
from idiograph.baselines.measure import MeasureBaseline
from idiograph.care import caseload
from idiograph.db import utcnow
from idiograph.errors import DomainError, NotFound
from idiograph.governance import service as governance_service
from idiograph.instruments.definitions import instruments
from idiograph.measures import service as measures
from idiograph.measures.change import changes_from
from idiograph.monitoring.recovery import not_on_track
from idiograph.monitoring.reviews import service as review_service
from idiograph.observations import service as observations
from idiograph.patients import service as patients
from idiograph.patients.access import access_basis
from idiograph.patients.model import Episode, Person
from idiograph.pipeline import failures
from idiograph.reporting.summary import service_summary
from idiograph.security import audit
from idiograph.security.deps import DB, csrf_token, require
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import authenticate
from idiograph.web.charts import BaselineBand, ExpectedBand, Series, measure_figure

router = APIRouter(include_in_schema=False)
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
LONDON = ZoneInfo("Europe/London")


def london(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    return value.astimezone(LONDON).strftime(fmt) if value else ""


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("principal", getattr(request.state, "principal", None))
    ctx["csrf"] = csrf_token(request)
    ctx["Permission"] = Permission
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


@router.get("/vendor/plotly.min.js", openapi_extra={"x-public": "static script"})
def plotly_js() -> FileResponse:
    """Plotly's JavaScript from the installed Python package: no CDN, works offline."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


@router.get("/healthz", openapi_extra={"x-public": "liveness probe"})
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login", openapi_extra={"x-public": "sign-in page"})
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=next if next.startswith("/") else "/", error=None)


@router.post("/login", openapi_extra={"x-public": "sign-in form"})
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    csrf_token_field: str = Form("", alias="csrf_token"),
    db: Session = DB,
) -> Response:
    if not csrf_token_field or csrf_token_field != request.session.get("csrf"):
        return render(request, "login.html", 403, next=next, error="Your session expired: please try again.")
    user = authenticate(db, username, password)
    if user is None:
        audit.append(db, audit.Actor(None, f"anonymous:{username[:60]}", "none"), "sign-in-failed", "User")
    else:
        audit.append(
            db,
            audit.Actor(user.id, user.username, user.role),
            "sign-in",
            "User",
            str(user.id),
            detail={"via": "web"},
        )
    if user is None:
        return render(request, "login.html", 401, next=next, error="Wrong username or password.")
    request.session.clear()
    request.session["uid"] = str(user.id)
    csrf_token(request)
    return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", 303)


@router.post("/logout")
def logout(request: Request, p: Principal = Depends(require(Permission.SIGNED_IN))) -> Response:
    request.session.clear()
    return RedirectResponse("/login", 303)


@router.get("/")
def home(p: Principal = Depends(require(Permission.SIGNED_IN))) -> Response:
    if p.can(Permission.PERSON_READ):
        return RedirectResponse("/caseload", 303)
    if p.can(Permission.AUDIT_READ):
        return RedirectResponse("/audit", 303)
    if p.can(Permission.SYSTEM_OPERATE):
        return RedirectResponse("/operations", 303)
    if p.can(Permission.CRISIS_READ):
        return RedirectResponse("/crisis", 303)
    return RedirectResponse("/summary", 303)


@router.get("/caseload")
def caseload_page(
    request: Request,
    sort: caseload.SortKey = "name",
    desc: bool = False,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    rows = caseload.caseload(db, p, sort, desc, via="web")
    due = review_service.for_caseload(db, p, via="web")
    return render(
        request,
        "caseload.html",
        reviews_due=sum(1 for r in due if r.slot.status == "due"),
        reviews_overdue=sum(1 for r in due if r.slot.status == "overdue"),
        rows=rows,
        sort=sort,
        desc=desc,
        london=london,
        alerts=alert_service.open_counts(db, p),
    )


@router.get("/people/{person_id}")
def person_page(
    request: Request,
    person_id: uuid.UUID,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    if access_basis(db, p, person_id) is None:
        if db.get(Person, person_id) is None:
            raise NotFound(f"no person with id {person_id}")
        return render(
            request,
            "break_glass.html",
            403,
            person_id=person_id,
            can_break_glass=p.can(Permission.BREAK_GLASS),
            error=None,
        )
    person = patients.get_person(db, p, person_id, via="web")
    episodes = patients.list_episodes(db, p, person_id)
    obs = observations.for_person(db, p, person_id, via="web")
    codes = observations.CodeBook(db)
    grouped: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    items: dict[tuple[str, str], tuple[datetime, float]] = {}
    for o in obs:
        c = codes.get(o.system, o.code)
        if c is not None and c.kind == "questionnaire-item":
            items[(o.system, o.code)] = (o.effective_at, o.value)
            continue
        grouped[(o.system, o.code)].append((o.effective_at, o.value))
    bands = _expected_bands(db, episodes)
    baselines = baseline_service.for_person(db, p, person_id, via="web")
    baseline_bands = {(b.system, b.code): _baseline_band(b) for b in baselines}
    figures = []
    for (system, code), points in sorted(grouped.items(), key=lambda kv: kv[1][-1][0], reverse=True):
        c = codes.get(system, code)
        figures.append(
            measure_figure(
                Series(
                    code,
                    c.display if c else code,
                    c.unit if c else "",
                    c.kind if c else "",
                    points,
                    c.min if c else None,
                    c.max if c else None,
                    bands.get((system, code), ()),
                    baseline_bands.get((system, code)),
                )
            )
        )
    latest_items = [(codes.display(s, c), t, v) for (s, c), (t, v) in items.items()]
    open_alerts = alert_service.for_person(db, p, person_id, open_only=True, via="web")
    decisions = governance_service.decisions_for(db, p, person_id, via="web")
    return render(
        request,
        "person.html",
        alerts=open_alerts,
        changes=changes_from((o.system, o.code, o.effective_at, o.value) for o in obs),
        instruments=list(instruments().values()),
        links=measures.links_for_person(db, p, person_id),
        responses=[
            (r, measures.unanswered_labels(r), bool(instruments()[r.instrument].safety_codes))
            for r in measures.recent_responses(db, p, person_id)
            if r.instrument in instruments()
        ],
        reviews=review_service.for_person(db, p, person_id),
        now=utcnow(),
        person=person,
        episodes=episodes,
        figures=figures,
        baselines=baselines,
        decisions=decisions,
        escalations=governance_service.escalations_by_decision(db, [d.id for d in decisions]),
        latest_items=latest_items,
        n_obs=len(obs),
        london=london,
    )


def _baseline_band(b: MeasureBaseline) -> BaselineBand | None:
    iv = b.personal or b.population
    if iv is None:
        return None
    pop = (b.population.lower, b.population.upper) if b.population is not None else None
    return BaselineBand(iv.setpoint, iv.lower, iv.upper, iv.coverage, iv.method, iv.personal, pop)


def _expected_bands(db: Session, episodes: list[Episode]) -> dict[tuple[str, str], list[ExpectedBand]]:
    """The expected course and boundary of the open (else the latest) episode, per modelled instrument."""
    if not episodes:
        return {}
    episode = next((e for e in episodes if e.discharge_date is None), None) or max(
        episodes, key=lambda e: e.referral_date
    )
    return {
        code: [ExpectedBand(label, points) for label, points in bands]
        for code, bands in not_on_track.episode_bands(db, episode).items()
    }


@router.get("/reviews")
def reviews_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> HTMLResponse:
    rows = review_service.for_caseload(db, p, ("due", "overdue"), via="web")
    return render(request, "reviews.html", rows=rows)


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


@router.post("/people/{person_id}/break-glass")
def break_glass(
    request: Request,
    person_id: uuid.UUID,
    reason: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.BREAK_GLASS)),
) -> Response:
    try:
        patients.break_glass(db, p, person_id, reason, request.app.state.settings.break_glass_minutes)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(
            request, "break_glass.html", exc.status, person_id=person_id, can_break_glass=True, error=str(exc)
        )
    return RedirectResponse(f"/people/{person_id}", 303)


@router.get("/audit")
def audit_page(
    request: Request,
    before: int | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.AUDIT_READ)),
) -> HTMLResponse:
    q = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(200)
    if before:
        q = q.where(AuditRecord.seq < before)
    rows = list(db.scalars(q))
    audit.append(db, p.actor, "read", "AuditTrail", None, None, detail={"via": "web", "count": len(rows)})
    n, head, problems = audit.verify(db)
    return render(request, "audit.html", rows=rows, records=n, head=head, problems=problems, london=london)


@router.get("/summary")
def summary_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.SERVICE_SUMMARY))
) -> HTMLResponse:
    return render(request, "summary.html", summary=service_summary(db, p))


@router.get("/operations")
def operations_page(
    request: Request,
    retried: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.SYSTEM_OPERATE)),
) -> HTMLResponse:
    found = failures.open_failures(db, p)
    minutes = request.app.state.settings.rule_retry_seconds // 60
    return render(request, "operations.html", failures=found, london=london, retry_minutes=minutes, retried=retried)


@router.post("/operations/rule-failures/retry")
def retry_rule_failures(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.SYSTEM_OPERATE))
) -> Response:
    r = failures.retry(db, p.actor)
    note = f"{r.tried} tried, {r.resolved} resolved, {r.still_failing} still failing"
    return RedirectResponse(f"/operations?retried={note}", 303)
