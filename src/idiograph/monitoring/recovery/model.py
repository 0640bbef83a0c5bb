"""Fitted expected-recovery models."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class RecoveryModel(Base):
    """A fitted expected-recovery model (curve or nearest-neighbour) for one instrument; one active per kind."""

    __tablename__ = "recovery_model"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instrument: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # curve | nn
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    fitted_by: Mapped[str] = mapped_column(String(120))
    n_episodes: Mapped[int] = mapped_column()
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
