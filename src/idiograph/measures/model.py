"""A completed questionnaire: its answers live in the observation store as items plus total."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint, false
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
    # An adaptive short form (issue 18): only some items were asked, so there is no total, only an ESTIMATE of
    # the full-form total with its 95% interval and the decision at the cut. Never a plain total: no total
    # observation is stored, so outcome metrics, reliable change and recovery count full forms only (H-105).
    adaptive: Mapped[bool] = mapped_column(default=False, server_default=false())
    adaptive_asked: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # item codes in the order asked
    estimate: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimate_lower: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimate_upper: Mapped[float | None] = mapped_column(Float, nullable=True)
    adaptive_cut: Mapped[int | None] = mapped_column(Integer, nullable=True)
    adaptive_p_above: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)  # "above" | "below" the cut
    stop_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    bank_version: Mapped[str | None] = mapped_column(String(120), nullable=True)


# A full form's adaptive columns, for bulk inserts (which run no Python-side defaults)
FULL_FORM: dict[str, object] = {
    "adaptive": False,
    "adaptive_asked": None,
    "estimate": None,
    "estimate_lower": None,
    "estimate_upper": None,
    "adaptive_cut": None,
    "adaptive_p_above": None,
    "decision": None,
    "stop_reason": None,
    "bank_version": None,
}


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
    mode: Mapped[str] = mapped_column(String(20), default="full", server_default="full")  # "full" | "adaptive"
    # adaptive: the answers so far, [[item code, value], ...] in the order asked, and a step counter that lets
    # exactly one of two simultaneous answers to the same question through
    progress: Mapped[list[list[object]] | None] = mapped_column(JSON, nullable=True)
    step: Mapped[int] = mapped_column(default=0, server_default="0")


class ExperienceResponse(Base):
    """A person's answers to an experience-of-choice form (issue 19), sent through a self-report link after the
    assessment or at discharge. Answers about the service, not observations of the person: kept apart from the
    observation store (docs/decisions/0012-experience-answers-kept-apart.md)."""

    __tablename__ = "experience_response"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode.id", ondelete="SET NULL"), nullable=True)
    link_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("self_report_link.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    form: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))  # experience.yaml's version when answered
    answers: Mapped[dict[str, str]] = mapped_column(JSON)  # item code -> answer code; skipped items absent
    authored_at: Mapped[datetime] = mapped_column(index=True)
