"""Bulk Data exports: one row per asynchronous ``$export`` request, its state and its files."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class BulkExport(Base):
    """Requested by one user (or the operator) for one scope; its NDJSON files live in ``export_dir/<id>/``."""

    __tablename__ = "bulk_export"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    requested_by: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    scope: Mapped[str] = mapped_column(String(20))  # service | team | caseload
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), nullable=True)
    types: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed|cancelled
    progress: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    transaction_time: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    files: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)  # [{type, name, count}]
