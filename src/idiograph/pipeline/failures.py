"""Rule failures for administrators: list them, and retry them (by hand, or every few minutes by the server)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import chunked, utcnow
from idiograph.observations.model import Observation
from idiograph.observations.service import StoredRow
from idiograph.pipeline import flow, holds
from idiograph.pipeline.flow import describe
from idiograph.pipeline.model import RuleFailure, RuleHold
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def open_failures(session: Session, principal: Principal, limit: int = 200) -> list[RuleFailure]:
    """Unresolved failures, oldest first (no patient data beyond ids); an audited read."""
    principal.require(Permission.SYSTEM_OPERATE)
    rows = list(
        session.scalars(
            select(RuleFailure).where(RuleFailure.resolved_at.is_(None)).order_by(RuleFailure.failed_at).limit(limit)
        )
    )
    audit.append(session, principal.actor, "read", "RuleFailure", None, None, detail={"count": len(rows)})
    return rows


@dataclass(frozen=True)
class RetryReport:
    tried: int
    resolved: int
    still_failing: int


def _rows(session: Session, ids: Sequence[str]) -> list[StoredRow]:
    """The failure's observations still stored, in the order they arrived (a correction keeps the place of its
    first arrival)."""
    found: dict[str, StoredRow] = {}
    for part in chunked([uuid.UUID(i) for i in dict.fromkeys(ids)]):
        for o in session.scalars(select(Observation).where(Observation.id.in_(part))):
            found[str(o.id)] = StoredRow(
                o.person_id, o.system, o.code, o.value, o.effective_at, o.source, o.source_id, True, o.id
            )
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def _held_by_older_failures(session: Session, f: RuleFailure) -> set[str]:
    """This failure's people whom an older open failure of the same rule also holds: those wait for it (judging
    them first would make the older one's results late); the others are judged now."""
    q = (
        select(RuleHold.person_id)
        .join(RuleFailure, RuleFailure.id == RuleHold.failure_id)
        .where(
            RuleHold.rule == f.rule,
            RuleHold.person_id.in_([uuid.UUID(p) for p in f.people]),
            RuleHold.failure_id != f.id,
            RuleFailure.resolved_at.is_(None),
            RuleFailure.failed_at < f.failed_at,
        )
    )
    return {str(p) for p in session.scalars(q)}


FIRST_WAIT = timedelta(minutes=5)
LONGEST_WAIT = timedelta(hours=24)


def next_attempt(f: RuleFailure) -> datetime:
    """When the server next retries a failure by itself: 5 minutes after the first attempt, doubling with each
    attempt, at most a day apart (a rule that keeps failing is not retried on every pass)."""
    wait = min(FIRST_WAIT * (1 << min(max(f.attempts - 1, 0), 20)), LONGEST_WAIT)  # 2**20 x 5 min is past a day
    return f.last_attempt_at + wait


def due(session: Session) -> list[uuid.UUID]:
    """Open failures whose back-off has run out, oldest first (the server retries each in its own transaction,
    so one slow rule never holds the write lock for the whole pass)."""
    now = utcnow()
    q = select(RuleFailure).where(RuleFailure.resolved_at.is_(None)).order_by(RuleFailure.failed_at)
    return [f.id for f in session.scalars(q) if next_attempt(f) <= now]


def retry(
    session: Session, actor: Actor, failure_ids: Sequence[uuid.UUID] | None = None, *, due_only: bool = False
) -> RetryReport:
    """Judge each unresolved failure's observations again - the ones the rule failed on and the later ones it
    held, in the order they arrived, replayed as if arriving now (``Rule.replay``) - oldest failure first; its
    people whom an older open failure also holds wait for that one. On several people the retry narrows down to
    the people it still fails on and releases the rest. ``due_only`` (the server's own passes) skips failures whose
    back-off has not run out. Alerts are raised by the system ("rule-retry"); the retry is audited as ``actor``."""
    rules = {r.name: r for r in flow.RULES}
    q = select(RuleFailure).where(RuleFailure.resolved_at.is_(None)).order_by(RuleFailure.failed_at)
    if failure_ids is not None:
        q = q.where(RuleFailure.id.in_(list(failure_ids)))
    if session.scalar(q.with_only_columns(RuleFailure.id).limit(1)) is None:
        return RetryReport(0, 0, 0)  # nothing open: no lock taken (the server asks every few minutes)
    audit.lock_head(session)  # before the failure rows: writers lock the head first, then a failure (defer)
    failures = list(session.scalars(q.with_for_update(skip_locked=True)))
    now = utcnow()
    if due_only:
        failures = [f for f in failures if next_attempt(f) <= now]
    raiser = Actor.system("rule-retry")
    resolved = tried = 0
    for f in failures:
        waiting = _held_by_older_failures(session, f)
        rows = _rows(session, f.observations)
        now_rows = [r for r in rows if str(r.person_id) not in waiting]
        if not now_rows:
            continue  # every one of its people waits for an older failure
        tried += 1
        rule = rules.get(f.rule)
        exc: Exception | None
        if rule is None:
            failing, exc = now_rows, LookupError(f"no rule named {f.rule!r} any more")
        else:
            _, failing, exc = flow.judge(session, raiser, rule, now_rows, replaying=True)
        failing = [*failing, *(r for r in rows if str(r.person_id) in waiting)]
        f.attempts, f.last_attempt_at = f.attempts + 1, now
        still = list(dict.fromkeys(str(r.person_id) for r in failing))
        released = [p for p in f.people if p not in set(still)]
        if failing:
            f.error = describe(exc) if exc is not None else f.error
            f.people = still
            f.observations = list(dict.fromkeys(str(r.observation_id) for r in failing))
            holds.release(session, f.id, released)
        else:
            f.resolved_at, f.resolved_by = now, actor.username
            holds.release(session, f.id)
            resolved += 1
        audit.append(
            session,
            actor,
            "rule-retried",
            "RuleFailure",
            str(f.id),
            None,
            detail={
                "rule": f.rule,
                "resolved": not failing,
                "attempts": f.attempts,
                "people_released": len(released),
                "people_still_held": len(still),
            },
        )
    session.flush()
    return RetryReport(tried, resolved, tried - resolved)
