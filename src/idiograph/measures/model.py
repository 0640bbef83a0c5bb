"""A completed questionnaire: its answers live in the observation store as items plus total."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id


class QuestionnaireResponseRecord(Base):
    __tablename__ = "questionnaire_response"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_qr_source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    instrument: Mapped[str] = mapped_column(String(40))
    authored_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[int | None] = mapped_column(nullable=True)
    prorated: Mapped[bool] = mapped_column(default=False)
    # safety items left unanswered (their codes): shown as "not answered" wherever the response appears
    safety_unanswered: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(300))
    source_id: Mapped[str] = mapped_column(String(200))


class SelfReportLink(Base):
    """A single-use, expiring link that lets a person fill in one questionnaire without an account.

    Only the SHA-256 of the token is stored: the link itself is shown once, to the clinician who made it."""

    __tablename__ = "self_report_link"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode.id", ondelete="SET NULL"), nullable=True)
    instrument: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    response_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
