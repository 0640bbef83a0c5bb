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
    get_settings.cache_clear()


def test_a_failed_use_case_leaves_no_audit_record(db: Session) -> None:
    actor = Principal.system("test").actor
    audit.append(db, actor, "read", "Person")
    db.rollback()
    assert db.scalar(select(AuditRecord.seq)) is None
    _append(db, 1)
    assert audit.verify(db)[2] == []
