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

# The kinds of team a service reports apart (issue 19). NHS Talking Therapies KPIs cover "talking_therapies"
# (reporting/kpis.yaml talking_therapies_kinds); every other kind is a community team kind, reported apart.
KINDS = (
    "talking_therapies",
    "cmht",
    "crisis",
    "early_intervention",
    "older_adults",
    "perinatal",
    "eating_disorders",
    "inpatient",
    "other",
)


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise invalid("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    return kind


def team_by_name(session: Session, name: str, create: bool = False, kind: str | None = None) -> Team:
    """The team of that name; with ``create``, made when missing (of ``kind``, when given)."""
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        if not create:
            raise invalid("team", f"no team named {name!r}")
        team = Team(name=name, kind=check_kind(kind))
        session.add(team)
        session.flush()
    return team


def create_team(session: Session, principal: Principal, name: str, kind: str | None = None) -> Team:
    principal.require(Permission.USER_MANAGE)
    check_kind(kind)
    if session.scalar(select(Team.id).where(Team.name == name)):
        raise Conflict(f"a team named {name!r} exists", [FieldProblem("name", "already in use")])
    team = Team(name=name, kind=kind)
    session.add(team)
    session.flush()
    audit.append(session, principal.actor, "create", "Team", str(team.id), None, detail={"name": name, "kind": kind})
    return team


def set_kind(session: Session, principal: Principal, name: str, kind: str | None) -> Team:
    """Say what kind of team it is (None: not said); audited with the kind it had."""
    principal.require(Permission.USER_MANAGE)
    check_kind(kind)
    team = team_by_name(session, name)
    before, team.kind = team.kind, kind
    session.flush()
    audit.append(session, principal.actor, "update", "Team", str(team.id), None, detail={"kind": kind, "was": before})
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
