"""Accounts: your own password, and for administrators every account with its lockout, deactivation and reset."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import DomainError
from idiograph.security import service as accounts
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.sessions import live_count
from idiograph.web.render import london, render

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account_page(request: Request, p: Principal = Depends(require(Permission.SIGNED_IN))) -> HTMLResponse:
    return render(request, "account.html", error=None)


@router.post("/account/password")
def change_password(
    request: Request,
    current_password: str = Form(""),
    new_password: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.SIGNED_IN)),
) -> Response:
    try:
        accounts.change_password(db, p, current_password, new_password)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(request, "account.html", exc.status, error=exc.detail)
    request.session.clear()  # this session ended with the others
    return RedirectResponse("/login", 303)


@router.get("/admin/users")
def users_page(
    request: Request,
    note: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> HTMLResponse:
    now = utcnow()
    users = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "failed_signins": u.failed_signins,
            "locked": bool(u.locked_until and u.locked_until > now),
            "locked_until": u.locked_until,
            "sessions": live_count(db, u.id),
        }
        for u in accounts.list_users(db, p)
    ]
    locked = [u["username"] for u in users if u["locked"]]
    return render(request, "users.html", users=users, locked=locked, note=note, error=None, london=london)


def _act(request: Request, db: Session, done: str, change) -> Response:  # type: ignore[no-untyped-def]
    try:
        change()
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return RedirectResponse(f"/admin/users?note={quote(exc.detail)}", 303)
    return RedirectResponse(f"/admin/users?note={quote(done)}", 303)


@router.post("/admin/users/{username}/unlock")
def unlock(
    request: Request, username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> Response:
    return _act(request, db, f"{username} unlocked", lambda: accounts.unlock(db, p, username))


@router.post("/admin/users/{username}/deactivate")
def deactivate(
    request: Request, username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> Response:
    return _act(
        request, db, f"{username} deactivated and signed out", lambda: accounts.set_active(db, p, username, False)
    )


@router.post("/admin/users/{username}/activate")
def activate(
    request: Request, username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> Response:
    return _act(request, db, f"{username} reactivated", lambda: accounts.set_active(db, p, username, True))


@router.post("/admin/users/{username}/password")
def reset(
    request: Request,
    username: str,
    password: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    return _act(
        request,
        db,
        f"new password set for {username}; their sessions ended",
        lambda: accounts.reset_password(db, p, username, password),
    )
