"""The store pipeline: safety first in the answer's own transaction, then each statistical rule in its own
savepoint; a failing rule never loses the answer or the safety alert, is recorded for administrators and retried."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from idiograph.alerts.model import Alert
from idiograph.baselines.model import BaselineState
from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.pipeline import flow
from idiograph.pipeline.model import RuleFailure
from idiograph.security.model import AuditRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}
PHQ9 = [i.code for i in instruments()["phq-9"].items]
SRC = Path(__file__).resolve().parents[2] / "src" / "idiograph"


def _count(db: Session, model: type, *where: object) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _python_failure(session, rows):  # type: ignore[no-untyped-def]
    raise RuntimeError("statistics blew up")


def _database_failure(session, rows):  # type: ignore[no-untyped-def]
    session.execute(text("SELECT no_such_column FROM observation"))  # aborts the transaction on PostgreSQL
    return []


@pytest.mark.parametrize("failing", [_python_failure, _database_failure], ids=["python", "database"])
def test_a_failing_statistical_rule_keeps_the_answer_and_the_safety_alert(  # type: ignore[no-untyped-def]
    client, db, make_staff, monkeypatch, failing
) -> None:
    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("admin", "admin")
    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", failing), *flow.RULES))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    answers = dict.fromkeys(PHQ9, 1) | {PHQ9[-1]: 2}
    r = client.post(
        f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": answers}, headers=clin.auth
    )
    assert r.status_code == 201, r.text
    assert r.json()["alerts_raised"] == 1
    assert _count(db, Observation) == 10
    assert _count(db, Alert, Alert.kind == "safety") == 1
    failure = db.scalar(select(RuleFailure))
    assert failure is not None and failure.rule == "broken rule" and failure.resolved_at is None
    assert len(failure.observations) == 10 and failure.people == [pid]
    # the rules after it still ran: the PHQ-9 total has no baseline prior here, but the rule was reached
    assert _count(db, AuditRecord, AuditRecord.action == "rule-failed") == 1
    # administrators see it; clinicians do not
    listed = client.get("/api/v1/rule-failures", headers=admin.auth)
    assert listed.status_code == 200 and [f["rule"] for f in listed.json()] == ["broken rule"]
    assert client.get("/api/v1/rule-failures", headers=clin.auth).status_code == 403
    # still broken: the retry says so and keeps it
    kept = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert kept == {"tried": 1, "resolved": 0, "still_failing": 1}
    # mended: the retry runs the rule on the stored rows and resolves it
    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", lambda s, rows: []), *flow.RULES[1:]))
    done = client.post("/api/v1/rule-failures/retry", json={}, headers=admin.auth).json()
    assert done == {"tried": 1, "resolved": 1, "still_failing": 0}
    assert client.get("/api/v1/rule-failures", headers=admin.auth).json() == []
    db.expire_all()
    assert db.scalar(select(RuleFailure.attempts)) == 3


def test_a_failing_rule_does_not_undo_the_rules_that_ran(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Baselines run first and keep their state even when a later rule fails."""
    from idiograph.baselines import service as baselines

    seen: list[int] = []

    def counting(session, rows):  # type: ignore[no-untyped-def]
        seen.append(len(rows))
        return baselines.judge_new(session, rows)

    monkeypatch.setattr(flow, "RULES", (flow.Rule("personal baselines", counting), flow.Rule("x", _python_failure)))
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    row = {"person_id": pid, "code": "718-7", "value": 140, "time": "2026-03-02T10:00:00Z", "source_id": "hb1"}
    assert client.post("/api/v1/observations", json={"observations": [row]}, headers=clin.auth).status_code == 200
    assert seen == [1] and _count(db, RuleFailure) == 1
    assert _count(db, BaselineState) == 0  # no prior yet: nothing to keep, but nothing was rolled back either


def test_a_failing_safety_rule_stores_nothing(app, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The safety rule is not optional: if it cannot run, the answer is refused whole and the caller is told."""
    from fastapi.testclient import TestClient

    from idiograph.monitoring import safety

    client = TestClient(app, raise_server_exceptions=False)

    def broken(rows, unanswered=()):  # type: ignore[no-untyped-def]
        raise RuntimeError("instrument files unreadable")

    monkeypatch.setattr(safety, "alerts", broken)
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    r = client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": dict.fromkeys(PHQ9, 1)},
        headers=clin.auth,
    )
    assert r.status_code == 500
    assert _count(db, Observation) == 0


def _calls_to_store(tree: ast.AST) -> list[int]:
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and (
            (
                isinstance(n.func, ast.Attribute)
                and n.func.attr == "store"
                and ast.unparse(n.func.value).endswith("observations")
            )
            or (isinstance(n.func, ast.Name) and n.func.id == "store")
        )
    ]


def test_only_the_pipeline_calls_the_store() -> None:
    """No path into the observation store can skip the safety rule: only pipeline/flow.py calls store()."""
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("pipeline/flow.py", "observations/service.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_store = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "idiograph.observations.service"
            and any(a.name == "store" for a in n.names)
            for n in ast.walk(tree)
        )
        if imports_store or _calls_to_store(tree):
            offenders.append(rel)
    assert offenders == []


def test_the_lint_catches_a_direct_store() -> None:
    bad = ast.parse("from idiograph.observations import service as observations\nobservations.store(s, a, c, rows)\n")
    assert _calls_to_store(bad) == [2]


def test_administrators_see_and_retry_failures_on_the_operations_page(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", _python_failure),))
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("admin", "admin")
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    row = {"person_id": pid, "code": "718-7", "value": 140, "time": "2026-03-02T10:00:00Z", "source_id": "hb1"}
    client.post("/api/v1/observations", json={"observations": [row]}, headers=clin.auth)
    login = client.get("/login")
    csrf = login.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf})
    page = client.get("/operations")
    assert page.status_code == 200 and "broken rule" in page.text and "RuntimeError" in page.text
    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", lambda s, rows: []),))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/operations/rule-failures/retry", data={"csrf_token": csrf})
    assert done.status_code == 200 and "1 resolved" in done.text and "No rule failures waiting" in done.text


def test_the_server_retries_failed_rules_by_itself(app, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.app import retry_failed_rules
    from idiograph.db import transaction
    from idiograph.patients.model import Person

    p = Person(given_name="A", family_name="B")
    db.add(p)
    db.commit()
    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", _python_failure),))
    from idiograph.observations.service import CodeBook, NewObservation
    from idiograph.security.audit import Actor

    with transaction(db):
        row = NewObservation(
            p.id, "http://loinc.org", "718-7", 140.0, "g/L", datetime(2026, 3, 2, tzinfo=UTC), "t", "1"
        )
        flow.record(db, Actor.system("t"), CodeBook(db), [row])
    assert _count(db, RuleFailure, RuleFailure.resolved_at.is_(None)) == 1
    monkeypatch.setattr(flow, "RULES", (flow.Rule("broken rule", lambda s, rows: []),))
    assert retry_failed_rules(app) == 0  # not yet: the first automatic retry waits 5 minutes
    failure = db.scalar(select(RuleFailure))
    assert failure is not None and failure.attempts == 1
    with transaction(db):
        failure.last_attempt_at -= timedelta(minutes=5, seconds=1)
    assert retry_failed_rules(app) == 1
    assert _count(db, RuleFailure, RuleFailure.resolved_at.is_(None)) == 0


def test_automatic_retries_back_off() -> None:
    from idiograph.pipeline.failures import next_attempt

    start = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [next_attempt(RuleFailure(attempts=n, last_attempt_at=start)) - start for n in (1, 2, 3, 4, 10, 40)]
    assert waits == [timedelta(minutes=m) for m in (5, 10, 20, 40)] + [timedelta(hours=24)] * 2


def test_a_failure_record_keeps_no_patient_values() -> None:
    from sqlalchemy.exc import IntegrityError

    pid = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    err = IntegrityError(
        "INSERT INTO observation (person_id, value) VALUES (?, ?)", (pid, 23.5), Exception("CHECK failed")
    )
    text_ = flow.describe(err)
    assert text_.startswith("IntegrityError: ") and "CHECK failed" in text_
    assert pid not in text_ and "23.5" not in text_ and "INSERT" not in text_
    said = flow.describe(ValueError(f"score 'Ada Lovelace' {pid} was 27.0 over 3 items"))
    assert said == "ValueError: score <text> <id> was <n> over <n> items"


def test_a_rule_whose_applies_test_raises_is_a_failure_not_a_lost_write(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(flow, "RULES", (flow.Rule("picky", lambda s, rows: [], lambda rows: 1 / 0),))
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    row = {"person_id": pid, "code": "718-7", "value": 140, "time": "2026-03-02T10:00:00Z", "source_id": "hb1"}
    assert client.post("/api/v1/observations", json={"observations": [row]}, headers=clin.auth).status_code == 200
    assert _count(db, Observation) == 1
    failure = db.scalar(select(RuleFailure))
    assert failure is not None and failure.rule == "picky" and failure.error.startswith("ZeroDivisionError")


def test_a_bad_settings_file_stops_the_server_at_start_up(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from idiograph.app import create_app
    from idiograph.monitoring import settings as monitoring_settings

    shipped = monitoring_settings.DEFAULT.read_text(encoding="utf-8")
    bad = tmp_path / "monitoring.yaml"
    bad.write_text(shipped.replace("phq-9", "phq-99", 1), encoding="utf-8")
    monkeypatch.setenv("IDIOGRAPH_MONITORING_SETTINGS", str(bad))
    monitoring_settings.load.cache_clear()
    try:
        with pytest.raises(ValueError, match="phq-99"):
            create_app()
    finally:
        monkeypatch.delenv("IDIOGRAPH_MONITORING_SETTINGS")
        monitoring_settings.load.cache_clear()


def test_database_errors_never_carry_bound_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    from idiograph.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v REAL CHECK (v < 0))"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": 27.125})
    assert "27.125" not in str(caught.value) and "hidden" in str(caught.value)
