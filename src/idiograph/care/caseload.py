"""A team's caseload: the people on the principal's teams, with their open episode and latest measure."""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.observations.model import Observation
from idiograph.patients.demographics import age_band
from idiograph.patients.model import CaseloadAssignment, Episode, Person
from idiograph.patients.schema import CaseloadRow
from idiograph.security import audit
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

SortKey = Literal["name", "birth_date", "latest", "team"]
LIMIT = 500  # people listed at most; a page listing fewer than ``size`` says so


def caseload(
    session: Session,
    principal: Principal,
    sort: SortKey = "name",
    descending: bool = False,
    limit: int | None = None,
    via: str = "api",
) -> list[CaseloadRow]:
    """People on the principal's teams' caseloads, with their open episode and latest measure (at most
    ``limit``, by default ``LIMIT``; ``size`` says how many there are)."""
    principal.require(Permission.PERSON_READ)
    limit = limit or LIMIT
    # each person's latest result, looked up per person on (person_id, effective_at): grouping the whole store
    # grew with every result the service ever stored (most of a caseload request's time)
    latest = (
        select(func.max(Observation.effective_at))
        .where(Observation.person_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
        .label("latest")
    )
    open_ep = (
        select(Episode.person_id, func.max(Episode.pathway).label("pathway"))
        .where(Episode.discharge_date.is_(None))
        .group_by(Episode.person_id)
        .subquery()
    )
    q = (
        select(
            Person.id,
            Person.given_name,
            Person.family_name,
            Person.birth_date,
            Person.nhs_number,
            Team.name,
            open_ep.c.pathway,
            latest,
        )
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Person.id)
        .join(Team, Team.id == CaseloadAssignment.team_id)
        .outerjoin(open_ep, open_ep.c.person_id == Person.id)
        .where(CaseloadAssignment.team_id.in_(principal.team_ids))
    )
    order = {
        "name": (Person.family_name, Person.given_name),
        "birth_date": (Person.birth_date,),
        "latest": (latest,),
        "team": (Team.name, Person.family_name),
    }[sort]
    q = q.order_by(*[(c.desc() if descending else c.asc()) for c in order], Person.id).limit(limit)
    rows = session.execute(q).all()
    today = date.today()
    out = [
        CaseloadRow(
            id=pid,
            given_name=given,
            family_name=family,
            birth_date=born,
            age_band=age_band(born, today),
            nhs_number=nhs,
            team=team,
            open_episode=pathway,
            latest_observation_at=lt,
        )
        for pid, given, family, born, nhs, team, pathway, lt in rows
    ]
    audit.append(
        session,
        principal.actor,
        "list",
        "Caseload",
        None,
        None,
        detail={"via": via, "people": [str(r.id) for r in out]},
    )
    return out


def size(session: Session, principal: Principal) -> int:
    """How many people are on the principal's teams' caseloads (a page showing fewer must say so)."""
    principal.require(Permission.PERSON_READ)
    q = select(func.count(func.distinct(CaseloadAssignment.person_id))).where(
        CaseloadAssignment.team_id.in_(principal.team_ids)
    )
    return session.scalar(q) or 0
