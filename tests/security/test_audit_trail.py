"""The audit trail on a real database: every read and write recorded; tampering detected and named."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from idiograph.cli import app as cli
from idiograph.security import audit
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal


def _append(db: Session, n: int) -> None:
    actor = Principal.system("test").actor
    for i in range(n):
        audit.append(db, actor, "read", "Person", f"r{i}", None, detail={"i": i})
    db.commit()


def test_append_and_verify(db: Session) -> None:
    _append(db, 5)
    n, head, problems = audit.verify(db)
    assert n == 5 and problems == []
    assert head == db.scalar(select(AuditRecord.hash).where(AuditRecord.seq == 5))


def test_edited_record_is_named(db: Session) -> None:
    _append(db, 5)
    db.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(actor="mallory"))
    db.commit()
    _, _, problems = audit.verify(db)
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_deleted_record_is_named(db: Session) -> None:
    _append(db, 5)
    db.execute(text("DELETE FROM audit_record WHERE seq = 2"))
    db.commit()
    _, _, problems = audit.verify(db)
    assert problems and problems[0].kind == "missing" and "2" in problems[0].message


def test_deleted_tail_is_named(db: Session) -> None:
    _append(db, 5)
    db.execute(text("DELETE FROM audit_record WHERE seq >= 4"))
    db.commit()
    _, _, problems = audit.verify(db)
    assert [(p.seq, p.kind) for p in problems] == [(5, "missing")]


def test_reordered_records_are_named(db: Session) -> None:
    _append(db, 5)
    db.execute(text("UPDATE audit_record SET seq = 100 WHERE seq = 2"))
    db.execute(text("UPDATE audit_record SET seq = 2 WHERE seq = 3"))
    db.execute(text("UPDATE audit_record SET seq = 3 WHERE seq = 100"))
    db.commit()
    _, _, problems = audit.verify(db)
    assert {(p.seq, p.kind) for p in problems} >= {(2, "reordered"), (3, "reordered")}


def test_cli_verify_exits_non_zero_and_names_the_record(db: Session, settings, database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.cli import common

    monkeypatch.setattr(common, "given", database)
    monkeypatch.setenv("IDIOGRAPH_DATABASE_URL", settings.database_url)
    from idiograph.config import get_settings

    get_settings.cache_clear()
    _append(db, 4)
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 4 records" in ok.output
    db.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(detail={"i": 99}))
    db.commit()
    bad = CliRunner().invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and "record 2" in bad.output and "edited" in bad.output
    # each check is itself on the record, with what it found
    db.expire_all()
    checks = db.scalars(select(AuditRecord).where(AuditRecord.action == "verify").order_by(AuditRecord.seq)).all()
    assert [(c.actor, c.detail["records"], c.detail["problems"]) for c in checks] == [
        ("system:audit-verify", 4, 0),
        ("system:audit-verify", 5, 1),
    ]
    get_settings.cache_clear()


def test_a_failed_use_case_leaves_no_audit_record(db: Session) -> None:
    actor = Principal.system("test").actor
    audit.append(db, actor, "read", "Person")
    db.rollback()
    assert db.scalar(select(AuditRecord.seq)) is None
    _append(db, 1)
    assert audit.verify(db)[2] == []


def test_cutting_the_tail_and_setting_the_head_back_is_caught_by_an_exported_head(  # type: ignore[no-untyped-def]
    db: Session, database, tmp_path, monkeypatch
) -> None:
    """Found: deleting the last record (or the last 500) and updating the head row reported "intact"."""
    from idiograph.cli import common

    monkeypatch.setattr(common, "given", database)
    _append(db, 6)
    heads = tmp_path / "heads.log"
    exported = CliRunner().invoke(cli, ["audit", "head", "--append-to", str(heads)])
    assert exported.exit_code == 0 and exported.output.startswith("6:")
    db.execute(text("DELETE FROM audit_record WHERE seq >= 5"))
    fourth = db.scalar(select(AuditRecord.hash).where(AuditRecord.seq == 4))
    db.execute(text("UPDATE audit_head SET seq = 4, last_hash = :h WHERE id = 1"), {"h": fourth})
    db.commit()
    assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 0  # nothing inside the database shows it
    bad = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", f"@{heads}"])
    assert bad.exit_code == 1 and "truncated" in bad.output and "cut from the end" in bad.output


def test_a_forged_record_appended_in_the_database_is_caught(db: Session) -> None:
    """Found: a record inserted with a recomputed SHA-256 hash (and the head moved to it) verified."""
    import json

    from idiograph.security.audit import Actor, _fields
    from idiograph.security.audit_chain import legacy_hash

    _append(db, 3)
    prev = db.scalar(select(AuditRecord.hash).where(AuditRecord.seq == 3))
    at = db.scalar(select(AuditRecord.at).where(AuditRecord.seq == 3))
    fields = _fields(at, Actor(None, "mallory", "admin"), "read", "Person", None, None, None, {})
    forged = legacy_hash(prev, fields)
    db.execute(
        AuditRecord.__table__.insert().values(
            seq=4,
            at=at,
            actor="mallory",
            actor_id=None,
            role="admin",
            action="read",
            resource_type="Person",
            resource_id=None,
            person_id=None,
            reason=None,
            detail=json.loads("{}"),
            prev_hash=prev,
            hash=forged,
        )
    )
    db.execute(text("UPDATE audit_head SET seq = 4, last_hash = :h WHERE id = 1"), {"h": forged})
    db.commit()
    _, _, problems = audit.verify(db)
    assert [(p.seq, p.kind) for p in problems] == [(4, "edited")]


def test_a_legacy_chain_is_re_keyed_on_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The 0009 migration checks the old unkeyed chain whole, then re-hashes it under the key."""
    import uuid
    from datetime import UTC, datetime

    import pytest

    from idiograph.db import Database, make_engine
    from idiograph.migrate import upgrade
    from idiograph.security.audit import Actor, _fields
    from idiograph.security.audit_chain import GENESIS, legacy_hash

    records = 5003  # more than one page of the migration's 5000

    def legacy_db(name: str, break_at: int | None = None):  # type: ignore[no-untyped-def]
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine, "0008")
        prev = GENESIS
        rows = []
        for seq in range(1, records + 1):
            at = datetime(2026, 1, 1, tzinfo=UTC).replace(microsecond=seq % 1000)
            person = uuid.UUID(int=seq) if seq % 2 else None
            detail = {"via": "web", "note": "Zoë"} if seq % 3 else {}
            fields = _fields(at, Actor(None, "system:old", "system"), "read", "Person", None, person, None, detail)
            h = legacy_hash(prev, fields)
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": "system:old",
                    "actor_id": None,
                    "role": "system",
                    "action": "read",
                    "resource_type": "Person",
                    "resource_id": None,
                    "person_id": person,
                    "reason": None,
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": h if seq != break_at else "0" * 64,
                }
            )
            prev = h
        with engine.begin() as c:
            c.execute(AuditRecord.__table__.insert(), rows)
            c.execute(text("UPDATE audit_head SET seq = :n, last_hash = :h WHERE id = 1"), {"n": records, "h": prev})
        return engine

    key = "the-audit-key-outside-the-database-01"
    engine = legacy_db("ok.db")
    with pytest.raises(RuntimeError, match="needs the audit key"):
        upgrade(engine)
    upgrade(engine, audit_key=key)
    with Database(engine, audit_key=key).reader() as s:
        n, _, problems = audit.verify(s)
    assert (n, problems) == (records, [])
    with pytest.raises(RuntimeError, match="broken at record 2:"):
        upgrade(legacy_db("broken.db", break_at=2), audit_key=key)
    late = legacy_db("broken-late.db", break_at=5002)  # on the second page: the first page's re-keying is undone
    with pytest.raises(RuntimeError, match="broken at record 5002:"):
        upgrade(late, audit_key=key)
    first = _fields(
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        Actor(None, "system:old", "system"),
        "read",
        "Person",
        None,
        uuid.UUID(int=1),
        None,
        {"via": "web", "note": "Zoë"},
    )
    with late.connect() as c:
        assert c.execute(text("SELECT hash FROM audit_record WHERE seq = 1")).scalar() == legacy_hash(GENESIS, first)
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"


def test_the_server_refuses_to_start_with_another_audit_key(database, db, make_staff, settings) -> None:  # type: ignore[no-untyped-def]
    """A server started with a different key would chain every new record under it: the trail would break where
    it started. It refuses, naming the setting."""
    import pytest
    from fastapi.testclient import TestClient

    from idiograph.app import create_app
    from idiograph.db import Database
    from idiograph.security.audit import WrongAuditKey

    make_staff("clin", "clinician", ("North",))  # writes audit records under the test key
    wrong = Database(database.engine, database.connection, audit_key="some-other-key-of-thirty-two-chars!!")
    other = settings.model_copy(update={"audit_key": "some-other-key-of-thirty-two-chars!!"})
    app = create_app(other, database=wrong)
    with pytest.raises(WrongAuditKey, match="IDIOGRAPH_AUDIT_KEY"), TestClient(app):
        pass
    # no background jobs: they would share the test's one connection with the request
    with TestClient(create_app(settings, database=database)) as c:
        assert c.get("/healthz").status_code == 200


def test_the_server_exports_the_audit_head_by_itself(database, db, make_staff, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The periodic export (at start-up, then every audit_head_seconds) appends where the chain ends, in the form
    ``audit verify --expect-head @FILE`` reads."""
    import time

    from fastapi.testclient import TestClient

    from idiograph.app import create_app
    from idiograph.security.audit import head

    make_staff("clin", "clinician", ("North",))
    heads = tmp_path / "heads"
    app = create_app(settings.model_copy(update={"audit_head_file": heads}), database=database)
    with TestClient(app) as c:
        deadline = time.monotonic() + 10
        while not (heads.exists() and heads.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.get("/healthz").status_code == 200
    at = head(db)
    (line,) = heads.read_text().splitlines()
    assert line.endswith(f" {at.seq}:{at.hash}") and at.seq > 0
