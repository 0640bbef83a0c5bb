"""Holds: while a statistical rule has an open failure for a person, it judges none of their later results.

They join the failure (its observation list grows, audited) and are judged with it, in time order, when a retry
succeeds. Without this, a later result judged first would make the failed one 'late', and a late result only
rebuilds the baseline: the failed result would be marked resolved without ever being judged."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from idiograph.db import bulk_insert, chunked
from idiograph.observations.service import StoredRow
from idiograph.pipeline.model import RuleFailure, RuleHold
from idiograph.security import audit
from idiograph.security.audit import Actor

Held = dict[tuple[str, uuid.UUID], uuid.UUID]  # (rule, person) -> an open failure holding them

_T: Table = RuleHold.__table__  # type: ignore[assignment]
_F = RuleFailure.__table__
_HELD = (
    select(_T.c.rule, _T.c.person_id, _T.c.failure_id)
    .join(_F, _F.c.id == _T.c.failure_id)
    .where(_T.c.person_id.in_(bindparam("people", expanding=True)))
    .order_by(_F.c.failed_at)
)


def held(session: Session, people: Iterable[uuid.UUID]) -> Held:
    """Every hold on these people, by rule, the oldest failure first (one indexed query; a prebuilt statement,
    it runs on every write)."""
    out: Held = {}
    for part in chunked(sorted(set(people))):
        for rule, pid, fid in session.execute(_HELD, {"people": list(part)}):
            out.setdefault((rule, pid), fid)
    return out


def hold(session: Session, failure: RuleFailure) -> None:
    bulk_insert(
        session,
        _T,
        [{"person_id": uuid.UUID(p), "rule": failure.rule, "failure_id": failure.id} for p in failure.people],
    )


def release(session: Session, failure_id: uuid.UUID, people: Iterable[str] | None = None) -> None:
    """Lift a failure's holds: all of them, or those of ``people`` (ids as stored in the failure)."""
    q = delete(RuleHold).where(RuleHold.failure_id == failure_id)
    if people is not None:
        q = q.where(RuleHold.person_id.in_([uuid.UUID(p) for p in people]))
    session.execute(q)


def defer(
    session: Session,
    actor: Actor,
    rule: str,
    applies: Callable[[Sequence[StoredRow]], bool],
    rows: Sequence[StoredRow],
    holds: Held,
) -> list[StoredRow]:
    """Add the held people's rows that the rule would judge to the failures that hold them; returns the rows
    to judge now (a failure resolved meanwhile holds nothing: its rows are judged at once). The caller holds
    the audit head's lock already (the rows were stored), so this locks the failure row after it, in the same
    order as a retry does."""
    by_failure: dict[uuid.UUID, list[StoredRow]] = defaultdict(list)
    now: list[StoredRow] = []
    for r in rows:
        fid = holds.get((rule, r.person_id))
        (by_failure[fid] if fid is not None else now).append(r)
    for fid, waiting in by_failure.items():
        if not applies(waiting):
            now.extend(waiting)  # nothing the rule would judge: no need to hold it
            continue
        f = session.scalars(select(RuleFailure).where(RuleFailure.id == fid).with_for_update()).one_or_none()
        if f is None or f.resolved_at is not None:
            now.extend(waiting)
            continue
        have = set(f.observations)
        ids = [
            i
            for i in dict.fromkeys(str(r.observation_id) for r in sorted(waiting, key=lambda r: r.time))
            if i not in have
        ]
        f.observations = [*f.observations, *ids]
        audit.append(
            session,
            actor,
            "rule-deferred",
            "RuleFailure",
            str(f.id),
            None,
            detail={"rule": rule, "observations": len(ids), "held_people": len({r.person_id for r in waiting})},
        )
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(now, key=lambda r: order[id(r)])


def paused_for(session: Session, person_id: uuid.UUID) -> list[tuple[str, datetime]]:
    """The rules paused for a person by an open failure, with when it failed (for their page)."""
    q = (
        select(RuleHold.rule, func.min(RuleFailure.failed_at))
        .join(RuleFailure, RuleFailure.id == RuleHold.failure_id)
        .where(RuleHold.person_id == person_id, RuleFailure.resolved_at.is_(None))
        .group_by(RuleHold.rule)
        .order_by(RuleHold.rule)
    )
    return [(rule, at) for rule, at in session.execute(q)]
