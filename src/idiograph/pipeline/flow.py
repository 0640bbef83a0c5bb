"""``record``: store the rows, then run the rules in this written order, inside the caller's transaction.

1. **Safety** (monitoring.safety): in the answer's own transaction. If it cannot run, nothing is stored and the
   caller is told: an answer is never stored without it.
2. **Statistical rules**, in ``RULES`` order, each inside its own savepoint: personal baselines (a result outside
   the person's own range, device EWMA), not on track (expected recovery), relapse after discharge. A rule that
   raises is rolled back to its savepoint alone and recorded (``RuleFailure``, visible to administrators, audited)
   and retried later; the rows, the safety alerts and the other rules' work stay. Until the retry succeeds the
   rule holds the people it failed on: their later results join the failure and are judged with it, in time
   order (``holds``).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from idiograph.alerts.service import NewAlert, raise_many
from idiograph.baselines import service as baselines
from idiograph.monitoring import safety
from idiograph.monitoring.recovery import not_on_track
from idiograph.monitoring.relapse import rule as relapse
from idiograph.observations import service as observations
from idiograph.observations.recording import Recorded, Unanswered
from idiograph.observations.service import CodeBook, NewObservation, StoredRow
from idiograph.pipeline import holds
from idiograph.pipeline.model import RuleFailure
from idiograph.security import audit
from idiograph.security.audit import Actor

log = logging.getLogger("idiograph.pipeline")


def _always(rows: Sequence[StoredRow]) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """A statistical rule on the rows just stored: returns the alerts it wants raised. ``applies`` is a cheap
    test on the rows alone, so a rule with nothing to judge costs no savepoint."""

    name: str
    run: Callable[[Session, Sequence[StoredRow]], list[NewAlert]]
    applies: Callable[[Sequence[StoredRow]], bool] = _always


RULES: tuple[Rule, ...] = (
    Rule("personal baselines", baselines.judge_new),
    Rule("not on track", not_on_track.findings, not_on_track.applies),
    Rule("relapse", relapse.findings, relapse.applies),
)


def check_settings() -> None:
    """Load every setting the rules read, so a bad file stops the server at start-up with the file and field
    named - not the first write, as a rule failure on someone's result."""
    from idiograph.baselines import settings as baseline_settings
    from idiograph.monitoring import settings as monitoring_settings

    baseline_settings.load()
    monitoring_settings.load()
    safety.safety_items()


def record(
    session: Session,
    actor: Actor,
    codes: CodeBook,
    rows: Sequence[NewObservation],
    *,
    unanswered: Sequence[Unanswered] = (),
    audit_action: str = "write",
    audit_detail: dict[str, object] | None = None,
) -> Recorded:
    """Store ``rows`` (validated by the caller), then the safety rule, then each statistical rule in order."""
    ingest, stored = observations.store(session, actor, codes, rows, audit_action, audit_detail)
    raised = len(raise_many(session, actor, safety.alerts(stored, unanswered)))
    failed: list[str] = []
    if stored:
        held = holds.held(session, {r.person_id for r in stored})
        for rule in RULES:
            now = holds.defer(session, actor, rule.name, stored, held) if held else list(stored)
            if not now:
                continue
            n = run_rule(session, actor, rule, now)
            if n is None:
                failed.append(rule.name)
            else:
                raised += n
    return Recorded(ingest, tuple(stored), raised, tuple(failed))


def run_rule(session: Session, actor: Actor, rule: Rule, rows: Sequence[StoredRow]) -> int | None:
    """Run one statistical rule in a savepoint: the number of alerts it raised, or None when it failed (then the
    failure is recorded and audited in the outer transaction)."""
    outcome = try_rule(session, actor, rule, rows)
    if isinstance(outcome, Exception):
        record_failure(session, actor, rule.name, rows, outcome)
        return None
    return outcome


def try_rule(session: Session, actor: Actor, rule: Rule, rows: Sequence[StoredRow]) -> int | Exception:
    """The rule's alerts raised inside a savepoint, or the exception it raised (its work rolled back alone). A
    rule whose ``applies`` says there is nothing to judge raises nothing and costs no savepoint."""
    try:
        if not rule.applies(rows):
            return 0
        with session.begin_nested():
            return len(raise_many(session, actor, rule.run(session, rows)))
    except Exception as exc:
        log.error("rule %r failed on %d stored row(s): %s", rule.name, len(rows), traceback.format_exc(limit=5))
        return exc


def record_failure(session: Session, actor: Actor, rule: str, rows: Sequence[StoredRow], exc: Exception) -> None:
    ids = sorted({str(r.observation_id) for r in rows})
    people = sorted({str(r.person_id) for r in rows})
    failure = RuleFailure(rule=rule, error=describe(exc), people=people, observations=ids)
    session.add(failure)
    session.flush()
    holds.hold(session, failure)
    audit.append(
        session,
        actor,
        "rule-failed",
        "RuleFailure",
        str(failure.id),
        None,
        detail={"rule": rule, "people": len(people), "observations": len(ids), "error": type(exc).__name__},
    )


_SQL = re.compile(r"\s*\[(SQL|parameters):.*", re.S)
_MASKS = (
    (re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"), "<id>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<text>"),
    (re.compile(r"(?<![A-Za-z_])[-+]?\d+(\.\d+)?([eE][-+]?\d+)?"), "<n>"),
)


def describe(exc: BaseException) -> str:
    """What a failure record keeps of an exception: its type and the first line of its message, without the SQL,
    and with ids, quoted text and numbers masked (an error message can carry a patient's values, and
    administrators who read failures hold no person-level permission)."""
    first = _SQL.sub("", str(exc)).strip().splitlines()
    message = first[0] if first else ""
    for pattern, mask in _MASKS:
        message = pattern.sub(mask, message)
    return f"{type(exc).__name__}: {message}"[:300]
