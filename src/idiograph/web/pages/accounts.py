"""Accounts: your own password, and for administrators every account with its lockout, deactivation and reset."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import DomainError
from idiograph.intake.definition import definition
from idiograph.security import service as accounts
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission, Role
from idiograph.security.sessions import live_count
from idiograph.security.teams import KINDS, list_teams, set_kind
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


def _users_page(
    request: Request,
    db: Session,
    p: Principal,
    note: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, object] | None = None,
    shown_password: tuple[str, str] | None = None,
) -> HTMLResponse:
    now = utcnow()
    listed = accounts.list_users(db, p)
    ids = [u.id for u in listed]
    teams, last = accounts.teams_of(db, ids), accounts.last_sign_ins(db, ids)
    users = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "profession": u.profession,
            "active": u.active,
            "teams": teams.get(u.id, []),
            "last_sign_in": last.get(u.id),
            "failed_signins": u.failed_signins,
            "locked": bool(u.locked_until and u.locked_until > now),
            "locked_until": u.locked_until,
            "sessions": live_count(db, u.id),
        }
        for u in listed
    ]
    locked = [u["username"] for u in users if u["locked"]]
    return render(
        request,
        "users.html",
        status,
        users=users,
        locked=locked,
        note=note,
        error=None,
        errors=errors or {},
        form=form or {},
        shown_password=shown_password,
        roles=[(r.value, r.value.replace("_", " ")) for r in Role],
        all_teams=[t.name for t in list_teams(db)],
        team_rows=list_teams(db),
        team_kinds=KINDS,
        professions=list(definition().professions.items()),
        london=london,
    )


@router.get("/admin/users")
def users_page(
    request: Request,
    note: str | None = Query(default=None, max_length=300),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> HTMLResponse:
    return _users_page(request, db, p, note)


def temporary_password() -> str:
    """A new password to give the person by another route (shown once, never stored in clear)."""
    return "-".join(secrets.token_urlsafe(4) for _ in range(3))


@router.post("/admin/users")
def create(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    role: str = Form(""),
    team: list[str] = Form([]),
    password: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    """Create an account; with no password typed, a temporary one is made and shown once."""
    form = {"username": username, "display_name": display_name, "role": role, "teams": team}
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Username: enter one (3 to 80 letters, digits, '.', '_' or '-')"
    if not display_name.strip():
        errors["display_name"] = "Full name: enter the name colleagues know them by"
    if not role:
        errors["role"] = "Role: choose one"
    if not errors:
        given = password or temporary_password()
        try:
            accounts.create_user(db, p, username, role, given, display_name.strip(), team)
        except DomainError as exc:
            db.rollback()  # nothing of the refused request is kept
            for problem in exc.problems or []:
                errors[problem.field] = f"{_LABELS.get(problem.field, problem.field)}: {problem.reason}"
            if not errors:
                errors["username"] = exc.detail
        else:
            if password:
                return RedirectResponse(f"/admin/users?note={quote(f'{username.strip()} created')}", 303)
            return _users_page(request, db, p, f"{username.strip()} created", shown_password=(username.strip(), given))
    db.rollback()
    return _users_page(request, db, p, None, 422, errors, form)


_LABELS = {"username": "Username", "display_name": "Full name", "role": "Role", "password": "Password", "team": "Teams"}


@router.post("/admin/users/{username}/role")
def change_role(
    request: Request,
    username: str,
    role: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    return _act(
        request, db, f"{username} is now {role.replace('_', ' ')}", lambda: accounts.set_role(db, p, username, role)
    )


@router.post("/admin/users/{username}/profession")
def change_profession(
    request: Request,
    username: str,
    profession: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    professions = definition().professions
    done = f"{username}'s profession: {professions.get(profession, 'none').lower()}"
    return _act(request, db, done, lambda: accounts.set_profession(db, p, username, profession, professions))


@router.post("/admin/users/{username}/teams")
def change_teams(
    request: Request,
    username: str,
    team: list[str] = Form([]),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    teams = ", ".join(team) if team else "no team"
    return _act(request, db, f"{username}'s teams: {teams}", lambda: accounts.set_teams(db, p, username, team))


@router.post("/admin/teams/{name}/kind")
def change_team_kind(
    request: Request,
    name: str,
    kind: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    """Say what kind of team it is: reports keep each kind apart (issue 19)."""
    words = kind.replace("_", " ") if kind else "not stated"
    return _act(request, db, f"{name}: kind {words}", lambda: set_kind(db, p, name, kind or None))


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
    generate: bool = Form(False),
    db: Session = DB,
    p: Principal = Depends(require(Permission.USER_MANAGE)),
) -> Response:
    """Set a new password (typed, or a temporary one made here and shown once); their sessions end."""
    if generate:
        given = temporary_password()
        try:
            accounts.reset_password(db, p, username, given)
        except DomainError as exc:
            db.rollback()
            return RedirectResponse(f"/admin/users?note={quote(exc.detail)}", 303)
        note = f"new password set for {username}; their sessions ended"
        return _users_page(request, db, p, note, shown_password=(username, given))
    return _act(
        request,
        db,
        f"new password set for {username}; their sessions ended",
        lambda: accounts.reset_password(db, p, username, password),
    )
