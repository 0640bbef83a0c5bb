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
from idiograph.pipeline.flow import describe, try_rule
from idiograph.pipeline.model import RuleFailure
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
    out: list[StoredRow] = []
    for part in chunked([uuid.UUID(i) for i in ids]):
        for o in session.scalars(select(Observation).where(Observation.id.in_(part))):
            out.append(
                StoredRow(o.person_id, o.system, o.code, o.value, o.effective_at, o.source, o.source_id, True, o.id)
            )
    return sorted(out, key=lambda r: (r.person_id, r.time))  # time order within each person


FIRST_WAIT = timedelta(minutes=5)
LONGEST_WAIT = timedelta(hours=24)


def next_attempt(f: RuleFailure) -> datetime:
    """When the server next retries a failure by itself: 5 minutes after the first attempt, doubling with each
    attempt, at most a day apart (a rule that keeps failing is not retried on every pass)."""
    wait = min(FIRST_WAIT * (1 << min(max(f.attempts - 1, 0), 20)), LONGEST_WAIT)  # 2**20 x 5 min is past a day
    return f.last_attempt_at + wait


def retry(
    session: Session, actor: Actor, failure_ids: Sequence[uuid.UUID] | None = None, *, due_only: bool = False
) -> RetryReport:
    """Run each unresolved failure's rule again on its observations - the ones it failed on and the later ones it
    held - in time order (those still stored). ``due_only`` (the server's own passes) skips failures whose
    back-off has not run out. Alerts are raised by the system ("rule-retry"); the retry is audited as ``actor``."""
    rules = {r.name: r for r in flow.RULES}
    q = select(RuleFailure).where(RuleFailure.resolved_at.is_(None)).order_by(RuleFailure.failed_at)
    if failure_ids is not None:
        q = q.where(RuleFailure.id.in_(list(failure_ids)))
    failures = list(session.scalars(q.with_for_update(skip_locked=True)))
    now = utcnow()
    if due_only:
        failures = [f for f in failures if next_attempt(f) <= now]
    raiser = Actor.system("rule-retry")
    resolved = 0
    for f in failures:
        rule = rules.get(f.rule)
        outcome: int | Exception = (
            try_rule(session, raiser, rule, _rows(session, f.observations))
            if rule is not None
            else LookupError(f"no rule named {f.rule!r} any more")
        )
        ok = not isinstance(outcome, Exception)
        if isinstance(outcome, Exception):
            f.error = describe(outcome)
        f.attempts, f.last_attempt_at = f.attempts + 1, now
        if ok:
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
            detail={"rule": f.rule, "resolved": bool(ok), "attempts": f.attempts},
        )
    session.flush()
    return RetryReport(len(failures), resolved, len(failures) - resolved)
