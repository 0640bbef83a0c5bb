"""One transaction per request: services flush, never commit; a page reads one snapshot and audits once."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import func, select, text

from idiograph.db import Database
from idiograph.security import audit
from idiograph.security.model import AuditRecord

SRC = Path(__file__).resolve().parents[1] / "src" / "idiograph"
# The shells that own a unit of work: the database module, the CLI batches of the demo loader.
SHELLS = {"db.py", "synth/load.py"}


def test_services_never_commit() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in SHELLS or rel.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if (isinstance(node.func, ast.Attribute) and node.func.attr == "commit") or (
                isinstance(node.func, ast.Name) and node.func.id == "transaction"
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_a_failed_use_case_stores_nothing_not_even_its_audit(database: Database, db, team_ids) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from idiograph.errors import Conflict
    from idiograph.patients.model import Person
    from idiograph.patients.schema import PersonIn
    from idiograph.patients.service import create_person
    from idiograph.security.principal import Principal

    team = team_ids("North")
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    with pytest.raises(Conflict), database.writer() as s:
        create_person(s, Principal.system("test"), PersonIn(given_name="A", family_name="B", team_id=team))
        raise Conflict("a later step of the same request failed")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Person)) == 0
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == before


def test_a_read_view_is_read_only_and_audited_once(database: Database, db) -> None:  # type: ignore[no-untyped-def]
    actor = audit.Actor(None, "system:test", "system")
    with database.reader() as s:
        audit.append(s, actor, "read", "Person", None, None, detail={"via": "test"})
        audit.append(s, actor, "read", "Observation", None, None, detail={"count": 3})
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == 0  # nothing written yet
    db.expire_all()
    rows = db.scalars(select(AuditRecord)).all()
    assert [(r.action, r.resource_type) for r in rows] == [("read", "View")]
    assert [x["type"] for x in rows[0].detail["showed"]] == ["Person", "Observation"]


def test_a_write_audited_inside_a_read_view_is_refused(database: Database) -> None:
    import pytest

    actor = audit.Actor(None, "system:test", "system")
    with pytest.raises(RuntimeError, match="read-only"), database.reader() as s:
        audit.append(s, actor, "update", "Person")


def test_the_test_database_rolls_back_between_tests_part_one(db) -> None:  # type: ignore[no-untyped-def]
    from idiograph.security.model import Team

    db.add(Team(name="Left behind?"))
    db.commit()
    assert db.scalar(text("SELECT count(*) FROM team")) == 1


def test_the_test_database_rolls_back_between_tests_part_two(db) -> None:  # type: ignore[no-untyped-def]
    assert db.scalar(text("SELECT count(*) FROM team")) == 0
