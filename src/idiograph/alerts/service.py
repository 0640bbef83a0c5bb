"""Use cases for alerts: raise them (every rule calls ``raise_many``), list them for a person or a caseload,
and move them through their lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import OPEN, ORDER, SEVERITY, STACKED, Kind, Status, transition_problem
from idiograph.alerts.model import Alert
from idiograph.db import bulk_insert, chunked, new_id, utcnow
from idiograph.errors import Conflict, NotFound, invalid
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


@dataclass(frozen=True)
class NewAlert:
    """An alert a rule wants raised. ``source_key`` names what raised it, so the same answer never alerts twice;
    alerts sharing a ``group_key`` stay one while it is open."""

    person_id: uuid.UUID
    kind: Kind
    title: str
    reason: str
    source_key: str
    detail: dict[str, object] = field(default_factory=dict)
    group_key: str | None = None


def raise_many(session: Session, actor: Actor, alerts: Sequence[NewAlert]) -> list[NewAlert]:
    """Store the alerts not raised before (by kind and source key) and not covered by an open alert of the same
    group, with one deduplication query per 500 and one audit batch; returns those raised. A stacked kind (a
    safety answer) is always stored: it joins its group's open alert as history."""
    if not alerts:
        return []
    seen_sources: set[tuple[str, str]] = set()
    open_groups: set[str] = set()
    kinds = sorted({a.kind.value for a in alerts})
    wanted = list({(a.source_key, a.group_key) for a in alerts})
    for part in chunked(wanted):
        keys = [k for k, _ in part]
        groups = [g for _, g in part if g is not None]
        condition = Alert.source_key.in_(keys)
        if groups:
            condition = or_(condition, Alert.group_key.in_(groups))
        q = select(Alert.kind, Alert.source_key, Alert.group_key, Alert.status).where(Alert.kind.in_(kinds), condition)
        for kind, source_key, group_key, status in session.execute(q):
            seen_sources.add((kind, source_key))
            if group_key is not None and status in OPEN:
                open_groups.add(group_key)
    raised: list[NewAlert] = []
    rows: list[dict[str, object]] = []
    entries: list[audit.Entry] = []
    now = utcnow()
    for a in alerts:
        if (a.kind.value, a.source_key) in seen_sources:
            continue
        if a.group_key is not None and a.group_key in open_groups and a.kind not in STACKED:
            continue
        seen_sources.add((a.kind.value, a.source_key))
        if a.group_key is not None:
            open_groups.add(a.group_key)
        alert_id = new_id()
        rows.append(
            {
                "id": alert_id,
                "person_id": a.person_id,
                "kind": a.kind.value,
                "status": Status.RAISED.value,
                "title": a.title[:200],
                "reason": a.reason,
                "detail": a.detail,
                "source_key": a.source_key,
                "group_key": a.group_key,
                "raised_at": now,
                **dict.fromkeys(
                    ("seen_by", "seen_at", "acted_by", "acted_at", "action_note", "closed_by", "closed_at")
                ),
            }
        )
        entries.append(audit.Entry("raise", "Alert", str(alert_id), a.person_id, None, {"kind": a.kind.value}))
        raised.append(a)
    bulk_insert(session, Alert.__table__, rows)
    audit.append_many(session, actor, entries)
    return raised


def for_person(
    session: Session, principal: Principal, person_id: uuid.UUID, open_only: bool = False, via: str = "api"
) -> list[Alert]:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    q = select(Alert).where(Alert.person_id == person_id)
    if open_only:
        q = q.where(Alert.status.in_(OPEN))
    alerts = list(session.scalars(q.order_by(Alert.raised_at.desc())))
    audit.append(session, principal.actor, "read", "Alert", None, person_id, detail={"via": via, "count": len(alerts)})
    return alerts


@dataclass(frozen=True)
class AlertGroup:
    """Open alerts that are one item to act on (repeat safety answers): ``lead`` carries the actions (the least
    advanced status, then the newest); ``history`` is every member, newest first."""

    lead: Alert
    history: tuple[Alert, ...]

    @property
    def repeats(self) -> int:
        return len(self.history) - 1


def grouped(alerts: Sequence[Alert]) -> list[AlertGroup]:
    """Alerts as items to act on, most severe kind first, then the newest."""
    groups: dict[str, list[Alert]] = {}
    for a in alerts:
        groups.setdefault(a.group_key or str(a.id), []).append(a)
    out = []
    for members in groups.values():
        members.sort(key=lambda a: a.raised_at, reverse=True)
        lead = min(members, key=lambda a: ORDER.index(Status(a.status)))
        out.append(AlertGroup(lead, tuple(members)))
    rank = {k.value: n for n, k in enumerate(SEVERITY)}
    out.sort(key=lambda g: (rank.get(g.lead.kind, len(rank)), -g.history[0].raised_at.timestamp()))
    return out


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
    """seen, acted (with what was done) or closed; who and when are recorded and audited. The step is one
    conditional update on the status it was judged from, so of two people moving the same alert at once one
    succeeds and the other is told (nothing acknowledged is lost)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    ensure_access(session, principal, alert.person_id, Permission.PERSON_WRITE)
    current = alert.status
    problem = transition_problem(current, target, note)
    if problem:
        if target == Status.ACTED and "record what was done" in problem:
            raise invalid("note", problem)
        raise Conflict(problem)
    now, who = utcnow(), principal.username
    values: dict[str, object] = {"status": target}
    if target == Status.SEEN:
        values |= {"seen_by": who, "seen_at": now}
    elif target == Status.ACTED:
        values |= {"seen_by": alert.seen_by or who, "seen_at": alert.seen_at or now}
        values |= {"acted_by": who, "acted_at": now, "action_note": (note or "").strip()}
    else:
        values |= {"closed_by": who, "closed_at": now}
    won = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise Conflict("someone else moved this alert at the same moment; reload the page to see what they did")
    session.refresh(alert)
    audit.append(
        session,
        principal.actor,
        target,
        "Alert",
        str(alert.id),
        alert.person_id,
        detail={"kind": alert.kind, "note": note} if note else {"kind": alert.kind},
    )
    if alert.group_key is not None and Kind(alert.kind) in STACKED:
        _move_group(session, principal, alert, target, values)
    return alert


def _move_group(session: Session, principal: Principal, lead: Alert, target: str, values: dict[str, object]) -> None:
    """The same step for the other open alerts of a stacked group (one item to act on): those behind the lead
    catch up to it, each audited; a member already further on is left as it is."""
    behind = [s.value for s in ORDER[: ORDER.index(Status(target))]]
    if target == Status.CLOSED:
        behind = [Status.ACTED.value]  # closing needs what was done first
    members = list(
        session.scalars(
            select(Alert).where(
                Alert.group_key == lead.group_key,
                Alert.person_id == lead.person_id,
                Alert.id != lead.id,
                Alert.status.in_(behind),
            )
        )
    )
    for m in members:
        extra = {k: v for k, v in values.items() if getattr(m, k, None) is None or k == "status"}
        session.execute(
            update(Alert)
            .where(Alert.id == m.id, Alert.status == m.status)
            .values(**extra)
            .execution_options(synchronize_session=False)
        )
        session.refresh(m)
        audit.append(
            session,
            principal.actor,
            target,
            "Alert",
            str(m.id),
            m.person_id,
            detail={"kind": m.kind, "with": str(lead.id)},
        )
