"""Decisions with rationale, and escalations awaiting approval."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class Decision(Base):
    """A change to someone's care: who, when, what, why, what it was based on, and under which policy."""

    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_person_at", "person_id", "decided_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    change: Mapped[str] = mapped_column(String(40))  # appointment.time | ... | crisis_plan | discharge
    summary: Mapped[str] = mapped_column(String(300))  # what, in words
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # what to apply
    rationale: Mapped[str] = mapped_column(Text)
    based_on: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # observations, alerts, risk
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_role: Mapped[str] = mapped_column(String(40))
    requested_profession: Mapped[str | None] = mapped_column(String(40), nullable=True)  # psychiatrist, GP, ...
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # applied | pending | rejected
    authority: Mapped[str] = mapped_column(String(20))  # delegated | pending | approved | rejected
    policy_version: Mapped[str] = mapped_column(String(40))
    policy_reason: Mapped[str] = mapped_column(Text)


class Escalation(Base):
    __tablename__ = "escalation"
    __table_args__ = (Index("ix_escalation_status_due", "status", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    to_role: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | rejected
    answered_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answer_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # re-escalation when overdue (policy ``overdue``): level 2 once re-escalated, never again
    level: Mapped[int] = mapped_column(default=1, server_default="1")
    escalated_to: Mapped[str | None] = mapped_column(String(40), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    escalated_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    escalated_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class GovernanceReview(Base):
    """A senior clinician's regular review of a team's decisions under delegated authority and its escalations for
    one period (the period is data: ``policy.yaml`` ``review``), signed off once with notes."""

    __tablename__ = "governance_review"
    __table_args__ = (UniqueConstraint("team_id", "period_start", name="uq_governance_review_team_period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()  # the last day of the period
    status: Mapped[str] = mapped_column(String(20), default="signed_off")  # signed_off (a row exists once signed)
    signed_by: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # what was reviewed, as signed
