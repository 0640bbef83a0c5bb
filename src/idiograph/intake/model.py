"""The intake record: one per episode, under the definition version it was made with; each section's answers
with who contributed it (and in which profession), and the person's goals with every rating over time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class IntakeRecord(Base):
    """``answers``: {section id: {field id: value}} (the goals section's goals live in ``goals``);
    ``contributions``: {section id: {"by", "name", "profession", "at"}}; ``goals``: [{"goal": words,
    "ratings": [{"date", "rating", "by"}, ...]}], the first rating the one given at intake."""

    __tablename__ = "intake_record"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_intake_source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"), unique=True)
    definition_id: Mapped[str] = mapped_column(String(40))
    definition_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contributions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    psychosocial_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(300), default="idiograph")
    source_id: Mapped[str] = mapped_column(String(200), default=lambda: str(new_id()))
