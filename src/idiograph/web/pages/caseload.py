"""The caseload (everyone on the user's teams, paged, searched, filtered, most urgent first) and Today (those who
need attention, with the team's waiting work)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.care import tasks
from idiograph.governance import reviews as governance_reviews
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render
from idiograph.worklist import service
from idiograph.worklist.priority import TIER_LABELS, Tier

router = APIRouter(include_in_schema=False)

ALERT_NAMES = {
    Kind.SAFETY.value: "Safety answer",
    Kind.SAFETY_UNANSWERED.value: "Safety question not answered",
    Kind.RELAPSE.value: "Relapse",
    Kind.NOT_ON_TRACK.value: "Not on track",
    Kind.DEVIATION.value: "Outside usual range",
}


def _common(request: Request, page: service.Page) -> dict[str, Any]:
    q = page.query
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "offset"])
    shown_to = min(q.offset + q.limit, page.total)
    return {
        "page": page,
        "base": f"{request.url.path}?{kept}&" if kept else f"{request.url.path}?",
        "q": q,
        "first": q.offset + 1 if page.total else 0,
        "last": shown_to,
        "prev_offset": max(0, q.offset - q.limit) if q.offset else None,
        "next_offset": q.offset + q.limit if shown_to < page.total else None,
        "tier_labels": TIER_LABELS,
        "Tier": Tier,
        "alert_names": ALERT_NAMES,
        "london": london,
    }


@router.get("/caseload")
def caseload_page(
    request: Request,
    q: str | None = Query(default=None, max_length=200),
    status: service.Status = "open",
    mine: bool = False,
    alert: str = Query(default="", pattern=f"^({'|'.join(k.value for k in Kind)})?$"),
    pathway: str | None = Query(default=None, max_length=60),
    review: str = Query(default="", pattern="^(due|overdue)?$"),
    sort: service.SortKey = "priority",
    desc: bool = False,
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    query = service.Query(
        q=(q or "").strip() or None,
        status=status,
        mine=mine,
        alert=alert or None,
        pathway=pathway or None,
        review="due" if review == "due" else "overdue" if review == "overdue" else None,
        sort=sort,
        descending=desc,
        limit=service.PAGE,
        offset=offset,
    )
    page = service.caseload(db, p, query, via="web")
    return render(request, "caseload.html", **_common(request, page), pathways=service.pathways(db, p))


@router.get("/today")
def today_page(
    request: Request,
    scope: str = Query(default="", pattern="^(|mine|team)$"),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    leads_anyone = service.leads_anyone(db, p)
    scope = scope or ("mine" if leads_anyone else "team")
    query = service.Query(status="all", attention=True, mine=scope == "mine", offset=offset, limit=100)
    page = service.caseload(db, p, query, via="web:today")
    team_tasks = [t for t in tasks.open_for(db, p) if t.person_id is None]
    return render(
        request,
        "today.html",
        **_common(request, page),
        scope=scope,
        leads_anyone=leads_anyone,
        team_tasks=team_tasks,
        escalations=service.waiting_escalations(db, p),
        overdue_reviews=governance_reviews.overdue_for(db, p),
    )
