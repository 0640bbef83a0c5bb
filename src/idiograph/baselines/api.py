"""Routes for personal baselines: a person's setpoints and intervals, measure by measure."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from idiograph.baselines import service
from idiograph.baselines.intervals import Interval
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["baselines"])


class IntervalOut(BaseModel):
    setpoint: float
    lower: float
    upper: float
    coverage: float
    n: int
    method: str
    personal: bool

    @classmethod
    def of(cls, iv: Interval | None) -> IntervalOut | None:
        if iv is None:
            return None
        return cls(
            setpoint=iv.setpoint,
            lower=iv.lower,
            upper=iv.upper,
            coverage=iv.coverage,
            n=iv.n,
            method=iv.method,
            personal=iv.personal,
        )


class ReferenceChange(BaseModel):
    symmetric_percent: float
    up_percent: float
    down_percent: float


class BaselineOut(BaseModel):
    system: str
    code: str
    display: str
    unit: str
    kind: str
    n: int
    personal: IntervalOut | None
    population: IntervalOut | None
    note: str
    latest_value: float | None
    latest_at: datetime | None
    latest_outside: bool | None
    reference_change: ReferenceChange | None


@router.get("/people/{person_id}/baselines", response_model=list[BaselineOut])
def person_baselines(
    person_id: uuid.UUID,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[BaselineOut]:
    """Each measure's personalised reference interval for the next result, beside the population interval."""
    return [
        BaselineOut(
            system=b.system,
            code=b.code,
            display=b.display,
            unit=b.unit,
            kind=b.kind,
            n=b.n,
            personal=IntervalOut.of(b.personal),
            population=IntervalOut.of(b.population),
            note=b.note,
            latest_value=b.latest_value,
            latest_at=b.latest_at,
            latest_outside=b.latest_outside,
            reference_change=ReferenceChange(symmetric_percent=b.rcv[0], up_percent=b.rcv[1], down_percent=b.rcv[2])
            if b.rcv
            else None,
        )
        for b in service.for_person(db, p, person_id)
    ]
