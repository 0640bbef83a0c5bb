"""Request and response types for observations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from idiograph.instruments.definitions import LOINC
from idiograph.schema_base import Strict

MAX_BATCH = 5000


class ObservationIn(Strict):
    person_id: uuid.UUID
    system: str = Field(default=LOINC, min_length=1, max_length=300)
    code: str = Field(min_length=1, max_length=100)
    value: float = Field(allow_inf_nan=False)
    unit: str | None = Field(default=None, max_length=40, description="UCUM; defaults to the code's unit")
    time: AwareDatetime
    source: str = Field(default="api", min_length=1, max_length=300)
    source_id: str | None = Field(
        default=None,
        max_length=200,
        description="the record's id in its source; re-sending it updates, never duplicates",
    )
    episode_id: uuid.UUID | None = None


class ObservationBatch(Strict):
    observations: list[ObservationIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestResult(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    people: int = 0
    checks_not_run: list[str] = Field(
        default_factory=list,
        description="statistical checks that have not judged some of these results yet: one failed, or is "
        "paused for the person by an earlier failure; stored all the same, safety checked, and judged when an "
        "administrator's retry succeeds",
    )


class CsvImportResult(IngestResult):
    people_created: int = 0


class ObservationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID | None
    system: str
    code: str
    value: float
    unit: str
    effective_at: datetime
    source: str
    source_id: str
    group_id: uuid.UUID | None


class CodeOut(BaseModel):
    system: str
    code: str
    display: str
    unit: str
    kind: str
    min: float | None = None
    max: float | None = None
