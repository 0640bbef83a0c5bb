"""A completed questionnaire: its answers live in the observation store as items plus total."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
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
    source: Mapped[str] = mapped_column(String(300))
    source_id: Mapped[str] = mapped_column(String(200))
