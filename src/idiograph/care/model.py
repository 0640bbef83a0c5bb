"""Tables for care as delivered. Changes to any of them go through governance decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class Preferences(Base):
    """A person's stated preferences; each change is a new version, the latest is current."""

    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("person_id", "version", name="uq_preferences_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppointmentPlan(Base):
    """How often, where and how a person is seen (the appointment model a decision changes)."""

    __tablename__ = "appointment_plan"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(20))
    default_frequency: Mapped[str] = mapped_column(String(20))  # the pathway's
    place: Mapped[str] = mapped_column(String(20), default="clinic")
    format: Mapped[str] = mapped_column(String(20), default="in_person")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_person_start", "person_id", "start"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column()
    minutes: Mapped[int] = mapped_column(default=50)
    place: Mapped[str] = mapped_column(String(20))  # clinic | home | community | remote
    format: Mapped[str] = mapped_column(String(20))  # in_person | video | phone | group
    with_whom: Mapped[str | None] = mapped_column(String(120), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="booked")
    # what it is for (care.options.CONTACT_TYPES) and which referral it belongs to; None: not said (older records,
    # imports), and reports fall back on the first attended appointment of a referral being its assessment and on
    # the person's episode open on the day
    contact_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("episode.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # booked | attended | did_not_attend | cancelled_by_person | cancelled_by_service
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskAssessment(Base):
    __tablename__ = "risk_assessment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(10))  # low | medium | high
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)


class CrisisPlan(Base):
    """Versioned; exactly one current version per person. ``version`` is the optimistic lock."""

    __tablename__ = "crisis_plan"
    __table_args__ = (UniqueConstraint("person_id", "version", name="uq_crisis_plan_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    current: Mapped[bool] = mapped_column(default=True)
    content: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanLink(Base):
    """A link that lets the person read their own crisis plan and upcoming appointments, without an account.

    Only the SHA-256 of the token is kept; it expires and can be revoked; every read is audited."""

    __tablename__ = "plan_link"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Task(Base):
    """Something a team must do: a person's request from their own page, a governance review's follow-up.

    Open until someone records it done with a note; it shows on Today for the person's teams (or, with no
    person, for the role it is addressed to)."""

    __tablename__ = "task"
    __table_args__ = (Index("ix_task_status_due", "status", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(40))  # care.tasks.KINDS
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    to_role: Mapped[str | None] = mapped_column(String(40), nullable=True)  # for tasks with no person
    # a task about no one belongs to one team: only that team's people in ``to_role`` see and close it
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), nullable=True)
    source_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    done_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_note: Mapped[str | None] = mapped_column(Text, nullable=True)
