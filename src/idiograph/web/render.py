"""Rendering pages: the template context every page gets, and times in Europe/London."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import plotly
from fastapi import Request
from fastapi.responses import HTMLResponse

from idiograph.errors import ASK, DomainError, NotPermitted, StaleForm, plain_words
from idiograph.security.deps import csrf_token
from idiograph.security.roles import Permission

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
LONDON = ZoneInfo("Europe/London")


def london(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    return value.astimezone(LONDON).strftime(fmt) if value else ""


def waiting_for(request: Request, principal: Any) -> tuple[int, int] | None:
    """(waiting, overdue) escalations for the header, for the roles that answer escalations (one COUNT query in
    its own short read; no patient data, so nothing to audit); None for every other role."""
    from idiograph.governance.service import answering_roles, waiting_count

    if principal is None or principal.role not in answering_roles():
        return None
    with request.app.state.db.reader() as session:
        return waiting_count(session, principal)


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("principal", getattr(request.state, "principal", None))
    ctx.setdefault("escalations_waiting", waiting_for(request, ctx["principal"]))
    ctx["csrf"] = csrf_token(request)
    ctx["Permission"] = Permission
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


def refused(request: Request, person_id: uuid.UUID | None, exc: DomainError) -> HTMLResponse:
    """The page that says why a change was refused, with the way back to the person's care (in plain words: never
    a permission name)."""
    if isinstance(exc, NotPermitted):
        role = exc.role.replace("_", " ")
        exc = DomainError(f"Your role ({role}) cannot make this change. If you need to, {ASK}.", [], 403, "Forbidden")
    elif isinstance(exc, StaleForm):
        exc = DomainError(plain_words(exc)[1], [], 403, "Forbidden")
    return render(request, "care_problem.html", exc.status, person_id=person_id, error=exc)
