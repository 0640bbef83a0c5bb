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
import time
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


Judge = Callable[[Session, Sequence[StoredRow]], list[NewAlert]]


@dataclass(frozen=True)
class Rule:
    """A statistical rule on the rows just stored: returns the alerts it wants raised. ``applies`` is a cheap
    test on the rows alone, so a rule with nothing to judge costs no savepoint. ``replay`` judges a failure's
    rows on retry, in the order they arrived, as if arriving now (a rule with state - the running baselines -
    must not see them as late because its state moved on meanwhile); by default the rule runs again."""

    name: str
    run: Judge
    applies: Callable[[Sequence[StoredRow]], bool] = _always
    replay: Judge | None = None


RULES: tuple[Rule, ...] = (
    Rule("personal baselines", baselines.judge_new, replay=baselines.replay),
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
    paused: list[str] = []
    if stored:
        held = holds.held(session, {r.person_id for r in stored})
        for rule in RULES:
            now = list(stored)
            if held:
                now = holds.defer(session, actor, rule.name, rule.applies, stored, held)
                if len(now) < len(stored):
                    paused.append(rule.name)
            if not now:
                continue
            n, failing, exc = judge(session, actor, rule, now)
            raised += n
            if failing:
                assert exc is not None
                record_failure(session, actor, rule.name, failing, exc)
                failed.append(rule.name)
    recorded = Recorded(ingest, tuple(stored), raised, tuple(failed), tuple(paused))
    ingest.checks_not_run = recorded.checks_not_run
    return recorded


BISECTION_BUDGET = 64  # rule runs one judgement may spend narrowing a failure down to the people it fails on
BISECTION_SECONDS = 5.0  # and time: a rule that fails slowly (a timeout) must not hold the write lock for long


def judge(
    session: Session, actor: Actor, rule: Rule, rows: Sequence[StoredRow], *, replaying: bool = False
) -> tuple[int, list[StoredRow], Exception | None]:
    """Run ``rule`` on ``rows`` in a savepoint; if it fails, on each half of the people, and so on down to one
    person, so that one person's bad row holds only that person (found in review: one bad row in a CSV held
    the rule for everyone in the file). A fault that fails everyone (the rule itself broken) would cost two runs
    per person, so at most ``BISECTION_BUDGET`` runs and ``BISECTION_SECONDS`` are spent: what is still unsplit
    then is held whole.
    Returns the alerts raised, the rows of the people it failed on (in the order given), and the last
    exception."""
    budget = [BISECTION_BUDGET]
    until = time.monotonic() + BISECTION_SECONDS

    def go(
        part: Sequence[StoredRow], failed_as_whole: Exception | None
    ) -> tuple[int, list[StoredRow], Exception | None]:
        if failed_as_whole is not None and (budget[0] <= 0 or time.monotonic() > until):
            return 0, list(part), failed_as_whole  # no runs or time left: held with the larger part it failed in
        budget[0] -= 1
        outcome = try_rule(session, actor, rule, part, replaying=replaying)
        if not isinstance(outcome, Exception):
            return outcome, [], None
        people = list(dict.fromkeys(r.person_id for r in part))
        if len(people) == 1:
            return 0, list(part), outcome
        first = set(people[: len(people) // 2])
        n1, failed1, exc1 = go([r for r in part if r.person_id in first], outcome)
        n2, failed2, exc2 = go([r for r in part if r.person_id not in first], outcome)
        return n1 + n2, failed1 + failed2, exc1 or exc2

    return go(rows, None)


def try_rule(
    session: Session, actor: Actor, rule: Rule, rows: Sequence[StoredRow], *, replaying: bool = False
) -> int | Exception:
    """The rule's alerts raised inside a savepoint, or the exception it raised (its work rolled back alone). A
    rule whose ``applies`` says there is nothing to judge raises nothing and costs no savepoint."""
    try:
        if not rule.applies(rows):
            return 0
        run = rule.replay if replaying and rule.replay is not None else rule.run
        with session.begin_nested():
            return len(raise_many(session, actor, run(session, rows)))
    except Exception as exc:
        frames = "".join(traceback.format_tb(exc.__traceback__, limit=5))
        log.error("rule %r failed on %d stored row(s): %s\n%s", rule.name, len(rows), describe(exc), frames)
        return exc


def arrival_order(rows: Sequence[StoredRow]) -> list[StoredRow]:
    """One batch's rows as a failure keeps them: batches in the order they arrived, and within a batch in time
    order, as the rules judge a batch (found in review: a file listing a person's results newest first was
    replayed newest first, and the earlier results then passed as late, unjudged)."""
    return sorted(rows, key=lambda r: r.time)


def record_failure(session: Session, actor: Actor, rule: str, rows: Sequence[StoredRow], exc: Exception) -> None:
    ids = list(dict.fromkeys(str(r.observation_id) for r in arrival_order(rows)))
    people = list(dict.fromkeys(str(r.person_id) for r in rows))
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
