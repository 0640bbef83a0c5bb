"""Accounts, teams and who belongs to them, and the append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_signins: Mapped[int] = mapped_column(default=0)  # in a row; reset by a successful sign-in
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    profession: Mapped[str | None] = mapped_column(String(40), nullable=True)  # one of the intake definition's


class UserSession(Base):
    """A signed-in session (a browser's cookie or an API token): only the token's SHA-256 is kept, and sign-out,
    a password change or deactivation revokes it at once."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user", "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # web | api
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SignInThrottle(Base):
    """Failed sign-ins from one client address in a row, and how long that address must wait."""

    __tablename__ = "sign_in_throttle"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what kind of team it is (security.teams.KINDS): reports keep each kind apart (issue 19); None: not said,
    # and reports fall back on reporting/kpis.yaml's team_kinds by name, then "unknown"
    kind: Mapped[str | None] = mapped_column(String(30), nullable=True)


class TeamMembership(Base):
    __tablename__ = "team_membership"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), primary_key=True)


class AuditRecord(Base):
    """One read or write of person data (or of the system): who, when, what, which person, why."""

    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_person", "person_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(120))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    resource_type: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that serialises appends and remembers the chain's end (so a cut tail shows)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
