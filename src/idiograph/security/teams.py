"""Teams and their members: who works in which team (caseloads are the patients capability's)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.errors import Conflict, FieldProblem, invalid
from idiograph.security import audit
from idiograph.security.model import Team, TeamMembership
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def team_by_name(session: Session, name: str, create: bool = False) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        if not create:
            raise invalid("team", f"no team named {name!r}")
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def create_team(session: Session, principal: Principal, name: str) -> Team:
    principal.require(Permission.USER_MANAGE)
    if session.scalar(select(Team.id).where(Team.name == name)):
        raise Conflict(f"a team named {name!r} exists", [FieldProblem("name", "already in use")])
    team = Team(name=name)
    session.add(team)
    session.flush()
    audit.append(session, principal.actor, "create", "Team", str(team.id), None, detail={"name": name})
    return team


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def add_member(session: Session, user_id: uuid.UUID, team_id: uuid.UUID) -> None:
    if session.get(TeamMembership, (user_id, team_id)) is None:
        session.add(TeamMembership(user_id=user_id, team_id=team_id))
        try:
            session.flush()
        except IntegrityError as exc:
            raise invalid("team", "unknown user or team") from exc
