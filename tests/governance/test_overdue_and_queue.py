"""The governance queue and overdue escalations (both backends): the queue says for whom, what change, who asked
and at what risk; the policy's overdue rule re-escalates each late escalation once, recorded on it and in the
audit trail; the header count is for the roles that answer or receive escalations."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from idiograph.config import get_settings
from idiograph.db import utcnow
from idiograph.errors import Forbidden
from idiograph.governance import policy as policy_module
from idiograph.governance import service as governance
from idiograph.governance.model import Escalation
from idiograph.security import audit
from idiograph.security.model import AuditRecord, User
from idiograph.security.principal import Principal
from tests.governance.test_governed_change import _setup
from tests.web.test_pages import login


def _escalated(client, db, make_staff):  # type: ignore[no-untyped-def]
    cc, senior, pid, _ = _setup(client, make_staff)
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"frequency": "monthly", "rationale": "Stable for three months; wants fewer sessions"},
        headers=cc.auth,
    )
    assert r.status_code == 201, r.text
    esc = db.scalar(select(Escalation).where(Escalation.decision_id == uuid.UUID(r.json()["id"])))
    return cc, senior, pid, esc


def test_the_queue_says_for_whom_what_who_asked_and_the_risk(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    _cc, senior, pid, _esc = _escalated(client, db, make_staff)
    db.execute(update(User).where(User.username == "ccoord").values(display_name="Casey Coordinator"))
    q = governance.queue(db, senior.principal)
    about = audit.Filter(person_ids=(uuid.UUID(pid),), usernames=("senior",), action="read")
    assert audit.search(db, senior.principal.actor, about)[0] == 1  # the queue's read is found by the person
    [row] = governance.queue_rows(db, q["pending"])
    assert row.person_name == "BYRON, Ada"
    assert row.decision.summary == "frequency weekly to monthly"
    assert (row.asked_by, row.asked_role) == ("Casey Coordinator", "care_coordinator")
    assert row.risk_level is None  # not assessed, said so on the page
    assert "2 steps" in row.decision.policy_reason and not row.overdue


def test_the_policy_overdue_rule_is_validated_and_explained() -> None:
    p = policy_module.shipped()
    assert p.overdue is not None and p.overdue.escalate_to == "service_lead"
    assert any("re-escalated, once, to a service lead" in line for line in policy_module.explain(p))
    same = p.model_copy(update={"overdue": policy_module.Overdue(escalate_to=p.escalate_to)})
    assert tuple(w for w, _ in policy_module.contradictions(same)) == ("overdue.escalate_to",)
    nobody = p.model_copy(update={"overdue": policy_module.Overdue(escalate_to="wizard")})
    assert [w for w, _ in policy_module.contradictions(nobody)] == ["overdue.escalate_to"]


def test_an_overdue_escalation_is_re_escalated_once(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc, senior, _pid, esc = _escalated(client, db, make_staff)
    lead = make_staff("lead", "service_lead", ("North",))
    system = Principal.system("governance")
    assert governance.escalate_overdue(db, system) == []  # not yet due
    assert governance.waiting_count(db, lead.principal) == (0, 0)
    later = esc.due_at + timedelta(minutes=1)
    done = governance.escalate_overdue(db, system, now=later)
    assert [e.id for e in done] == [esc.id]
    db.refresh(esc)
    assert (esc.level, esc.escalated_to, esc.escalated_at) == (2, "service_lead", later)
    assert esc.to_role == "senior_clinician" and "not answered by its due time" in (esc.escalated_reason or "")
    # idempotent: again, and later still, changes nothing and audits nothing
    audits = db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "re-escalate"))
    assert audits == 1
    assert governance.escalate_overdue(db, system, now=later + timedelta(days=3)) == []
    db.refresh(esc)
    assert esc.escalated_at == later
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "re-escalate")) == 1
    # the service lead is told; a clinician is not; the senior still answers it
    esc.due_at = utcnow() - timedelta(minutes=1)
    db.flush()
    assert governance.waiting_count(db, lead.principal) == (1, 1)
    assert governance.waiting_count(db, senior.principal) == (1, 1)
    assert governance.waiting_count(db, cc.principal) == (0, 0)
    db.commit()
    login(client, "lead")  # the service lead's Today says the same as their header, and that it is theirs to chase
    today = client.get("/today").text
    assert "1 change waits past its deadline for a senior clinician: chase it" in today
    with pytest.raises(Forbidden):
        governance.answer(db, cc.principal, esc.id, True, "I approve my own")
    answered = governance.answer(db, senior.principal, esc.id, True, "Agreed, late: sorry")
    assert answered.status == "approved"
    assert governance.escalate_overdue(db, system, now=later + timedelta(days=9)) == []


def test_the_cli_re_escalates_overdue_escalations(client, db, make_staff, settings, database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.cli import app as cli
    from idiograph.cli import common

    _, _, _, esc = _escalated(client, db, make_staff)
    esc.due_at = utcnow() - timedelta(hours=1)
    db.commit()
    monkeypatch.setattr(common, "given", database)
    monkeypatch.setenv("IDIOGRAPH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IDIOGRAPH_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("IDIOGRAPH_INSTANCE_URI", settings.instance_uri)
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["governance", "escalate-overdue"], env={"COLUMNS": "80"})
        assert r.exit_code == 0, r.output
        assert "Re-escalated to a service lead (1)" in r.output
        assert all(len(line) <= 80 for line in r.output.splitlines())
        again = CliRunner().invoke(cli, ["governance", "escalate-overdue"])
        assert again.exit_code == 0 and "no overdue escalations" in again.output
    finally:
        get_settings.cache_clear()
    db.refresh(esc)
    assert esc.level == 2
