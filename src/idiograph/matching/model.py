"""The therapists a service allocates to, who was allocated to whom (and by which decision), and the therapy plan
the person reads before their first session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class Therapist(Base):
    """Someone people can be allocated to: team, what they offer, and their free places now.

    ``code`` is the service's own staff code (the synthetic service's clinician id in the demo); ``user_id`` links
    the therapist to their login so that they see their own strengths profile."""

    __tablename__ = "therapist"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id"), nullable=True, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True, unique=True)
    profession: Mapped[str | None] = mapped_column(String(40), nullable=True)
    gender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    places: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # free places for new people now
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Allocation(Base):
    """A person's episode allocated to a therapist. ``decision_id`` is the governed decision that made it (None only
    for history loaded from another system); ``suggested_id`` is what the match suggested, so an override stays
    visible beside the suggestion."""

    __tablename__ = "allocation"
    __table_args__ = (Index("ix_allocation_person_current", "person_id", "current"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("therapist.id"), index=True)
    suggested_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("therapist.id"), nullable=True)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decision.id"), nullable=True)
    strength: Mapped[float | None] = mapped_column(Float, nullable=True)  # the estimate shown when allocating
    current: Mapped[bool] = mapped_column(default=True)
    allocated_by: Mapped[str] = mapped_column(String(120))
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(300), default="idiograph")


class TherapyPlan(Base):
    """The plan the person reads before the first session (one version per allocation or change), and their
    answer: accepted, or a change asked for (which arrives as a task for the team)."""

    __tablename__ = "therapy_plan"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"))
    allocation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allocation.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    current: Mapped[bool] = mapped_column(default=True)
    content: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed | accepted | change_requested
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answer_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class TherapistStrength(Base):
    """A therapist's estimated strength in one problem domain, as last fitted on the service's finished episodes
    (``matching.service.fit_strengths``): the ranking and the batch read these; refitting replaces them all."""

    __tablename__ = "therapist_strength"

    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(40), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    strength: Mapped[float] = mapped_column(Float)  # PHQ-9 points better than expected, shrunk; 0 = service mean
    se: Mapped[float] = mapped_column(Float)
    lower: Mapped[float] = mapped_column(Float)
    upper: Mapped[float] = mapped_column(Float)
    klass: Mapped[str] = mapped_column(String(20))  # strengths.CLASSES
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    settings_version: Mapped[str] = mapped_column(String(40))
