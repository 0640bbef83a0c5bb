"""Operations for administrators: rules that failed on stored data, and retrying them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.pipeline import failures
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


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
