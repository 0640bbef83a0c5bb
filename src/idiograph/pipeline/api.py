"""Routes for administrators: the statistical rules that failed on stored data, and retrying them."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.pipeline import failures
from idiograph.schema_base import Strict
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["operations"])


class FailureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule: str
    failed_at: datetime
    error: str
    people: list[str]
    observations: list[str]
    attempts: int
    last_attempt_at: datetime


class RetryIn(Strict):
    ids: list[uuid.UUID] | None = Field(default=None, max_length=1000, description="default: every open failure")


class RetryOut(BaseModel):
    tried: int
    resolved: int
    still_failing: int


@router.get("/rule-failures", response_model=list[FailureOut])
def open_failures(db: Session = DB, p: Principal = Depends(require(Permission.SYSTEM_OPERATE))) -> list[FailureOut]:
    """Statistical rules that failed on stored observations and have not yet run (the data and any safety alert
    were stored; the rule's judgement is missing until a retry succeeds)."""
    return [FailureOut.model_validate(f) for f in failures.open_failures(db, p)]


@router.post("/rule-failures/retry", response_model=RetryOut)
def retry(body: RetryIn, db: Session = DB, p: Principal = Depends(require(Permission.SYSTEM_OPERATE))) -> RetryOut:
    r = failures.retry(db, p.actor, body.ids)
    return RetryOut(tried=r.tried, resolved=r.resolved, still_failing=r.still_failing)
