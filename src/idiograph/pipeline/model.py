"""A statistical rule that failed on stored observations: kept until a retry succeeds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idiograph.db import Base, new_id, utcnow


class RuleFailure(Base):
    __tablename__ = "rule_failure"
    __table_args__ = (Index("ix_rule_failure_open", "resolved_at", "failed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(60))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str] = mapped_column(Text)  # exception type and message, never patient data
    people: Mapped[list[str]] = mapped_column(JSON, default=list)  # person ids
    observations: Mapped[list[str]] = mapped_column(JSON, default=list)  # observation ids the rule did not judge
    attempts: Mapped[int] = mapped_column(default=1)
    last_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(120), nullable=True)


class RuleHold(Base):
    """While a rule's failure is open for a person, that rule judges none of their later results: they join the
    failure and are judged with it, in time order. (A later result judged first would make the failed one
    'late' - and a late result rebuilds the baseline without being judged.)"""

    __tablename__ = "rule_hold"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(60), primary_key=True)
    failure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rule_failure.id", ondelete="CASCADE"), primary_key=True, index=True
    )
