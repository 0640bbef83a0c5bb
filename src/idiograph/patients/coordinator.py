"""The care coordinator: the named member of staff who leads a person's care on a team (the caseload's lead).

Today's "people I care-coordinate" and the person page's header read it; a member of the person's team with write
access sets or clears it, audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import invalid
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import audit
from idiograph.security.model import Team, TeamMembership, User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

# roles that may lead a person's care
COORDINATING_ROLES = ("clinician", "care_coordinator", "senior_clinician")


@dataclass(frozen=True)
class Coordinator:
    user_id: uuid.UUID
    name: str
    username: str
    role: str
    team: str


def current(session: Session, person_id: uuid.UUID) -> Coordinator | None:
    """The person's care coordinator on any of their teams (the first team's, by name), or None."""
    q = (
        select(User.id, User.display_name, User.username, User.role, Team.name)
        .join(CaseloadAssignment, CaseloadAssignment.lead_user_id == User.id)
        .join(Team, Team.id == CaseloadAssignment.team_id)
        .where(CaseloadAssignment.person_id == person_id)
        .order_by(Team.name)
        .limit(1)
    )
    row = session.execute(q).one_or_none()
    return Coordinator(*row) if row else None


def candidates(session: Session, principal: Principal, person_id: uuid.UUID) -> list[Coordinator]:
    """Active staff who may coordinate the person's care: members of the person's teams in a coordinating role."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    q = (
        select(User.id, User.display_name, User.username, User.role, Team.name)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .join(Team, Team.id == TeamMembership.team_id)
        .join(CaseloadAssignment, CaseloadAssignment.team_id == Team.id)
        .where(
            CaseloadAssignment.person_id == person_id,
            User.active.is_(True),
            User.role.in_(COORDINATING_ROLES),
        )
        .order_by(User.display_name)
    )
    return [Coordinator(*row) for row in session.execute(q)]


def assign(session: Session, principal: Principal, person_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
    """Make ``user_id`` the person's care coordinator on their shared team (None clears it on every team)."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    rows = list(session.scalars(select(CaseloadAssignment).where(CaseloadAssignment.person_id == person_id)))
    if user_id is None:
        for r in rows:
            r.lead_user_id = None
        chosen = None
    else:
        fit = {c.user_id: c for c in candidates(session, principal, person_id)}
        if user_id not in fit:
            raise invalid("user_id", "must be an active clinician or care coordinator on one of the person's teams")
        teams = set(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user_id)))
        chosen = fit[user_id]
        for r in rows:
            if r.team_id in teams:  # another team's own coordinator is theirs to change
                r.lead_user_id = user_id
    session.flush()
    audit.append(
        session,
        principal.actor,
        "update",
        "CareCoordinator",
        str(user_id) if user_id else None,
        person_id,
        detail={"care_coordinator": chosen.username if chosen else None},
    )
