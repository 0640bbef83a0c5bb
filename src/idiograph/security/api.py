"""Routes for tokens, accounts and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.errors import DomainError
from idiograph.schema_base import Strict
from idiograph.security import audit
from idiograph.security import teams as teams_service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import authenticate, create_user, display_name, list_users
from idiograph.security.tokens import issue_token

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


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


class VerifyOut(BaseModel):
    records: int
    head_hash: str
    intact: bool
    problems: list[dict[str, Any]]


@router.post("/auth/token", response_model=TokenOut, openapi_extra={"x-public": "sign-in"})
def token(
    request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()], db: Session = DB
) -> TokenOut:
    """OAuth2 password flow: exchange a username and password for a bearer token."""
    user = authenticate(db, username, password)
    if user is None:
        audit.append(db, audit.Actor(None, f"anonymous:{username[:60]}", "none"), "sign-in-failed", "User")
        raise DomainError("wrong username or password", [], 401, "Not authenticated")
    audit.append(
        db, audit.Actor(user.id, user.username, user.role), "sign-in", "User", str(user.id), detail={"via": "token"}
    )
    settings = request.app.state.settings
    return TokenOut(access_token=issue_token(settings.secret_key, user.id), expires_in=settings.token_max_age_s)


@router.get("/users", response_model=list[UserOut])
def users(db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> list[UserOut]:
    return [
        UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role, active=u.active)
        for u in list_users(db, p)
    ]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, db: Session = DB, p: Principal = Depends(require(Permission.USER_MANAGE))) -> UserOut:
    u = create_user(db, p, body.username, body.role, body.password, body.display_name, body.teams)
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role, active=u.active)


@router.get("/audit", response_model=list[AuditOut])
def audit_records(
    db: Session = DB,
    p: Principal = Depends(require(Permission.AUDIT_READ)),
    person_id: uuid.UUID | None = None,
    before: int | None = Query(default=None, ge=1),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[Any]:
    """Newest first; page with ``before=<seq>``. Reading the trail is itself recorded."""
    p.require(Permission.AUDIT_READ)
    return [
        AuditOut.model_validate(r, from_attributes=True) for r in audit.newest(db, p.actor, person_id, before, limit)
    ]


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
    return TeamOut.model_validate(teams_service.create_team(db, p, body.name))
