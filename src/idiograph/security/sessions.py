"""Server-side sessions: an opaque random token for each sign-in (cookie or API token), only its hash kept, so
that sign-out, a password change or deactivation ends every session and token at once (found: a cookie copied
before sign-out still opened pages for 8 hours, and a token survived a password change)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.security.model import User, UserSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(session: Session, user_id: uuid.UUID, kind: str, max_age_s: int, client: str | None = None) -> str:
    """A new session for the user; the token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user_id,
            kind=kind,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_s),
            client=(client or "")[:64] or None,
        )
    )
    session.flush()
    return token


def user_of(session: Session, token: str, kind: str) -> User | None:
    """The active user whose live (unrevoked, unexpired) session this token is, else None."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _hash(token),
            UserSession.kind == kind,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).scalar_one_or_none()
    return row


def revoke(session: Session, token: str, reason: str = "signed out") -> int:
    done = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(cast(CursorResult[Any], done).rowcount)


def revoke_all(session: Session, user_id: uuid.UUID, reason: str) -> int:
    """End every live session and token of the user (password changed, deactivated, reset)."""
    done = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(cast(CursorResult[Any], done).rowcount)


def live_count(session: Session, user_id: uuid.UUID) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())
        )
        or 0
    )
