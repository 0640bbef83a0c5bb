"""Routes for tokens, accounts and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import invalid
from idiograph.schema_base import Strict
from idiograph.security import audit, sessions
from idiograph.security import teams as teams_service
from idiograph.security.deps import DB, PasswordChecked, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import (
    PasswordCheck,
    change_password,
    create_user,
    display_name,
    last_sign_ins,
    list_users,
    reset_password,
    set_active,
    set_role,
    set_teams,
    sign_in,
    teams_of,
    unlock,
)

router = APIRouter(prefix="/api/v1", tags=["security"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserIn(Strict):
    username: str = Field(min_length=3, max_length=80)
    role: str
    password: str = Field(min_length=10, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    teams: list[str] = Field(default_factory=list, max_length=20)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    active: bool
    failed_signins: int = 0
    locked_until: datetime | None = None
    teams: list[str] = Field(default_factory=list)
    last_sign_in: datetime | None = None
    profession: str | None = None


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    resource_type: str
    resource_id: str | None
    person_id: uuid.UUID | None
    reason: str | None
    detail: dict[str, Any]


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    kind: str | None = Field(
        default=None, description="what kind of team (reports keep each kind apart): " + ", ".join(teams_service.KINDS)
    )


class TeamKindIn(Strict):
    kind: str | None = Field(description="one of " + ", ".join(teams_service.KINDS) + "; null: not said")


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str | None = None


class VerifyOut(BaseModel):
    records: int
    head_hash: str
    intact: bool
    problems: list[dict[str, Any]]


@router.post("/auth/token", response_model=TokenOut, openapi_extra={"x-public": "sign-in"})
def token(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    check: PasswordCheck = PasswordChecked,
    db: Session = DB,
) -> Any:
    """OAuth2 password flow: exchange a username and password for a bearer token (a server-side session: it ends
    with `POST /api/v1/auth/revoke`, a password change or deactivation). Failures in a row lock the account and
    the client address for a while (429 with Retry-After)."""
    client = request.client.host if request.client else None
    outcome = sign_in(db, username, password, client, check)
    user = outcome.user
    if user is None:
        # returned, not raised: the unit of work commits, so the failure counts towards the lockout
        if outcome.wait_s:
            return _refused(429, "Too many failed sign-ins", outcome.refusal, {"Retry-After": str(outcome.wait_s)})
        return _refused(401, "Not authenticated", outcome.refusal, {"WWW-Authenticate": "Bearer"})
    settings = request.app.state.settings
    access = sessions.issue(db, user.id, "api", settings.token_max_age_s, client)
    audit.append(
        db, audit.Actor(user.id, user.username, user.role), "sign-in", "User", str(user.id), detail={"via": "token"}
    )
    return TokenOut(access_token=access, expires_in=settings.token_max_age_s)


def _refused(status: int, title: str, detail: str | None, headers: dict[str, str]) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail or "",
        "instance": "/api/v1/auth/token",
    }
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


@router.post("/auth/revoke", status_code=204)
def revoke_token(request: Request, db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))) -> None:
    """End the bearer token this request carries (sign out an API client)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        sessions.revoke(db, header[7:].strip())
        audit.append(db, p.actor, "sign-out", "User", str(p.user_id) if p.user_id else None, detail={"via": "token"})


class PasswordIn(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class ResetIn(Strict):
    password: str = Field(min_length=10, max_length=200, description="the new password, given to the person apart")


class EndedOut(BaseModel):
    sessions_ended: int


@router.post("/me/password", response_model=EndedOut)
def change_my_password(
    body: PasswordIn, db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))
) -> EndedOut:
    """Change your own password; every one of your sessions and tokens ends, this one included."""
    return EndedOut(sessions_ended=change_password(db, p, body.current_password, body.new_password))


@router.get("/users", response_model=list[UserOut])
def users(db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> list[UserOut]:
    """Every account, with failed sign-ins in a row and any lockout (staff see who is locked out and why)."""
    now = utcnow()
    listed = list_users(db, p)
    teams, last = teams_of(db, [u.id for u in listed]), last_sign_ins(db, [u.id for u in listed])
    return [
        UserOut(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            active=u.active,
            failed_signins=u.failed_signins,
            locked_until=u.locked_until if u.locked_until and u.locked_until > now else None,
            teams=teams.get(u.id, []),
            last_sign_in=last.get(u.id),
            profession=u.profession,
        )
        for u in listed
    ]


@router.post("/users/{username}/password", response_model=EndedOut)
def reset_user_password(
    username: str, body: ResetIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> EndedOut:
    """Set a new password for someone (an administrator); their sessions and tokens end."""
    return EndedOut(sessions_ended=reset_password(db, p, username, body.password))


@router.post("/users/{username}/deactivate", response_model=EndedOut)
def deactivate_user(
    username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> EndedOut:
    """Deactivate an account: every session and token ends at once; nobody can sign in as them."""
    return EndedOut(sessions_ended=set_active(db, p, username, False))


@router.post("/users/{username}/activate", response_model=EndedOut)
def activate_user(username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> EndedOut:
    return EndedOut(sessions_ended=set_active(db, p, username, True))


@router.post("/users/{username}/unlock", status_code=204)
def unlock_user(username: str, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> None:
    """Lift a lockout after failed sign-ins."""
    unlock(db, p, username)


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> UserOut:
    u = create_user(db, p, body.username, body.role, body.password, body.display_name, body.teams)
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role, active=u.active)


class RoleIn(Strict):
    role: str = Field(min_length=1, max_length=40)


class TeamsIn(Strict):
    teams: list[str] = Field(max_length=20, description="every team they should be in (existing teams)")


@router.put("/users/{username}/role", status_code=204)
def change_user_role(
    username: str, body: RoleIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> None:
    """Change someone's role (not your own); it applies from their next request."""
    set_role(db, p, username, body.role)


@router.put("/users/{username}/teams", status_code=204)
def change_user_teams(
    username: str, body: TeamsIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> None:
    """Put someone in exactly these teams; their caseload follows."""
    set_teams(db, p, username, body.teams)


@router.get("/audit", response_model=list[AuditOut])
def audit_records(
    response: Response,
    db: Session = DB,
    p: Principal = Depends(require(Permission.AUDIT_READ)),
    person_id: uuid.UUID | None = None,
    user: str | None = Query(default=None, max_length=120, description="the username who acted"),
    action: str | None = Query(default=None, max_length=60),
    since: datetime | None = Query(default=None, description="at or after (with an offset, e.g. Z)"),
    until: datetime | None = Query(default=None, description="before (with an offset)"),
    before: int | None = Query(default=None, ge=1),
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[Any]:
    """Newest first; page with ``offset`` (the total is in ``X-Total-Count``) or ``before=<seq>``; filter by
    person, user, action and time. Reading the trail is itself recorded, with the filter."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise invalid(name, "give the time with its offset, e.g. 2026-03-01T09:00:00Z")
    if since and until and until <= since:
        raise invalid("until", "must be after since")
    f = audit.Filter((person_id,) if person_id else None, (user,) if user else None, action, since, until, before)
    total, rows = audit.search(db, p.actor, f, offset, limit)
    response.headers["X-Total-Count"] = str(total)
    return [AuditOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(db: Session = DB, p: Principal = Depends(require(Permission.AUDIT_READ))) -> VerifyOut:
    n, head, problems = audit.verify(db)
    return VerifyOut(
        records=n,
        head_hash=head,
        intact=not problems,
        problems=[{"seq": x.seq, "kind": x.kind, "message": x.message} for x in problems],
    )


@router.get("/me", response_model=dict[str, Any])
def me(db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))) -> dict[str, Any]:
    return {
        "username": p.username,
        "role": p.role,
        "display_name": display_name(db, p),
        "team_ids": sorted(str(t) for t in p.team_ids),
    }


@router.get("/teams", response_model=list[TeamOut])
def teams(db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))) -> list[TeamOut]:
    return [TeamOut.model_validate(t) for t in teams_service.list_teams(db)]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> TeamOut:
    return TeamOut.model_validate(teams_service.create_team(db, p, body.name, body.kind))


@router.put("/teams/{name}/kind", response_model=TeamOut)
def set_team_kind(
    name: str, body: TeamKindIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))
) -> TeamOut:
    """Say what kind of team it is: the Reports page and the KPI document report each kind apart."""
    return TeamOut.model_validate(teams_service.set_kind(db, p, name, body.kind))
