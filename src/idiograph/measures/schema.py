"""Request and response bodies for questionnaires."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from idiograph.schema_base import Strict


class AnswerOptionOut(BaseModel):
    code: str
    value: int
    display: str


class ItemOut(BaseModel):
    code: str
    text: str
    safety: bool
    reverse: bool
    options: list[AnswerOptionOut]


class BandOut(BaseModel):
    min: int
    max: int
    label: str


class InstrumentOut(BaseModel):
    id: str
    title: str
    citation: str
    licence: str
    url: str
    preamble: str
    item_system: str
    total_system: str
    total_code: str
    min_total: int
    max_total: int
    items: list[ItemOut]
    bands: list[BandOut]
    missing_rule: str
    caseness_min: int | None
    reliable_change_points: float | None = Field(
        description="the smallest reliable change in points: the national criterion where there is one (PHQ-9 6, "
        "GAD-7 4), otherwise Jacobson-Truax 1.96 x Sdiff"
    )


class ResponseIn(Strict):
    instrument: str = Field(min_length=1, max_length=40)
    answers: dict[str, int | None] = Field(description="item code -> answer value (null for unanswered)")
    authored: datetime | None = None
    episode_id: uuid.UUID | None = None


class RecordedOut(BaseModel):
    response_id: uuid.UUID
    instrument: str
    total: int | None
    band: str | None
    prorated: bool
    missing: list[str]
    safety_positive: list[str]
    safety_unanswered: list[str] = Field(description="safety items left unanswered: the team is prompted to ask")
    alerts_raised: int


class LinkIn(Strict):
    instrument: str = Field(min_length=1, max_length=40)
    valid_hours: int = Field(default=72, ge=1, le=24 * 14)
    episode_id: uuid.UUID | None = None
    mode: Literal["full", "adaptive", "experience"] = Field(
        default="full",
        description="'adaptive' sends the adaptive short form: one question at a time, the safety item first, "
        "stopping when the decision at the cut is made; it records an ESTIMATE of the total, never a total. "
        "'experience' sends an experience-of-choice form named by `instrument` (peq-assessment, peq-discharge)",
    )


class LinkOut(BaseModel):
    id: uuid.UUID
    instrument: str
    mode: str = "full"
    url: str = Field(description="shown once: only a hash of the token is kept")
    expires_at: datetime


class ChangeOut(BaseModel):
    instrument: str
    title: str
    first: float
    latest: float
    n: int
    change: float
    rci: float | None = Field(description="Jacobson-Truax index; null where a national criterion in points decides")
    reliable_change_points: float | None
    direction: str | None
    method: str | None
    caseness_at_first: bool | None
    caseness_at_latest: bool | None


COMPLETE_NOTE = (
    "adaptive short form that asked every question: its total is a full-form total and counts as one in reliable "
    "change, recovery and outcomes"
)


class AdaptiveOut(BaseModel):
    """An adaptive short form's result: an ESTIMATE of the full-form total, never a total."""

    asked: list[str] = Field(description="item codes in the order asked")
    estimate: float | None = Field(description="estimated full-form total (posterior predictive mean)")
    lower: float | None = Field(description="95% interval of the full-form total")
    upper: float | None
    cut: int | None
    p_above: float | None = Field(description="probability that the full-form total is at or above the cut")
    decision: str | None = Field(description="'above' (at or above the cut) or 'below'")
    stopped: str | None = Field(description="why it stopped; null while the person has not finished")
    bank_version: str | None
    note: str = "adaptive short form: an estimate, not a total; not counted in reliable change, recovery or outcomes"


class ResponseOut(BaseModel):
    id: uuid.UUID
    instrument: str
    authored: datetime
    status: str
    total: int | None = Field(description="null for an adaptive short form (see adaptive.estimate)")
    prorated: bool
    safety: list[str] = Field(description="what the response says about its safety items")
    adaptive: AdaptiveOut | None = None
