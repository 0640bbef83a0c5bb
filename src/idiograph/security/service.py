"""Accounts: create, sign in (throttled), manage (password change and reset, deactivation, unlock), and turn a
user into a principal with their teams."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idiograph.db import Database, utcnow
from idiograph.errors import Conflict, FieldProblem, Forbidden, NotFound, invalid
from idiograph.security import audit, sessions
from idiograph.security.model import SignInThrottle, TeamMembership, User
from idiograph.security.passwords import hash_password, needs_rehash, verify_password
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission, parse_role
from idiograph.security.throttle import ACCOUNT_FREE, ADDRESS_FREE, lock_after, wait_seconds

# A real hash of a random password, so that unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = hash_password("not-a-real-password-0")
_DUMMIES: dict[str, str] = {}


def dummy_like(stored: str | None) -> str:
    """A hash of a password nobody has, made with the same argon2 parameters as ``stored``."""
    if stored is None:
        return _DUMMY_HASH
    try:
        params = extract_parameters(stored)
    except InvalidHashError:
        return _DUMMY_HASH
    key = f"{params.type}:{params.memory_cost}:{params.time_cost}:{params.parallelism}"
    if key not in _DUMMIES:
        _DUMMIES[key] = PasswordHasher.from_parameters(params).hash("not-a-real-password-0")
    return _DUMMIES[key]


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


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or why not and for how long to wait (``wait_s`` > 0: throttled)."""

    user: User | None
    refusal: str | None = None
    wait_s: int = 0


@dataclass(frozen=True)
class PasswordCheck:
    """A password checked against a stored hash before the sign-in's write transaction opens: argon2 takes about
    a tenth of a second of CPU, and a SQLite writer holds the one write lock for its whole transaction (checked
    inside it, a team signing in at 9 a.m. queued every write of the service behind each other's hashes)."""

    username: str
    checked_hash: str | None  # the stored hash the password was checked against (None: not checked)
    ok: bool


def check_password(database: Database, username: str, password: str, address: str | None) -> PasswordCheck:
    """Read the stored hash in a read-only snapshot and check the password outside any transaction. An address or
    account locked at that moment is not checked (it will be refused: no hashing spent on an attack)."""
    now = utcnow()
    with database.reader() as s:
        row = s.execute(select(User.password_hash, User.locked_until).where(User.username == username)).first()
        places = s.execute(
            select(SignInThrottle.locked_until).where(
                SignInThrottle.address.in_([_address(address), _no_such_account(username)])
            )
        ).all()
    if any(wait_seconds(p[0], now) for p in places) or (row is not None and wait_seconds(row[1], now)):
        return PasswordCheck(username, None, False)
    if row is None:
        # an unknown username costs what a real account's check costs: a dummy hash with the parameters of a
        # stored hash picked at random (while older hashes remain, their check is slower than today's; a fixed
        # dummy would tell real usernames from unknown ones by the time taken)
        with database.reader() as s:
            some = s.scalar(select(User.password_hash).order_by(func.random()).limit(1))
        verify_password(dummy_like(some), password)
        return PasswordCheck(username, _DUMMY_HASH, False)
    return PasswordCheck(username, row[0], verify_password(row[0], password))


def _address(address: str | None) -> str:
    return (address or "unknown")[:64]


def _no_such_account(username: str) -> str:
    """Where failures against a username that has no account are counted, so that it locks like a real one
    (found by a new user: only real usernames ever said "locked", which told which ones exist)."""
    return f"no-account:{username}"[:64]


def _throttle(session: Session, key: str) -> SignInThrottle:
    """The throttle row for ``key``, made if missing, locked for this transaction: two failed sign-ins at the same
    moment from a new address (or for the same name) both count, and neither fails on the other's insert."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(make(SignInThrottle).values(address=key, failures=0).on_conflict_do_nothing())
    row = session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def sign_in(
    session: Session, username: str, password: str, address: str | None, check: PasswordCheck | None = None
) -> SignIn:
    """Check the password under the throttle: an address or account locked after failures in a row is refused
    even with the right password (429 with Retry-After); every outcome is audited. The caller commits, so a
    failure is counted even though it is refused. ``check``, made before the transaction, is used when it was
    made against the hash stored now (otherwise the password is checked here)."""
    now = utcnow()
    address = _address(address)
    place = session.get(SignInThrottle, address)
    anonymous = audit.Actor(None, f"anonymous:{username[:60]}", "none")
    if place is not None and (wait := wait_seconds(place.locked_until, now)):
        audit.append(session, anonymous, "sign-in-refused", "User", detail={"address": address, "why": "address"})
        return SignIn(None, f"too many failed sign-ins from this address: try again in {_minutes(wait)}", wait)
    user = session.scalar(select(User).where(User.username == username))
    ghost = session.get(SignInThrottle, _no_such_account(username)) if user is None else None
    locked_until, in_a_row = (
        (user.locked_until, user.failed_signins)
        if user is not None
        else (ghost.locked_until, ghost.failures)
        if ghost is not None
        else (None, 0)
    )
    if wait := wait_seconds(locked_until, now):
        audit.append(
            session,
            anonymous,
            "sign-in-refused",
            "User",
            str(user.id) if user else None,
            detail={"why": "account locked"},
        )
        return SignIn(
            None,
            f"this account is locked after {in_a_row} failed sign-ins: try again in {_minutes(wait)}, "
            "or ask an administrator to unlock it",
            wait,
        )
    stored = user.password_hash if user is not None else _DUMMY_HASH
    if check is not None and check.username == username and check.checked_hash == stored:
        ok = check.ok and user is not None and user.active
    else:
        ok = verify_password(stored, password) and user is not None and user.active
    if not ok:
        place = _throttle(session, address)
        place.failures += 1
        place.last_failure_at = now
        place.locked_until = lock_after(place.failures, ADDRESS_FREE, now)
        if user is not None:
            user.failed_signins += 1
            user.locked_until = lock_after(user.failed_signins, ACCOUNT_FREE, now)
        else:
            ghost = _throttle(session, _no_such_account(username))
            ghost.failures += 1
            ghost.last_failure_at = now
            ghost.locked_until = lock_after(ghost.failures, ACCOUNT_FREE, now)
        audit.append(
            session,
            anonymous,
            "sign-in-failed",
            "User",
            str(user.id) if user else None,
            detail={"address": address, "in_a_row": user.failed_signins if user else None},
        )
        return SignIn(None, "wrong username or password")
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # the same password, today's parameters (once per account)
    user.failed_signins, user.locked_until = 0, None
    if place is not None:
        place.failures, place.locked_until = 0, None
    return SignIn(user)


def _minutes(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The password check alone (no throttle, no audit): for callers that have their own, such as tests."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


# -- managing accounts ---------------------------------------------------------------------------------------


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def change_password(session: Session, principal: Principal, current: str, new: str) -> int:
    """The signed-in user's own password; every session and token of theirs ends (sign in again)."""
    if principal.user_id is None:
        raise Forbidden("only a named user has a password")
    user = session.get(User, principal.user_id)
    assert user is not None
    if not verify_password(user.password_hash, current):
        raise invalid("current_password", "is not your current password")
    if new == current:
        raise invalid("new_password", "must differ from the current one")
    try:
        user.password_hash = hash_password(new)
    except ValueError as exc:
        raise invalid("new_password", str(exc)) from exc
    user.password_changed_at = utcnow()
    ended = sessions.revoke_all(session, user.id, "password changed")
    audit.append(session, principal.actor, "password-change", "User", str(user.id), detail={"sessions_ended": ended})
    return ended


def reset_password(session: Session, principal: Principal, username: str, new: str) -> int:
    """An administrator sets a new password (given to the person another way); their sessions end."""
    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    try:
        user.password_hash = hash_password(new)
    except ValueError as exc:
        raise invalid("password", str(exc)) from exc
    user.password_changed_at = utcnow()
    user.failed_signins, user.locked_until = 0, None
    ended = sessions.revoke_all(session, user.id, "password reset")
    audit.append(session, principal.actor, "password-reset", "User", str(user.id), detail={"sessions_ended": ended})
    return ended


def set_active(session: Session, principal: Principal, username: str, active: bool) -> int:
    """Deactivate (every session and token ends at once) or reactivate an account."""
    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    if principal.user_id == user.id and not active:
        raise Forbidden("you cannot deactivate your own account")
    user.active = active
    ended = sessions.revoke_all(session, user.id, "deactivated") if not active else 0
    audit.append(
        session,
        principal.actor,
        "activate" if active else "deactivate",
        "User",
        str(user.id),
        detail={"sessions_ended": ended},
    )
    return ended


def set_role(session: Session, principal: Principal, username: str, role: str) -> None:
    """Change someone's role (it applies from their next request); an administrator cannot change their own."""
    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    try:
        value = parse_role(role).value
    except ValueError as exc:
        raise invalid("role", str(exc)) from exc
    if principal.user_id == user.id and value != user.role:
        raise Forbidden("you cannot change your own role: ask another administrator")
    if value == user.role:
        return
    before, user.role = user.role, value
    audit.append(session, principal.actor, "role-change", "User", str(user.id), detail={"from": before, "to": value})


def set_profession(
    session: Session, principal: Principal, username: str, profession: str | None, professions: Mapping[str, str]
) -> None:
    """Set (or clear, with None or "") someone's profession, one of ``professions`` (the intake definition's: the
    security layer does not read it). It marks what they contribute to a record from then on."""
    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    value = (profession or "").strip() or None
    if value is not None and value not in professions:
        raise invalid("profession", f"{value!r} is not one of {', '.join(professions)}")
    if value == user.profession:
        return
    before, user.profession = user.profession, value
    audit.append(
        session, principal.actor, "profession-change", "User", str(user.id), detail={"from": before, "to": value}
    )


def set_teams(session: Session, principal: Principal, username: str, team_names: list[str]) -> None:
    """Put someone in exactly these (existing) teams; their caseload follows from their next request."""
    from idiograph.security.model import Team
    from idiograph.security.teams import team_by_name

    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    wanted = {
        team_by_name(session, name).id: name for name in dict.fromkeys(n.strip() for n in team_names if n.strip())
    }
    current = set(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)))
    if current == set(wanted):
        return
    for team_id in current - set(wanted):
        row = session.get(TeamMembership, (user.id, team_id))
        if row is not None:
            session.delete(row)
    for team_id in set(wanted) - current:
        session.add(TeamMembership(user_id=user.id, team_id=team_id))
    session.flush()
    before = sorted(session.scalars(select(Team.name).where(Team.id.in_(current)))) if current else []
    audit.append(
        session,
        principal.actor,
        "teams-change",
        "User",
        str(user.id),
        detail={"from": before, "to": sorted(wanted.values())},
    )


def usernames_matching(session: Session, text: str) -> tuple[str, ...]:
    """Usernames whose username or display name contains ``text`` (case-insensitive): the audit page's user filter."""
    like = f"%{text.strip().lower()}%"
    q = select(User.username).where(or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like)))
    return tuple(session.scalars(q))


def teams_of(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Each user's team names."""
    from idiograph.security.model import Team

    out: dict[uuid.UUID, list[str]] = {u: [] for u in user_ids}
    rows = session.execute(
        select(TeamMembership.user_id, Team.name)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.user_id.in_(user_ids))
        .order_by(Team.name)
    )
    for uid, name in rows:
        out.setdefault(uid, []).append(name)
    return out


def last_sign_ins(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When each user last signed in (their newest session, page or API), where known."""
    from idiograph.security.model import UserSession

    rows = session.execute(
        select(UserSession.user_id, func.max(UserSession.created_at))
        .where(UserSession.user_id.in_(user_ids))
        .group_by(UserSession.user_id)
    )
    return {uid: at for uid, at in rows if at is not None}


def unlock(session: Session, principal: Principal, username: str) -> None:
    """Lift a lockout after failed sign-ins (the failures are forgotten)."""
    principal.require(Permission.USER_MANAGE)
    user = _user(session, username)
    user.failed_signins, user.locked_until = 0, None
    audit.append(session, principal.actor, "unlock", "User", str(user.id))


def principal_for(session: Session, user: User) -> Principal:
    teams = frozenset(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)))
    return Principal(user.id, user.username, user.role, teams)


def principal_by_id(session: Session, user_id: uuid.UUID) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return principal_for(session, user)


def principal_by_session(session: Session, token: str, kind: str) -> Principal | None:
    """The principal of a live session token (cookie or API), else None."""
    user = sessions.user_of(session, token, kind)
    return principal_for(session, user) if user is not None else None


def display_name(session: Session, principal: Principal) -> str:
    user = session.get(User, principal.user_id) if principal.user_id else None
    return user.display_name if user else principal.username


def profession_of(session: Session, principal: Principal) -> str | None:
    """The signed-in person's profession (psychiatrist, social worker, ...; None when not set or a system job)."""
    user = session.get(User, principal.user_id) if principal.user_id else None
    return user.profession if user else None


def list_users(session: Session, principal: Principal) -> list[User]:
    principal.require(Permission.USER_MANAGE)
    users = list(session.scalars(select(User).order_by(User.username)))
    audit.append(session, principal.actor, "list", "User", None, None, detail={"count": len(users)})
    return users
