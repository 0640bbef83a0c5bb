"""The observation store and the codes learnt from imports."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class Observation(Base):
    """One measured value of one code for one person at one time, from one source."""

    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint("source_id", "source", name="uq_observation_source"),  # selective column first
        Index("ix_observation_person_code_time", "person_id", "system", "code", "effective_at"),
        Index("ix_observation_person_time", "person_id", "effective_at"),  # a person's latest result (caseload)
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode.id", ondelete="SET NULL"), nullable=True)
    system: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    effective_at: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(300))
    source_id: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120))


class ObservationCode(Base):
    """A code first met in an import (FHIR carries its own display and unit); shipped codes are in files."""

    __tablename__ = "observation_code"

    system: Mapped[str] = mapped_column(String(300), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    display: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40), default="imported")
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
