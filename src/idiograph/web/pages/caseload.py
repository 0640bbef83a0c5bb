"""A team's caseload."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from idiograph.alerts import service as alert_service
from idiograph.care import caseload
from idiograph.monitoring.reviews import service as review_service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


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
        total=caseload.size(db, p),
        sort=sort,
        desc=desc,
        london=london,
        alerts=alert_service.open_counts(db, p),
    )
