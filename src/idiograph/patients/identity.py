"""Finding the person an imported record is about: by source identifier, then by NHS number."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import Conflict, FieldProblem, invalid
from idiograph.patients.access import may_import_into, may_widen_caseload
from idiograph.patients.model import Person, PersonIdentifier
from idiograph.patients.service import NHS_NUMBER_SYSTEM, add_to_caseload
from idiograph.security.principal import Principal


def find_person(session: Session, identifiers: list[tuple[str, str]], nhs: str | None) -> Person | None:
    for system, value in identifiers:
        pid = session.scalar(
            select(PersonIdentifier.person_id).where(PersonIdentifier.system == system, PersonIdentifier.value == value)
        )
        if pid is not None:
            return session.get(Person, pid)
    if nhs:
        return session.scalar(select(Person).where(Person.nhs_number == nhs))
    return None


GENERATED_SOURCES = "urn:idiograph:source:synth:"  # identifiers only the synthetic loader may give (the demo's guard)


def upsert_person(
    session: Session,
    principal: Principal,
    fields: dict[str, Any],
    identifiers: list[tuple[str, str]],
    team_id: uuid.UUID | None,
    person_id: uuid.UUID | None = None,
    where: str = "person",
) -> tuple[Person, str]:
    """Create or update a person from an import; returns (person, 'created'|'updated'|'unchanged'). An existing
    person is written only under the one import rule (``may_import_into``) and joins no caseload by it."""
    for system, _ in identifiers:
        if system.startswith(GENERATED_SOURCES) and not principal.is_system:
            raise invalid(f"{where}/identifier", f"{system} is reserved for generated (synthetic) people")
    nhs = fields.get("nhs_number")
    person = session.get(Person, person_id) if person_id else None
    person = person or find_person(session, identifiers, nhs)
    if nhs:
        identifiers = [*identifiers, (NHS_NUMBER_SYSTEM, nhs)]
    if person is None:
        person = Person(id=person_id or uuid.uuid4(), **{k: v for k, v in fields.items() if v is not None})
        session.add(person)
        status = "created"
    else:
        may_import_into(session, principal, person.id, where)
        changed = {k: v for k, v in fields.items() if v is not None and getattr(person, k) != v}
        if "nhs_number" in changed:
            other = session.scalar(select(Person.id).where(Person.nhs_number == nhs))
            if other is not None and other != person.id:
                raise Conflict(
                    "NHS number already belongs to another person",
                    [FieldProblem(f"{where}/nhs_number", "already recorded for another person")],
                )
        for k, v in changed.items():
            setattr(person, k, v)
        status = "updated" if changed else "unchanged"
    session.flush()
    have = {(i.system, i.value) for i in person.identifiers}
    for system, value in identifiers:
        if (system, value) in have:
            continue
        owner = session.scalar(
            select(PersonIdentifier.person_id).where(PersonIdentifier.system == system, PersonIdentifier.value == value)
        )
        if owner is not None and owner != person.id:
            raise Conflict(
                "identifier belongs to another person",
                [FieldProblem(f"{where}/identifier", f"{system}|{value} is another person's")],
            )
        if system == NHS_NUMBER_SYSTEM:
            person.identifiers = [i for i in person.identifiers if i.system != NHS_NUMBER_SYSTEM]
        person.identifiers.append(PersonIdentifier(system=system, value=value))
        have.add((system, value))
        if status == "unchanged":
            status = "updated"
    if team_id is not None and may_widen_caseload(principal, status == "created"):
        add_to_caseload(session, person.id, team_id)
    session.flush()
    return person, status
