"""Recorded reviews."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class EpisodeReview(Base):
    """A formal review recorded for an episode at one of its scheduled weeks."""

    __tablename__ = "episode_review"
    __table_args__ = (UniqueConstraint("episode_id", "week", name="uq_review_week"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column()
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_by: Mapped[str] = mapped_column(String(120))
    completed_profession: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text)
    baseline: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # intake and latest scores then
