"""An alert: raised by a rule, seen, acted on (with a note), closed — every step by a named person."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("kind", "source_key", name="uq_alert_source"),
        Index("ix_alert_person_status", "person_id", "status"),
        Index("ix_alert_group", "group_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # alerts.kinds.Kind
    status: Mapped[str] = mapped_column(String(20), default="raised")  # alerts.kinds.Status
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    source_key: Mapped[str] = mapped_column(String(300))  # what raised it, so the same answer never alerts twice
    # alerts sharing a group key stay one while it is open (one not-on-track alert per episode and instrument)
    group_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acted_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    acted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    action_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
