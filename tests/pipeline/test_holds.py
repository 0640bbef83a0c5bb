"""A rule that failed on a person's result holds their later results until a retry succeeds, then judges them
all in time order: the failed result is judged, never silently 'resolved' as a late arrival."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from idiograph.alerts.model import Alert
from idiograph.baselines import service as baselines
from idiograph.baselines.model import BaselineState
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
