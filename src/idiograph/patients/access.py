"""Who may open whose record: staff on the person's team caseload, or break-the-glass with a reason."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from idiograph.db import read_only, utcnow
from idiograph.errors import Forbidden, NotFound
from idiograph.patients.model import BreakGlassGrant, CaseloadAssignment, Person
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def access_basis(session: Session, principal: Principal, person_id: uuid.UUID) -> str | None:
    """``caseload``, ``break-glass`` or ``system`` when the principal may open the record, else None. In a
    read-only snapshot the answer cannot change, so it is asked once per person (a page asked it six times)."""
    if principal.is_system:
        return "system"
    if not read_only(session):
        return _access_basis(session, principal, person_id)
    memo: dict[tuple[object, ...], str | None] = session.info.setdefault("access_basis", {})
    key = (principal.user_id, principal.team_ids, person_id)
    if key not in memo:
        memo[key] = _access_basis(session, principal, person_id)
    return memo[key]


def _access_basis(session: Session, principal: Principal, person_id: uuid.UUID) -> str | None:
    if principal.team_ids and session.scalar(
        select(
            exists().where(
                CaseloadAssignment.person_id == person_id,
                CaseloadAssignment.team_id.in_(principal.team_ids),
            )
        )
    ):
        return "caseload"
    if principal.user_id and session.scalar(
        select(
            exists().where(
                BreakGlassGrant.user_id == principal.user_id,
                BreakGlassGrant.person_id == person_id,
                BreakGlassGrant.expires_at > utcnow(),
            )
        )
    ):
        return "break-glass"
    return None


def may_import_into(session: Session, principal: Principal, person_id: uuid.UUID, where: str = "person") -> None:
    """The one rule for every path that finds an existing person and writes to them (API, CSV, FHIR, demo,
    synthetic load): staff only into a record they may open now (their caseload, or break-the-glass); a bulk
    loader without person access (administrators) and the operator at the command line may load any, but only
    the operator may add an existing person to a caseload (``may_widen_caseload``). Found: a CSV import matched
    another team's person by NHS number, rewrote them and joined them to the importer's caseload."""
    if principal.is_system or not principal.can(Permission.PERSON_WRITE):
        return
    if access_basis(session, principal, person_id) is None:
        raise Forbidden(
            f"{where}: that person is on another team's caseload; nothing was imported "
            "(open their record by break-the-glass first if you need to add to it)"
        )


def may_widen_caseload(principal: Principal, created: bool) -> bool:
    """A new person joins the importer's team; an existing one joins a caseload only by the operator's hand."""
    return created or principal.is_system


def can_open(session: Session, principal: Principal, person_id: uuid.UUID) -> bool:
    """Whether the principal may open the record now (NotFound when there is no such person)."""
    if session.get(Person, person_id) is None:
        raise NotFound(f"no person with id {person_id}")
    return access_basis(session, principal, person_id) is not None


def ensure_access(
    session: Session, principal: Principal, person_id: uuid.UUID, permission: Permission
) -> tuple[Person, str]:
    """The person and the basis of access, or Forbidden/NotFound with a reason a user can act on."""
    principal.require(permission)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    basis = access_basis(session, principal, person_id)
    if basis is None:
        raise Forbidden(
            "this person is not on your team's caseload; use break-the-glass with a reason to open the record"
        )
    return person, basis
