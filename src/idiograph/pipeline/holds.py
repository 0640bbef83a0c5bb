"""Holds: while a statistical rule has an open failure for a person, it judges none of their later results.

They join the failure (its observation list grows, audited) and are judged with it, in time order, when a retry
succeeds. Without this, a later result judged first would make the failed one 'late', and a late result only
rebuilds the baseline: the failed result would be marked resolved without ever being judged."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from idiograph.db import bulk_insert, chunked
from idiograph.observations.service import StoredRow
from idiograph.pipeline.model import RuleFailure, RuleHold
from idiograph.security import audit
from idiograph.security.audit import Actor

Held = dict[tuple[str, uuid.UUID], uuid.UUID]  # (rule, person) -> an open failure holding them

_T: Table = RuleHold.__table__  # type: ignore[assignment]
_HELD = select(_T.c.rule, _T.c.person_id, _T.c.failure_id).where(
    _T.c.person_id.in_(bindparam("people", expanding=True))
)


def held(session: Session, people: Iterable[uuid.UUID]) -> Held:
    """Every hold on these people, by rule (one indexed query; a prebuilt statement, it runs on every write)."""
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


def release(session: Session, failure_id: uuid.UUID) -> None:
    session.execute(delete(RuleHold).where(RuleHold.failure_id == failure_id))


def defer(session: Session, actor: Actor, rule: str, rows: Sequence[StoredRow], holds: Held) -> list[StoredRow]:
    """Add the held people's rows to the failures that hold them; returns the rows to judge now (a failure
    resolved meanwhile holds nothing: its rows are judged at once)."""
    by_failure: dict[uuid.UUID, list[StoredRow]] = defaultdict(list)
    now: list[StoredRow] = []
    for r in rows:
        fid = holds.get((rule, r.person_id))
        (by_failure[fid] if fid is not None else now).append(r)
    for fid, waiting in by_failure.items():
        # locked, and read again: a retry that resolved it first has released the hold
        f = session.scalars(select(RuleFailure).where(RuleFailure.id == fid).with_for_update()).one_or_none()
        if f is None or f.resolved_at is not None:
            now.extend(waiting)
            continue
        ids = [str(r.observation_id) for r in waiting]
        f.observations = [*f.observations, *(i for i in ids if i not in set(f.observations))]
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
