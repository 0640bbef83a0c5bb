"""People by name or NHS number, and names by id, for the audit trail (whose readers see who was looked at, not
their records). The caller audits the read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from idiograph.db import chunked
from idiograph.patients.model import Person, PersonIdentifier
from idiograph.patients.nhs_number import normalise


@dataclass(frozen=True)
class Named:
    id: uuid.UUID
    name: str  # FAMILY, Given
    birth_date: date | None
    nhs_number: str | None


def _named(p: Person) -> Named:
    return Named(p.id, f"{p.family_name.upper()}, {p.given_name}", p.birth_date, p.nhs_number)


def find(session: Session, text: str, limit: int = 20) -> list[Named]:
    """People whose NHS number or another system's identifier is ``text``, else whose names contain every word
    of it (case-insensitive); surname order."""
    text = text.strip()
    compact = normalise(text)
    if compact.isdigit() and len(compact) == 10:
        hits = list(session.scalars(select(Person).where(Person.nhs_number == compact)))
        if hits:
            return [_named(p) for p in hits]
    by_id = list(
        session.scalars(
            select(Person)
            .join(PersonIdentifier, PersonIdentifier.person_id == Person.id)
            .where(PersonIdentifier.value == text)
        )
    )
    if by_id:
        return [_named(p) for p in by_id[:limit]]
    words = [w for w in text.replace(",", " ").split() if w][:5]
    if not words:
        return []
    conds = [
        or_(func.lower(Person.given_name).contains(w.lower()), func.lower(Person.family_name).contains(w.lower()))
        for w in words
    ]
    q = select(Person).where(and_(*conds)).order_by(Person.family_name, Person.given_name).limit(limit)
    return [_named(p) for p in session.scalars(q)]


def names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Named]:
    """The named people among ``ids`` (unknown ids are left out)."""
    wanted = list({i for i in ids if i is not None})
    out: dict[uuid.UUID, Named] = {}
    for chunk in chunked(wanted):
        for p in session.scalars(select(Person).where(Person.id.in_(chunk))):
            out[p.id] = _named(p)
    return out
