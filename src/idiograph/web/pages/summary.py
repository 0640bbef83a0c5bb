"""The service summary (aggregates only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from idiograph.reporting.summary import service_summary
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/summary")
def summary_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.SERVICE_SUMMARY))
) -> HTMLResponse:
    return render(request, "summary.html", summary=service_summary(db, p))
