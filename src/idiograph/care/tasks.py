"""Tasks: what a team must do, open until someone records it done with a note.

A person's request from their own page and a governance review's follow-up both become tasks; Today lists the
open ones for the principal's teams (tasks about a person) and role (tasks with no person)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idiograph.care.model import Task
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, InvalidInput, NotFound
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.text import visible_length

KINDS = {
    "person-request": "Asked for by the person",
    "governance-follow-up": "Follow-up from a governance review",
    "preferences-changed": "The person changed their preferences",
    "therapy-plan-change": "The person asks for a change to their therapy plan",
    "book-interpreter": "Book an interpreter for the person's sessions",
}


def create(
    session: Session,
    actor: Actor,
    kind: str,
    title: str,
    detail: str = "",
    person_id: uuid.UUID | None = None,
    to_role: str | None = None,
    team_id: uuid.UUID | None = None,
    due_at: datetime | None = None,
    source_key: str | None = None,
) -> Task:
    """Open a task (idempotent on ``source_key``: the same source never opens two)."""
    problems = []
    if kind not in KINDS:
        problems.append(FieldProblem("kind", f"must be one of {', '.join(KINDS)}"))
    if not 3 <= visible_length(title) <= 200:
        problems.append(FieldProblem("title", "must be 3 to 200 characters"))
    if person_id is None and not to_role:
        problems.append(FieldProblem("to_role", "a task about no one must be addressed to a role"))
    if person_id is None and team_id is None:
        problems.append(FieldProblem("team_id", "a task about no one must belong to a team (who else may read it?)"))
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s); no task was opened", problems)
    if source_key is not None:
        existing = session.scalar(select(Task).where(Task.source_key == source_key))
        if existing is not None:
            return existing
    task = Task(
        person_id=person_id,
        kind=kind,
        title=title.strip(),
        detail=detail.strip(),
        to_role=to_role,
        team_id=team_id if person_id is None else None,
        due_at=due_at,
        source_key=source_key,
        created_by=actor.username,
    )
    session.add(task)
    session.flush()
    audit.append(session, actor, "create", "Task", str(task.id), person_id, detail={"kind": kind})
    return task


def open_for(session: Session, principal: Principal) -> list[Task]:
    """Open tasks about people on the principal's teams, and those about no one addressed to the principal's role on
    one of their teams."""
    principal.require(Permission.PERSON_READ)
    on_teams = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(principal.team_ids))
    q = (
        select(Task)
        .where(Task.status == "open")
        .where(
            or_(
                Task.person_id.in_(on_teams),
                (Task.person_id.is_(None)) & (Task.to_role == principal.role) & Task.team_id.in_(principal.team_ids),
            )
        )
        .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
    )
    return list(session.scalars(q))


def for_person(session: Session, principal: Principal, person_id: uuid.UUID) -> list[Task]:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    q = select(Task).where(Task.person_id == person_id).order_by(Task.status.desc(), Task.created_at.desc())
    return list(session.scalars(q))


def complete(session: Session, principal: Principal, task_id: uuid.UUID, note: str) -> Task:
    """Record a task done, with what was done (at least 5 characters)."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"no task with id {task_id}")
    if task.person_id is not None:
        ensure_access(session, principal, task.person_id, Permission.PERSON_WRITE)
    else:
        principal.require(Permission.PERSON_WRITE)
        if task.to_role != principal.role or task.team_id not in principal.team_ids:
            raise NotFound(f"no task with id {task_id}")
    if task.status != "open":
        raise Conflict(f"the task was already done by {task.done_by}")
    if visible_length(note) < 5:
        raise InvalidInput(
            "nothing was recorded", [FieldProblem("note", "record what was done (at least 5 characters)")]
        )
    task.status = "done"
    task.done_by = principal.username
    task.done_at = utcnow()
    task.done_note = note.strip()
    session.flush()
    audit.append(session, principal.actor, "update", "Task", str(task.id), task.person_id, detail={"status": "done"})
    return task


FROM_PERSON = ("person-request", "preferences-changed", "therapy-plan-change")


def from_person(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> list[Task]:
    """What the person sent their team from their own page (requests and preference changes), open ones first,
    newest first within each (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    q = (
        select(Task)
        .where(Task.person_id == person_id, Task.kind.in_(FROM_PERSON))
        .order_by(Task.status.desc(), Task.created_at.desc())
    )
    rows = list(session.scalars(q))
    audit.append(
        session, principal.actor, "read", "Task", None, person_id, detail={"via": via, "kinds": "from the person"}
    )
    return rows
