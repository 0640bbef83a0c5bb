"""The senior clinician's governance page: escalations waiting, decisions under delegated authority."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import DomainError, invalid
from idiograph.governance import reviews
from idiograph.governance import service as governance
from idiograph.monitoring.reviews import service as review_service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


@router.get("/governance")
def governance_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> HTMLResponse:
    q = governance.queue(db, p)
    overdue = review_service.for_caseload(db, p, ("overdue",), via="governance")
    return render(
        request,
        "governance.html",
        pending=governance.queue_rows(db, q["pending"]),
        delegated=q["delegated"],
        overdue=overdue,
        london=london,
        now=utcnow(),
    )


@router.get("/governance.csv")
def governance_csv(db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))) -> Response:
    """Everything on the governance page, for a spreadsheet (audited like the page)."""
    q = governance.queue(db, p)
    out = io.StringIO()
    w = _SafeWriter(csv.writer(out))
    w.writerow(["kind", "id", "person_id", "when", "due", "who", "change or reason", "rationale", "status", "policy"])
    for e in q["pending"]:
        w.writerow(
            [
                "escalation",
                e.id,
                e.person_id,
                e.raised_at.isoformat(),
                e.due_at.isoformat(),
                e.to_role,
                e.reason,
                "",
                e.status,
                "",
            ]
        )
    for r in review_service.for_caseload(db, p, ("overdue",), via="governance.csv"):
        w.writerow(
            [
                "overdue review",
                r.episode_id,
                r.person_id,
                "",
                r.slot.due.isoformat(),
                "",
                f"week {r.slot.week} review",
                "",
                r.slot.status,
                "",
            ]
        )
    for d in q["delegated"]:
        w.writerow(
            [
                "decision",
                d.id,
                d.person_id,
                d.decided_at.isoformat(),
                "",
                d.requested_by,
                d.summary,
                d.rationale,
                d.status,
                d.policy_version,
            ]
        )
    return Response(
        out.getvalue(), media_type="text/csv", headers={"Content-Disposition": "attachment; filename=governance.csv"}
    )


class _SafeWriter:
    """A CSV writer that neutralises cells a spreadsheet would run as a formula (free-text rationale and notes
    are written by users): such a cell gets a leading apostrophe (OWASP CSV injection)."""

    def __init__(self, writer: Any) -> None:
        self._w = writer

    def writerow(self, row: list[Any]) -> None:
        self._w.writerow(
            [f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row]
        )


@router.post("/escalations/{escalation_id}/answer")
def answer_form(
    request: Request,
    escalation_id: uuid.UUID,
    decision: str = Form(""),
    note: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        esc = governance.answer(db, p, escalation_id, decision == "approve", note)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(request, "care_problem.html", exc.status, person_id=None, error=exc)
    return RedirectResponse(f"/governance#escalation-{esc.id}", 303)


def _period(value: str) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


@router.get("/governance/reviews")
def review_page(
    request: Request,
    team: uuid.UUID | None = None,
    period: str = Query(default="", max_length=7, description="YYYY-MM; default the last period"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    """The regular governance review of one of the user's teams for one period, and its sign-off."""
    teams = reviews.teams_of(db, p)
    today = utcnow().date()
    start = _period(period) or reviews.last_period(today)[0]
    team_id = team or (teams[0][0] if teams else None)
    v = reviews.view(db, p, team_id, start, via="web") if team_id else None
    return render(
        request,
        "governance_review.html",
        teams=teams,
        review=v,
        period=start.strftime("%Y-%m"),
        previous=reviews.period_containing(start - timedelta(days=1))[0].strftime("%Y-%m"),
        can_sign=p.role == governance.current_policy().review.by,
        ended=v is not None and v.end < today,
        london=london,
        error=None,
        now=utcnow(),
    )


@router.post("/governance/reviews")
def review_sign_off(
    request: Request,
    team: uuid.UUID = Form(...),
    period: str = Form(""),
    notes: str = Form(""),
    follow_ups: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """Sign off with notes; each line of ``follow_ups`` is a task, about a person when it starts with their NHS
    number and a colon (``943 476 5919: review the crisis plan``)."""
    start = _period(period)
    lines = []
    for line in follow_ups.splitlines():
        if not line.strip():
            continue
        head, sep, rest = line.partition(":")
        if sep and re.fullmatch(r"[\d\s-]+", head.strip()) and any(c.isdigit() for c in head):
            # "943 476 5919:" or "943-476-5919:": a number that is not a valid NHS number is refused by name
            lines.append({"nhs_number": head.strip(), "text": rest.strip()})
        else:
            lines.append({"text": line.strip()})
    try:
        if start is None:
            raise invalid("period", "must be a month written YYYY-MM")
        reviews.sign_off(db, p, team, start, notes, lines)
    except DomainError as exc:
        db.rollback()  # nothing of the refused sign-off is kept
        return render(request, "care_problem.html", exc.status, person_id=None, error=exc)
    return RedirectResponse(f"/governance/reviews?team={team}&period={start:%Y-%m}#signed", 303)
