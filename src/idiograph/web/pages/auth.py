"""Signing in and out, the home page by role, liveness, and Plotly served from the installed package."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.security import audit, sessions
from idiograph.security.deps import DB, LoginChecked, csrf_token, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import PasswordCheck, sign_in
from idiograph.web.plotly_css import stylesheet
from idiograph.web.render import PLOTLY_JS, render

router = APIRouter(include_in_schema=False)


@router.get("/vendor/plotly.min.js", openapi_extra={"x-public": "static script"})
def plotly_js() -> FileResponse:
    """Plotly's JavaScript from the installed Python package: no CDN, works offline."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


@router.get("/vendor/plotly.css", openapi_extra={"x-public": "static stylesheet"})
def plotly_css() -> Response:
    """Plotly's style rules as a file (a strict CSP refuses the ones it would inject)."""
    return Response(stylesheet(PLOTLY_JS), media_type="text/css", headers={"Cache-Control": "max-age=86400"})


@router.get("/healthz", openapi_extra={"x-public": "liveness probe"})
async def healthz() -> dict[str, str]:
    """Answered on the event loop itself (no database, no worker thread): it says the server is up even when
    every worker is busy."""
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
    check: PasswordCheck | None = LoginChecked,  # the CSRF token first, then the password (before DB opens)
    db: Session = DB,
) -> Response:
    if check is None:
        return render(request, "login.html", 403, next=next, error="Your session expired: please try again.")
    outcome = sign_in(db, username, password, request.client.host if request.client else None, check)
    user = outcome.user
    if user is None:
        status = 429 if outcome.wait_s else 401
        error = (outcome.refusal or "").capitalize() + "."
        response = render(request, "login.html", status, next=next, error=error)
        if outcome.wait_s:
            response.headers["Retry-After"] = str(outcome.wait_s)
        return response
    settings = request.app.state.settings
    sid = sessions.issue(
        db, user.id, "web", settings.session_max_age_s, request.client.host if request.client else None
    )
    audit.append(
        db, audit.Actor(user.id, user.username, user.role), "sign-in", "User", str(user.id), detail={"via": "web"}
    )
    request.session.clear()
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", 303)


@router.post("/logout")
def logout(request: Request, db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))) -> Response:
    """Ends this session on the server too: a copy of the cookie no longer opens anything."""
    sid = request.session.get("sid")
    if sid:
        sessions.revoke(db, str(sid))
        audit.append(db, p.actor, "sign-out", "User", str(p.user_id) if p.user_id else None, detail={"via": "web"})
    request.session.clear()
    return RedirectResponse("/login", 303)


@router.get("/")
def home(p: Principal = Depends(require(Permission.SIGNED_IN))) -> Response:
    if p.can(Permission.PERSON_READ):
        return RedirectResponse("/today", 303)
    if p.can(Permission.AUDIT_READ):
        return RedirectResponse("/audit", 303)
    if p.can(Permission.SYSTEM_OPERATE):
        return RedirectResponse("/operations", 303)
    if p.can(Permission.CRISIS_READ):
        return RedirectResponse("/crisis", 303)
    return RedirectResponse("/summary", 303)
