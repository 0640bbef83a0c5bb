"""Allocating a therapist is a governed decision (``governance.service.extend``): the same path as every other
change - delegated authority or escalation, a rationale, the risk at the time, the audit trail. Nothing is allocated
by itself: the match only suggests.

The request (``payload``): ``therapist`` (the therapist's id), optional ``suggested`` (what the match suggested, so an
override stays visible beside it), ``strength`` (the estimate shown) and ``interpreter`` (true when an interpreter is
booked, which lifts the language constraint). Hard constraints are checked when asked and again when the decision
is carried out (for an escalation, when it is approved, which may be days later): the therapist is active, in the
person's team, has a free place, works in the person's language or an interpreter is booked, and at high risk is in a
qualified profession (``matching.yaml``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idiograph import languages
from idiograph.care import tasks
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem
from idiograph.governance import service as governance
from idiograph.governance.model import Decision
from idiograph.matching.model import Allocation, Therapist
from idiograph.matching.settings import settings
from idiograph.patients.model import Episode, Person

UNREAD = object()


def constraint_problems(
    session: Session,
    person: Person,
    team_id: uuid.UUID | None,
    therapist: Therapist,
    interpreter: bool,
    risk: Any = UNREAD,
) -> list[str]:
    """Why this therapist may not be allocated to this person now (empty: they may). ``risk``: the person's current
    risk assessment when the caller has read it already (ranking many therapists reads it once)."""
    why = []
    if not therapist.active:
        why.append(f"{therapist.name} is not taking people now")
    if team_id is not None and therapist.team_id is not None and therapist.team_id != team_id:
        why.append(f"{therapist.name} works in another team")
    if therapist.capacity <= 0:
        why.append(f"{therapist.name} has no free places")
    lang = person.preferred_language
    if not languages.is_english(lang) and not languages.speaks(therapist.languages, lang) and not interpreter:
        why.append(
            f"{therapist.name} does not work in {languages.name(lang)}: book an interpreter or choose someone who does"
        )
    qualified = settings().constraints.qualified_for_high_risk
    if risk is UNREAD:
        risk = governance.current_risk(session, person.id)
    # risk not yet assessed is unknown, not low: it needs a qualified profession as high risk does
    unknown_or_high = risk is None or risk.level == "high"
    if qualified and unknown_or_high and therapist.profession not in qualified:
        what = (therapist.profession or "no recorded profession").replace("_", " ")
        when = "at high risk" if risk is not None else "with risk not yet assessed"
        why.append(
            f"{when} the therapist must be one of {', '.join(q.replace('_', ' ') for q in qualified)}"
            f" ({therapist.name}: {what})"
        )
    return why


def _check(
    session: Session, person_id: uuid.UUID, payload: dict[str, Any]
) -> tuple[list[str], list[str], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    therapist = _therapist(session, payload.get("therapist"), "therapist", problems)
    if "suggested" in payload and payload["suggested"] is not None:
        _therapist(session, payload["suggested"], "suggested", problems)
    if "strength" in payload and payload["strength"] is not None:
        try:
            float(payload["strength"])
        except (TypeError, ValueError):
            problems.append(FieldProblem("strength", "must be a number"))
    ep = governance.open_episode(session, person_id)
    if ep is None:
        problems.append(FieldProblem("therapist", "the person has no open episode"))
    if therapist is None or ep is None or problems:
        return [], [], problems
    person = session.get(Person, person_id)
    assert person is not None
    for why in constraint_problems(session, person, ep.team_id, therapist, bool(payload.get("interpreter"))):
        problems.append(FieldProblem("therapist", why))
    current = session.scalar(select(Allocation).where(Allocation.person_id == person_id, Allocation.current.is_(True)))
    if current is not None and current.therapist_id == therapist.id and current.episode_id == ep.id:
        problems.append(FieldProblem("therapist", f"{therapist.name} is already this person's therapist"))
    if problems:
        return [], [], problems
    words = f"therapist {therapist.name}"
    suggested = payload.get("suggested")
    if suggested and str(suggested) != str(therapist.id):
        other = session.get(Therapist, uuid.UUID(str(suggested)))
        words += f" (instead of the suggested {other.name if other else 'therapist'})"
    elif suggested:
        words += " (as suggested by the match)"
    if payload.get("interpreter"):
        words += ", with an interpreter (a task to book one is opened)"
    return ["therapist"], [words], []


def _therapist(session: Session, value: Any, name: str, problems: list[FieldProblem]) -> Therapist | None:
    try:
        found = session.get(Therapist, uuid.UUID(str(value)))
    except ValueError:
        problems.append(FieldProblem(name, "must be a therapist's id"))
        return None
    if found is None:
        problems.append(FieldProblem(name, f"no therapist with id {value}"))
    return found


def _carry_out(session: Session, decision: Decision) -> None:
    """End the person's current allocation, allocate the therapist (taking one of their free places) and draft the
    therapy plan the person will read before the first session."""
    from idiograph.matching import plan

    p = decision.payload
    ep = governance.open_episode(session, decision.person_id)
    if ep is None:
        raise Conflict("the episode was closed; no therapist can be allocated")
    therapist = session.get(Therapist, uuid.UUID(str(p["therapist"])))
    assert therapist is not None
    # an escalated allocation is approved later: language, team, risk and activity are checked again now (H-101)
    person = session.get(Person, decision.person_id)
    assert person is not None
    why = constraint_problems(session, person, ep.team_id, therapist, bool(p.get("interpreter")))
    if why:
        raise Conflict("; ".join(why) + "; nothing was allocated")
    previous = session.scalar(
        select(Allocation).where(Allocation.person_id == decision.person_id, Allocation.current.is_(True))
    )
    if previous is not None and previous.episode_id == ep.id and previous.allocated_at > decision.decided_at:
        # approved after someone else was allocated in the meantime: the approver decided on what they were shown
        other = session.get(Therapist, previous.therapist_id)
        raise Conflict(
            f"since this was asked, {other.name if other else 'another therapist'} was allocated by "
            f"{previous.allocated_by}; nothing was changed: ask again if a change is still wanted"
        )
    # one conditional update takes the place: of two allocations to the last free place exactly one succeeds
    took = session.execute(
        update(Therapist)
        .where(Therapist.id == therapist.id, Therapist.capacity > 0)
        .values(capacity=Therapist.capacity - 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if took != 1:
        raise Conflict(f"{therapist.name} has no free places now; choose someone else")
    session.refresh(therapist)
    if previous is not None:
        ended = session.execute(
            update(Allocation)
            .where(Allocation.id == previous.id, Allocation.current.is_(True))
            .values(current=False)
            .execution_options(synchronize_session=False)
        ).rowcount
        if ended != 1:
            raise Conflict("the person's allocation changed meanwhile; nothing was changed: reload and ask again")
        if previous.episode_id == ep.id:
            # moved within the same open episode: the person leaves the earlier therapist's caseload, so the place
            # they held is free again (found: it stayed taken for good)
            session.execute(
                update(Therapist)
                .where(Therapist.id == previous.therapist_id)
                .values(capacity=Therapist.capacity + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    allocation = Allocation(
        person_id=decision.person_id,
        episode_id=ep.id,
        therapist_id=therapist.id,
        suggested_id=uuid.UUID(str(p["suggested"])) if p.get("suggested") else None,
        decision_id=decision.id,
        strength=float(p["strength"]) if p.get("strength") is not None else None,
        allocated_by=decision.requested_by,
        allocated_at=utcnow(),
    )
    session.add(allocation)
    session.flush()
    if p.get("interpreter"):  # the ranking assumed one: booking it is someone's task, opened with the allocation
        tasks.create(
            session,
            plan.actor_of(session, decision.requested_by),
            "book-interpreter",
            f"Book {languages.interpreter(person.preferred_language)} for sessions with {therapist.name}",
            f"Allocated with an interpreter ({decision.summary}).",
            person_id=decision.person_id,
            source_key=f"book-interpreter:{allocation.id}",
        )
    plan.draft(session, allocation, decision.requested_by, interpreter=bool(p.get("interpreter")))


def _release(session: Session, episode: Episode) -> None:
    """A discharged episode gives its therapist's place back (the allocation stays: who saw the person through)."""
    held = session.scalar(
        select(Allocation.therapist_id).where(Allocation.episode_id == episode.id, Allocation.current.is_(True))
    )
    if held is not None:
        session.execute(
            update(Therapist)
            .where(Therapist.id == held)
            .values(capacity=Therapist.capacity + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def register() -> None:
    """Register allocation with the one decision path (called where the app and the command line start; idempotent)."""
    governance.extend("therapist", _check, _carry_out)
    if _release not in governance.ON_DISCHARGE:
        governance.ON_DISCHARGE.append(_release)
