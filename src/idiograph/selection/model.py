"""The service's fitted treatment-selection models, versioned; one is active."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class SelectionModel(Base):
    """A fitted options model (``selection.learner.OptionsLearner.to_dict``) with who fitted it, when and on what."""

    __tablename__ = "selection_model"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(60))
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    fitted_by: Mapped[str] = mapped_column(String(120))
    n_episodes: Mapped[int] = mapped_column()
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
