"""Tables for teams, people, identifiers, episodes, caseloads, conditions, contacts and break-glass."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idiograph.db import Base, new_id, utcnow


class Person(Base):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    gender_identity: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ethnicity: Mapped[str | None] = mapped_column(String(2), nullable=True)
    deprivation_decile: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preferred_language: Mapped[str | None] = mapped_column(String(35), nullable=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    identifiers: Mapped[list[PersonIdentifier]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonIdentifier.system"
    )


class PersonIdentifier(Base):
    """An identifier another system uses for this person (the key that makes imports idempotent)."""

    __tablename__ = "person_identifier"
    __table_args__ = (UniqueConstraint("system", "value", name="uq_person_identifier"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(300))
    value: Mapped[str] = mapped_column(String(200))

    person: Mapped[Person] = relationship(back_populates="identifiers")


class CaseloadAssignment(Base):
    """A person on a team's caseload (optionally with a named lead): what gives staff access."""

    __tablename__ = "caseload_assignment"
    __table_args__ = (UniqueConstraint("person_id", "team_id", name="uq_caseload"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    lead_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class Episode(Base):
    """One referral to discharge."""

    __tablename__ = "episode"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_episode_source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), nullable=True)
    referral_date: Mapped[date] = mapped_column(Date)
    referral_source: Mapped[str] = mapped_column(String(40))
    presenting_problem: Mapped[str] = mapped_column(String(60))
    pathway: Mapped[str] = mapped_column(String(60))
    discharge_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    discharge_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source: Mapped[str] = mapped_column(String(300), default="idiograph")
    source_id: Mapped[str] = mapped_column(String(200), default=lambda: str(new_id()))


class Condition(Base):
    __tablename__ = "condition"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_condition_source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(100))
    display: Mapped[str] = mapped_column(String(300))
    clinical_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    onset: Mapped[datetime | None] = mapped_column(nullable=True)
    abatement: Mapped[datetime | None] = mapped_column(nullable=True)
    source: Mapped[str] = mapped_column(String(300))
    source_id: Mapped[str] = mapped_column(String(200))


class Encounter(Base):
    """A contact with the service (FHIR Encounter)."""

    __tablename__ = "encounter"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_encounter_source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    class_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    type_system: Mapped[str | None] = mapped_column(String(300), nullable=True)
    type_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    type_display: Mapped[str | None] = mapped_column(String(300), nullable=True)
    start: Mapped[datetime | None] = mapped_column(nullable=True)
    end: Mapped[datetime | None] = mapped_column(nullable=True)
    source: Mapped[str] = mapped_column(String(300))
    source_id: Mapped[str] = mapped_column(String(200))


class BreakGlassGrant(Base):
    """Time-limited emergency access to a record outside one's caseload, always reviewed afterwards."""

    __tablename__ = "break_glass_grant"
    __table_args__ = (Index("ix_break_glass_user_person", "user_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
