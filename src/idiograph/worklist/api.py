"""The caseload through the API: paged, searched, filtered and sorted by clinical priority."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.worklist import service
from idiograph.worklist.priority import TIER_LABELS, words

router = APIRouter(prefix="/api/v1", tags=["people"])


class LatestScoreOut(BaseModel):
    instrument: str
    value: float
    band: str
    at: datetime
    caseness: bool | None


class ReasonOut(BaseModel):
    tier: int
    text: str
    since: datetime | date | None
    count: int


class PersonRowOut(BaseModel):
    """A person on your teams: the caseload's fields, then their clinical priority (1 most urgent, 9 nothing due)
    and the reasons for it, most urgent first."""

    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date | None
    age_band: str
    nhs_number: str | None
    team: str
    open_episode: str | None
    latest_observation_at: datetime | None
    discharged: bool
    care_coordinator: str | None
    priority: int
    priority_label: str
    reasons: list[str]
    reason_detail: list[ReasonOut]
    open_alerts: dict[str, int]
    latest_score: LatestScoreOut | None


class PeoplePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PersonRowOut]


def row_out(r: service.Row) -> PersonRowOut:
    s = r.latest_score
    return PersonRowOut(
        id=r.id,
        given_name=r.given_name,
        family_name=r.family_name,
        birth_date=r.birth_date,
        age_band=r.age_band,
        nhs_number=r.nhs_number,
        team=r.team,
        open_episode=r.open_episode,
        latest_observation_at=r.latest_observation_at,
        discharged=r.discharged,
        care_coordinator=r.care_coordinator,
        priority=int(r.priority.tier),
        priority_label=TIER_LABELS[r.priority.tier],
        reasons=words(r.priority),
        reason_detail=[
            ReasonOut(tier=int(x.tier), text=x.text, since=x.since, count=x.count) for x in r.priority.reasons
        ],
        open_alerts=r.open_alerts,
        latest_score=LatestScoreOut(instrument=s.instrument, value=s.value, band=s.band, at=s.at, caseness=s.caseness)
        if s
        else None,
    )


@router.get("/people", response_model=PeoplePage)
def people(
    q: str | None = Query(
        default=None, max_length=200, description="name, NHS number, local identifier or date of birth"
    ),
    status: service.Status = Query(
        default="open", description="open (not discharged; people with a safety reason always shown), discharged, all"
    ),
    mine: bool = Query(default=False, description="only people whose care coordinator you are"),
    alert: Kind | None = Query(default=None, description="only people with an open alert of this kind"),
    pathway: str | None = Query(default=None, max_length=60),
    review: service.ReviewFilter | None = Query(default=None, description="due (or overdue), overdue"),
    attention: bool = Query(default=False, description="only people with a reason for attention (Today)"),
    sort: service.SortKey = "priority",
    desc: bool = False,
    limit: int = Query(default=service.PAGE, ge=1, le=service.MAX_PAGE),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> PeoplePage:
    """Everyone on your teams' caseloads, most urgent first by default, one page at a time with the total."""
    query = service.Query(
        q=q or None,
        status=status,
        mine=mine,
        alert=alert.value if alert else None,
        pathway=pathway,
        review=review,
        attention=attention,
        sort=sort,
        descending=desc,
        limit=limit,
        offset=offset,
    )
    page = service.caseload(db, p, query)
    return PeoplePage(total=page.total, limit=limit, offset=offset, items=[row_out(r) for r in page.items])
