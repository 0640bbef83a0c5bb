"""Use cases for alerts: list them for a person or a caseload, and move them through their lifecycle."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import transaction, utcnow
from idiograph.errors import Conflict, NotFound, invalid
from idiograph.monitoring.lifecycle import OPEN, transition_problem
from idiograph.monitoring.model import Alert
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def for_person(
    session: Session, principal: Principal, person_id: uuid.UUID, open_only: bool = False, via: str = "api"
) -> list[Alert]:
    with transaction(session):
        ensure_access(session, principal, person_id, Permission.PERSON_READ)
        q = select(Alert).where(Alert.person_id == person_id)
        if open_only:
            q = q.where(Alert.status.in_(OPEN))
        alerts = list(session.scalars(q.order_by(Alert.raised_at.desc())))
        audit.append(
            session, principal.actor, "read", "Alert", None, person_id, detail={"via": via, "count": len(alerts)}
        )
        return alerts


def open_counts(session: Session, principal: Principal) -> dict[uuid.UUID, int]:
    """Open alerts per person on the principal's caseloads (shown on the caseload)."""
    principal.require(Permission.PERSON_READ)
    q = (
        select(Alert.person_id)
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Alert.person_id)
        .where(CaseloadAssignment.team_id.in_(principal.team_ids), Alert.status.in_(OPEN))
    )
    counts: dict[uuid.UUID, int] = {}
    for pid in session.scalars(q):
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def move(session: Session, principal: Principal, alert_id: uuid.UUID, target: str, note: str | None = None) -> Alert:
    """seen, acted (with what was done) or closed; who and when are recorded and audited."""
    with transaction(session):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"no alert with id {alert_id}")
        ensure_access(session, principal, alert.person_id, Permission.PERSON_WRITE)
        problem = transition_problem(alert.status, target, note)
        if problem:
            if target == "acted" and "record what was done" in problem:
                raise invalid("note", problem)
            raise Conflict(problem)
        now, who = utcnow(), principal.username
        if target == "seen":
            alert.seen_by, alert.seen_at = who, now
        elif target == "acted":
            alert.seen_by, alert.seen_at = alert.seen_by or who, alert.seen_at or now
            alert.acted_by, alert.acted_at, alert.action_note = who, now, (note or "").strip()
        else:
            alert.closed_by, alert.closed_at = who, now
        alert.status = target
        audit.append(
            session,
            principal.actor,
            target,
            "Alert",
            str(alert.id),
            alert.person_id,
            detail={"kind": alert.kind, "note": note} if note else {"kind": alert.kind},
        )
        return alert
