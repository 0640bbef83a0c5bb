"""Population priors per measure (and stratum), and each person's running baseline state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class BaselinePrior(Base):
    """Normal-normal population parameters (model scale) fitted on the service's own results."""

    __tablename__ = "baseline_prior"
    __table_args__ = (Index("ix_baseline_prior_code", "system", "code", "active"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(20), default="")  # "" = everyone
    age_band: Mapped[str] = mapped_column(String(20), default="")  # "" = every age
    scale: Mapped[str] = mapped_column(String(10), default="linear")
    m0: Mapped[float] = mapped_column()
    tau2: Mapped[float] = mapped_column()
    sigma2: Mapped[float] = mapped_column()
    people: Mapped[int] = mapped_column()
    results: Mapped[int] = mapped_column()
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    fitted_by: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)


class BaselineState(Base):
    """What the incremental judgement needs about one person's measure, updated as each result arrives.

    Sums are on the model scale (ln for log-scale measures). The EWMA baseline is fixed once the person
    has ``baseline_results`` results, and the chart runs from then on. A state exists only for measures
    with a prior, and carries it."""

    __tablename__ = "baseline_state"
    __table_args__ = (UniqueConstraint("person_id", "system", "code", name="uq_baseline_state"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(default=0)
    total: Mapped[float] = mapped_column(default=0.0)
    total_sq: Mapped[float] = mapped_column(default=0.0)
    latest_at: Mapped[datetime | None] = mapped_column(nullable=True)
    latest_value: Mapped[float | None] = mapped_column(nullable=True)
    ewma_mu0: Mapped[float | None] = mapped_column(nullable=True)
    ewma_sigma: Mapped[float | None] = mapped_column(nullable=True)
    ewma_z: Mapped[float] = mapped_column(default=0.0)
    ewma_v: Mapped[float] = mapped_column(default=0.0)
    # The prior in force for this person and measure (rebuilt whenever priors are refitted), so that judging
    # a new result reads this one row.
    prior_m0: Mapped[float | None] = mapped_column(nullable=True)
    prior_tau2: Mapped[float | None] = mapped_column(nullable=True)
    prior_sigma2: Mapped[float | None] = mapped_column(nullable=True)
    prior_scale: Mapped[str] = mapped_column(String(10), default="linear")
    prior_people: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
