"""A rule that failed on a person's result holds their later results until a retry succeeds, then judges them
all in time order: the failed result is judged, never silently 'resolved' as a late arrival."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from idiograph.alerts.model import Alert
from idiograph.baselines import service as baselines
from idiograph.baselines.model import BaselineState
from idiograph.observations.model import Observation
from idiograph.observations.service import StoredRow
from idiograph.pipeline import flow
from idiograph.pipeline.model import RuleFailure, RuleHold
from idiograph.security.model import AuditRecord
from tests.baselines.test_baselines_service import _person, _post, _prior


def _deviations(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "deviation")) or 0


def test_a_held_person_is_judged_in_time_order_when_the_rule_recovers(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    _prior(db)
    pid = _person(client, clin)
    other = _person(client, clin, "Grace")
    _post(client, clin, pid, [150.0, 151.0, 149.0, 150.0, 150.5, 149.5])
    _post(client, clin, other, [150.0, 151.0, 149.0])
    broken = {"now": True}

    def flaky(session, rows):  # type: ignore[no-untyped-def]
        if broken["now"]:
            raise ConnectionError("the statistics service went away")
        return baselines.judge_new(session, rows)

    monkeypatch.setattr(flow, "RULES", (flow.Rule("personal baselines", flaky), *flow.RULES[1:]))
    _post(client, clin, pid, [136.0], start_days=10)  # outside her own range: should raise an alert
    assert _deviations(db) == 0
    failure = db.scalar(select(RuleFailure))
    assert failure is not None and len(failure.observations) == 1
    broken["now"] = False
    # her next result is held: not judged before the failed one
    _post(client, clin, pid, [150.0], start_days=5)
    db.expire_all()
    state = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert state is not None and state.n == 6
    assert len(db.scalar(select(RuleFailure.observations))) == 2
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "rule-deferred")) == 1
    # someone else is not held
    _post(client, clin, other, [150.0], start_days=5)
    db.expire_all()
    assert db.scalar(select(BaselineState.n).where(BaselineState.person_id == uuid.UUID(other))) == 4
    # the retry judges both, in order: the failed result raises its alert
    done = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert done == {"tried": 1, "resolved": 1, "still_failing": 0}
    assert _deviations(db) == 1
    alert = db.scalar(select(Alert).where(Alert.kind == "deviation"))
    assert alert is not None and "136" in alert.reason
    raised = db.scalar(
        select(AuditRecord.actor).where(AuditRecord.resource_type == "Alert", AuditRecord.resource_id == str(alert.id))
    )
    assert raised == "system:rule-retry"
    state = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert state is not None and state.n == 8 and state.latest_value == 150.0
    assert db.scalar(select(func.count()).select_from(RuleHold)) == 0
    # and once released, her results are judged as they arrive again
    _post(client, clin, pid, [150.2], start_days=2)
    db.expire_all()
    assert db.scalar(select(BaselineState.n).where(BaselineState.person_id == uuid.UUID(pid))) == 9


def _rows_for(pids: list[str], value: float, days_ago: int) -> list[dict[str, object]]:
    from tests.baselines.test_baselines_service import HB, NOW

    t = (NOW - timedelta(days=days_ago)).isoformat()
    return [{"person_id": p, "code": HB, "value": value, "time": t} for p in pids]


def test_one_persons_fault_holds_only_that_person_and_the_record_says_so(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A batch with one person the rule fails on: the others are judged at once; only that person is held, and
    the response and their record say that a check has not run."""
    clin = make_staff("clin", "clinician", ("North",))
    _prior(db)
    bad, good = _person(client, clin), _person(client, clin, "Grace")
    _post(client, clin, bad, [150.0, 151.0, 149.0])
    _post(client, clin, good, [150.0, 151.0, 149.0])

    def fails_on_one(session, rows):  # type: ignore[no-untyped-def]
        if any(str(r.person_id) == bad for r in rows):
            raise ValueError("a value this rule cannot read")
        return baselines.judge_new(session, rows)

    monkeypatch.setattr(flow, "RULES", (flow.Rule("personal baselines", fails_on_one), *flow.RULES[1:]))
    r = client.post("/api/v1/observations", json={"observations": _rows_for([bad, good], 150.0, 20)}, headers=clin.auth)
    assert r.status_code == 200 and r.json()["checks_not_run"] == ["personal baselines"]
    failure = db.scalar(select(RuleFailure))
    assert failure is not None and failure.people == [bad] and len(failure.observations) == 1
    db.expire_all()
    assert db.scalar(select(BaselineState.n).where(BaselineState.person_id == uuid.UUID(good))) == 4
    # her later result: paused, and said so; his: judged as usual
    later = client.post("/api/v1/observations", json={"observations": _rows_for([bad], 150.0, 10)}, headers=clin.auth)
    assert later.json()["checks_not_run"] == ["personal baselines"]
    fine = client.post("/api/v1/observations", json={"observations": _rows_for([good], 150.0, 10)}, headers=clin.auth)
    assert fine.json()["checks_not_run"] == []
    page = client.get(f"/people/{bad}", headers=clin.auth)
    assert page.status_code == 200 and 'id="checks-paused"' in page.text and "personal baselines" in page.text
    assert 'id="checks-paused"' not in client.get(f"/people/{good}", headers=clin.auth).text


def _break_the_shipped_baseline_rule(monkeypatch) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """The shipped personal-baselines rule (its replay included) failing until ``broken["now"]`` is False."""
    broken = {"now": True}

    def flaky(session, rows):  # type: ignore[no-untyped-def]
        if broken["now"]:
            raise ConnectionError("the statistics service went away")
        return baselines.judge_new(session, rows)

    monkeypatch.setattr(flow, "RULES", (dataclasses.replace(flow.RULES[0], run=flaky), *flow.RULES[1:]))
    return broken


def _stored(db, person_id: str | None = None) -> list[StoredRow]:  # type: ignore[no-untyped-def]
    """Stored observations (of one person, or all) as the pipeline hands them to a rule, in time order."""
    q = select(Observation).order_by(Observation.effective_at)
    if person_id is not None:
        q = q.where(Observation.person_id == uuid.UUID(person_id))
    return [
        StoredRow(o.person_id, o.system, o.code, o.value, o.effective_at, o.source, o.source_id, True, o.id)
        for o in db.scalars(q)
    ]


def test_a_refit_meanwhile_does_not_make_the_failed_result_late(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Rebuilding the states (a refit of the priors) while a failure is open takes the failed result into the
    state: judged as it was first, it would be 'late' and pass unjudged. The retry replays it as it arrived."""
    from idiograph.db import transaction
    from idiograph.security.principal import Principal

    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    _prior(db)
    pid = _person(client, clin)
    _post(client, clin, pid, [150.0, 151.0, 149.0, 150.0, 150.5, 149.5])
    broken = _break_the_shipped_baseline_rule(monkeypatch)
    _post(client, clin, pid, [136.0], start_days=10)
    assert _deviations(db) == 0
    with transaction(db):
        baselines.rebuild_states(db, Principal.system("refit"), [uuid.UUID(pid)])
    db.expire_all()
    assert db.scalar(select(BaselineState.n).where(BaselineState.person_id == uuid.UUID(pid))) == 7
    broken["now"] = False
    done = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert done == {"tried": 1, "resolved": 1, "still_failing": 0}
    assert _deviations(db) == 1
    db.expire_all()
    state = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert state is not None and state.n == 7 and state.latest_value == 136.0


def test_a_newer_failure_waits_for_an_older_one_holding_the_same_person(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Two open failures of one rule on one person (possible when two writes race): the newer is not judged
    before the older, or the older one's results would be late."""
    from idiograph.db import transaction
    from idiograph.security.principal import Principal

    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    pid = _person(client, clin)
    _post(client, clin, pid, [150.0, 151.0])
    rows = _stored(db)
    with transaction(db):
        flow.record_failure(db, Principal.system("t"), "personal baselines", rows[:1], RuntimeError("first"))
    with transaction(db):
        flow.record_failure(db, Principal.system("t"), "personal baselines", rows[1:], RuntimeError("second"))
    _older, newer = db.scalars(select(RuleFailure).order_by(RuleFailure.failed_at)).all()
    only_newer = client.post("/api/v1/rule-failures/retry", json={"ids": [str(newer.id)]}, headers=admin.auth)
    assert only_newer.json() == {"tried": 0, "resolved": 0, "still_failing": 0}
    both = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert both == {"tried": 2, "resolved": 2, "still_failing": 0}


def test_a_rule_that_fails_everyone_is_not_run_twice_per_person(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Narrowing a failure down costs at most the budget of runs, however many people the batch holds."""
    clin = make_staff("clin", "clinician", ("North",))
    _prior(db)
    people = [_person(client, clin, f"P{i}") for i in range(150)]
    runs = {"n": 0}

    def broken(session, rows):  # type: ignore[no-untyped-def]
        runs["n"] += 1
        raise RuntimeError("the rule itself is broken")

    monkeypatch.setattr(flow, "RULES", (flow.Rule("personal baselines", broken), *flow.RULES[1:]))
    r = client.post("/api/v1/observations", json={"observations": _rows_for(people, 150.0, 5)}, headers=clin.auth)
    assert r.status_code == 200 and r.json()["created"] == 150
    assert runs["n"] == flow.BISECTION_BUDGET  # it narrowed down as far as the budget goes, and no further
    failures = db.scalars(select(RuleFailure)).all()
    assert sorted(p for f in failures for p in f.people) == sorted(people)


def test_a_batch_listing_results_newest_first_is_replayed_in_time_order(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found in review: a failure kept a batch in the order of its lines; a file listing a person's results newest
    first was replayed newest first, and the earlier results then passed as late, unjudged."""
    from tests.baselines.test_baselines_service import HB, NOW

    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    _prior(db)
    pid = _person(client, clin)
    _post(client, clin, pid, [150.0, 151.0, 149.0, 150.0, 150.5, 149.5])
    broken = _break_the_shipped_baseline_rule(monkeypatch)
    newest_first = [
        {"person_id": pid, "code": HB, "value": v, "time": (NOW - timedelta(days=d)).isoformat()}
        for v, d in ((150.0, 2), (136.0, 10), (150.2, 20))
    ]
    assert (
        client.post("/api/v1/observations", json={"observations": newest_first}, headers=clin.auth).status_code == 200
    )
    broken["now"] = False
    done = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert done == {"tried": 1, "resolved": 1, "still_failing": 0}
    assert _deviations(db) == 1  # the 136, judged in its place
    db.expire_all()
    state = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert state is not None and state.n == 9 and state.latest_value == 150.0


def test_people_of_a_newer_failure_not_held_by_an_older_one_are_judged(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found in review: a newer failure waited whole while an older one held any one of its people; if the older
    never resolved, everyone else waited for ever. Only the shared person waits now."""
    from idiograph.db import transaction
    from idiograph.security.principal import Principal

    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    shared, other = _person(client, clin), _person(client, clin, "Grace")
    _post(client, clin, shared, [150.0, 151.0])
    _post(client, clin, other, [150.0])

    t = Principal.system("t")
    with transaction(db):
        flow.record_failure(db, t, "personal baselines", _stored(db, shared)[:1], RuntimeError("first"))
    with transaction(db):
        flow.record_failure(
            db, t, "personal baselines", _stored(db, shared)[1:] + _stored(db, other), RuntimeError("second")
        )
    _older, newer = db.scalars(select(RuleFailure).order_by(RuleFailure.failed_at)).all()
    r = client.post("/api/v1/rule-failures/retry", json={"ids": [str(newer.id)]}, headers=admin.auth).json()
    assert r == {"tried": 1, "resolved": 0, "still_failing": 1}
    db.expire_all()
    newer = db.get(RuleFailure, newer.id)
    assert newer is not None and newer.people == [shared]  # Grace released, judged
    held = db.scalars(select(RuleHold.person_id).where(RuleHold.failure_id == newer.id)).all()
    assert [str(p) for p in held] == [shared]
