"""The audit trail, with its chain checked."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from idiograph.security import audit
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request,
    before: int | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.AUDIT_READ)),
) -> HTMLResponse:
    rows = audit.newest(db, p.actor, before=before, limit=200)
    n, head, problems = audit.verify(db)
    return render(request, "audit.html", rows=rows, records=n, head=head, problems=problems, london=london)
