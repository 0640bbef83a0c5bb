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


def caseload(
    session: Session,
    principal: Principal,
    sort: SortKey = "name",
    descending: bool = False,
    limit: int = 500,
    via: str = "api",
) -> list[CaseloadRow]:
    """People on the principal's teams' caseloads, with their open episode and latest measure."""
    principal.require(Permission.PERSON_READ)
    latest = (
        select(Observation.person_id, func.max(Observation.effective_at).label("latest"))
        .group_by(Observation.person_id)
        .subquery()
    )
    open_ep = (
        select(Episode.person_id, func.max(Episode.pathway).label("pathway"))
        .where(Episode.discharge_date.is_(None))
        .group_by(Episode.person_id)
        .subquery()
    )
    q = (
        select(Person, Team.name, open_ep.c.pathway, latest.c.latest)
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Person.id)
        .join(Team, Team.id == CaseloadAssignment.team_id)
        .outerjoin(open_ep, open_ep.c.person_id == Person.id)
        .outerjoin(latest, latest.c.person_id == Person.id)
        .where(CaseloadAssignment.team_id.in_(principal.team_ids))
    )
    order = {
        "name": (Person.family_name, Person.given_name),
        "birth_date": (Person.birth_date,),
        "latest": (latest.c.latest,),
        "team": (Team.name, Person.family_name),
    }[sort]
    q = q.order_by(*[(c.desc() if descending else c.asc()) for c in order], Person.id).limit(limit)
    rows = session.execute(q).all()
    today = date.today()
    out = [
        CaseloadRow(
            id=p.id,
            given_name=p.given_name,
            family_name=p.family_name,
            birth_date=p.birth_date,
            age_band=age_band(p.birth_date, today),
            nhs_number=p.nhs_number,
            team=team,
            open_episode=pathway,
            latest_observation_at=lt,
        )
        for p, team, pathway, lt in rows
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
