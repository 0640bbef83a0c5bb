"""Use cases for people, episodes, caseloads and break-the-glass: load, check, store, audit."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, invalid
from idiograph.patients.access import ensure_access
from idiograph.patients.demographics import age_band, ethnic_group
from idiograph.patients.episodes import episode_problems
from idiograph.patients.model import (
    BreakGlassGrant,
    CaseloadAssignment,
    Episode,
    Person,
    PersonIdentifier,
)
from idiograph.patients.schema import (
    EpisodeIn,
    EpisodePatch,
    IdentifierOut,
    PersonIn,
    PersonOut,
    PersonPatch,
)
from idiograph.security import audit
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.text import visible_length

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def person_out(session: Session, person: Person, basis: str) -> PersonOut:
    teams = session.scalars(select(CaseloadAssignment.team_id).where(CaseloadAssignment.person_id == person.id)).all()
    return PersonOut(
        id=person.id,
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=person.birth_date,
        age_band=age_band(person.birth_date, date.today()),
        sex=person.sex,
        gender_identity=person.gender_identity,
        ethnicity=person.ethnicity,
        ethnic_group=ethnic_group(person.ethnicity),
        deprivation_decile=person.deprivation_decile,
        preferred_language=person.preferred_language,
        nhs_number=person.nhs_number,
        identifiers=[IdentifierOut(system=i.system, value=i.value) for i in person.identifiers],
        team_ids=list(teams),
        access_basis=basis,
    )


def resolve_team(session: Session, principal: Principal, team_id: uuid.UUID | None, field: str = "team_id") -> Team:
    """The team a new person joins: the named one (which must be yours) or your only team."""
    if team_id is None:
        if len(principal.team_ids) == 1:
            team_id = next(iter(principal.team_ids))
        else:
            raise invalid(field, "required: name the team whose caseload the person joins")
    team = session.get(Team, team_id)
    if team is None:
        raise invalid(field, f"no team with id {team_id}")
    if not principal.is_system and team.id not in principal.team_ids:
        raise Forbidden(f"you are not a member of team {team.name!r}")
    return team


def _check_nhs_unique(session: Session, nhs: str | None, person_id: uuid.UUID | None) -> None:
    if nhs is None:
        return
    other = session.scalar(select(Person.id).where(Person.nhs_number == nhs))
    if other is not None and other != person_id:
        raise Conflict(
            "another person already has this NHS number",
            [FieldProblem("nhs_number", "already recorded for another person")],
        )


def add_to_caseload(session: Session, person_id: uuid.UUID, team_id: uuid.UUID) -> None:
    exists = session.scalar(
        select(CaseloadAssignment.id).where(
            CaseloadAssignment.person_id == person_id, CaseloadAssignment.team_id == team_id
        )
    )
    if exists is None:
        session.add(CaseloadAssignment(person_id=person_id, team_id=team_id))


def create_person(session: Session, principal: Principal, data: PersonIn) -> PersonOut:
    principal.require(Permission.PERSON_WRITE)
    team = resolve_team(session, principal, data.team_id)
    _check_nhs_unique(session, data.nhs_number, None)
    for ident in data.identifiers:
        if session.scalar(
            select(PersonIdentifier.id).where(
                PersonIdentifier.system == ident.system, PersonIdentifier.value == ident.value
            )
        ):
            raise Conflict(
                "identifier already belongs to another person",
                [FieldProblem("identifiers", f"{ident.system}|{ident.value} is taken")],
            )
    fields = data.model_dump(exclude={"team_id", "identifiers"})
    person = Person(**fields)
    person.identifiers = [PersonIdentifier(system=i.system, value=i.value) for i in data.identifiers]
    if data.nhs_number:
        person.identifiers.append(PersonIdentifier(system=NHS_NUMBER_SYSTEM, value=data.nhs_number))
    session.add(person)
    session.flush()
    add_to_caseload(session, person.id, team.id)
    session.flush()
    audit.append(session, principal.actor, "create", "Person", str(person.id), person.id, detail={"team": team.name})
    return person_out(session, person, "caseload")


def get_person(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> PersonOut:
    person, basis = ensure_access(session, principal, person_id, Permission.PERSON_READ)
    audit.append(
        session, principal.actor, "read", "Person", str(person_id), person_id, detail={"via": via, "basis": basis}
    )
    return person_out(session, person, basis)


def update_person(session: Session, principal: Principal, person_id: uuid.UUID, patch: PersonPatch) -> PersonOut:
    person, basis = ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    changes = patch.model_dump(exclude_unset=True)
    if "given_name" in changes and changes["given_name"] is None:
        raise invalid("given_name", "cannot be removed")
    if "family_name" in changes and changes["family_name"] is None:
        raise invalid("family_name", "cannot be removed")
    if "nhs_number" in changes:
        _check_nhs_unique(session, changes["nhs_number"], person.id)
        person.identifiers = [i for i in person.identifiers if i.system != NHS_NUMBER_SYSTEM]
        if changes["nhs_number"]:
            person.identifiers.append(PersonIdentifier(system=NHS_NUMBER_SYSTEM, value=changes["nhs_number"]))
    before = {k: getattr(person, k) for k in changes}
    for k, v in changes.items():
        setattr(person, k, v)
    session.flush()
    audit.append(
        session,
        principal.actor,
        "update",
        "Person",
        str(person_id),
        person_id,
        detail={
            "fields": sorted(changes),
            "basis": basis,
            "changed": sorted(k for k in changes if before[k] != changes[k]),
        },
    )
    return person_out(session, person, basis)


def _episode_check(e_ref: date, e_dis: date | None, reason: str | None) -> None:
    problems = episode_problems(e_ref, e_dis, reason, date.today())
    if problems:
        raise InvalidInput("episode is not consistent", problems)


def list_episodes(session: Session, principal: Principal, person_id: uuid.UUID) -> list[Episode]:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    eps = list(
        session.scalars(
            select(Episode).where(Episode.person_id == person_id).order_by(Episode.referral_date, Episode.id)
        )
    )
    audit.append(session, principal.actor, "read", "Episode", None, person_id, detail={"count": len(eps)})
    return eps


def add_episode(session: Session, principal: Principal, person_id: uuid.UUID, data: EpisodeIn) -> Episode:
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    _episode_check(data.referral_date, data.discharge_date, data.discharge_reason)
    if data.team_id is not None and session.get(Team, data.team_id) is None:
        raise invalid("team_id", f"no team with id {data.team_id}")
    ep = Episode(person_id=person_id, **data.model_dump())
    session.add(ep)
    session.flush()
    audit.append(session, principal.actor, "create", "Episode", str(ep.id), person_id)
    return ep


def update_episode(session: Session, principal: Principal, episode_id: uuid.UUID, patch: EpisodePatch) -> Episode:
    ep = session.get(Episode, episode_id)
    if ep is None:
        raise NotFound(f"no episode with id {episode_id}")
    ensure_access(session, principal, ep.person_id, Permission.PERSON_WRITE)
    changes = patch.model_dump(exclude_unset=True, include={"referral_source", "presenting_problem"})
    for k, v in changes.items():
        if v is None:
            raise invalid(k, "cannot be removed")
    if "referral_source" in changes:
        ep.referral_source = changes["referral_source"]
    if "presenting_problem" in changes:
        ep.presenting_problem = changes["presenting_problem"]
    session.flush()
    audit.append(
        session, principal.actor, "update", "Episode", str(ep.id), ep.person_id, detail={"fields": sorted(changes)}
    )
    return ep


def break_glass(
    session: Session, principal: Principal, person_id: uuid.UUID, reason: str, minutes: int
) -> BreakGlassGrant:
    """Open a record outside one's caseload for ``minutes``; flagged for review by a senior."""
    principal.require(Permission.BREAK_GLASS)
    if principal.user_id is None:
        raise Forbidden("break-the-glass needs a named user")
    if visible_length(reason) < 10:
        raise invalid("reason", "give the reason in at least 10 characters")
    if session.get(Person, person_id) is None:
        raise NotFound(f"no person with id {person_id}")
    now = utcnow()
    grant = BreakGlassGrant(
        user_id=principal.user_id,
        person_id=person_id,
        reason=reason.strip(),
        granted_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(grant)
    session.flush()
    audit.append(
        session,
        principal.actor,
        "break-glass",
        "Person",
        str(person_id),
        person_id,
        reason=grant.reason,
        detail={"grant": str(grant.id), "minutes": minutes},
    )
    return grant


def list_grants(session: Session, principal: Principal, unreviewed_only: bool = True) -> list[BreakGlassGrant]:
    principal.require(Permission.BREAK_GLASS_REVIEW)
    q = select(BreakGlassGrant).order_by(BreakGlassGrant.granted_at.desc())
    if unreviewed_only:
        q = q.where(BreakGlassGrant.reviewed_at.is_(None))
    grants = list(session.scalars(q.limit(500)))
    audit.append(session, principal.actor, "list", "BreakGlassGrant", None, None, detail={"count": len(grants)})
    return grants


def review_grant(session: Session, principal: Principal, grant_id: uuid.UUID, note: str) -> BreakGlassGrant:
    principal.require(Permission.BREAK_GLASS_REVIEW)
    grant = session.get(BreakGlassGrant, grant_id)
    if grant is None:
        raise NotFound(f"no break-the-glass grant with id {grant_id}")
    if grant.reviewed_at is not None:
        raise Conflict("this grant has already been reviewed")
    if grant.user_id == principal.user_id:
        raise Forbidden("you cannot review your own break-the-glass access")
    grant.reviewed_by, grant.reviewed_at, grant.review_note = principal.user_id, utcnow(), note
    audit.append(
        session, principal.actor, "review", "BreakGlassGrant", str(grant.id), grant.person_id, detail={"note": note}
    )
    return grant
