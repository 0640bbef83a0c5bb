"""Accounts: create, authenticate, and turn a user into a principal with their teams."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import Conflict, FieldProblem, invalid
from idiograph.security import audit
from idiograph.security.model import TeamMembership, User
from idiograph.security.passwords import hash_password, verify_password
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission, parse_role

# A real hash of a random password, so that unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = hash_password("not-a-real-password-0")


def create_user(
    session: Session,
    principal: Principal,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    team_names: list[str] | None = None,
) -> User:
    """A new local account; a team name not seen before creates the team."""
    from idiograph.security.teams import add_member, team_by_name

    principal.require(Permission.USER_MANAGE)
    username = username.strip()
    if not (3 <= len(username) <= 80) or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise invalid("username", "3-80 letters, digits, '.', '_' or '-'")
    try:
        role_value = parse_role(role).value
    except ValueError as exc:
        raise invalid("role", str(exc)) from exc
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise invalid("password", str(exc)) from exc
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} exists", [FieldProblem("username", "already in use")])
    user = User(username=username, role=role_value, password_hash=password_hash, display_name=display_name or username)
    session.add(user)
    session.flush()
    for name in team_names or []:
        add_member(session, user.id, team_by_name(session, name, create=True).id)
    audit.append(
        session,
        principal.actor,
        "create",
        "User",
        str(user.id),
        None,
        detail={"username": username, "role": role_value, "teams": team_names or []},
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def principal_for(session: Session, user: User) -> Principal:
    teams = frozenset(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)))
    return Principal(user.id, user.username, user.role, teams)


def principal_by_id(session: Session, user_id: uuid.UUID) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return principal_for(session, user)


def display_name(session: Session, principal: Principal) -> str:
    user = session.get(User, principal.user_id) if principal.user_id else None
    return user.display_name if user else principal.username


def list_users(session: Session, principal: Principal) -> list[User]:
    principal.require(Permission.USER_MANAGE)
    return list(session.scalars(select(User).order_by(User.username)))
