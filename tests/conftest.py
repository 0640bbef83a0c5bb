"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL (IDIOGRAPH_TEST_POSTGRES_URL)."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from idiograph.app import create_app
from idiograph.cli import app as cli
from idiograph.config import Settings, get_settings
from idiograph.db import Database, make_engine
from idiograph.migrate import upgrade
from idiograph.models import metadata
from idiograph.security import sessions
from idiograph.security.audit import ensure_head
from idiograph.security.principal import Principal
from idiograph.security.service import create_user, principal_for
from idiograph.security.teams import team_by_name

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-not-for-production"
AUDIT_KEY = "test-audit-key-not-for-production-0123456789"
PG_URL = os.environ.get("IDIOGRAPH_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def _postgres_engine() -> Iterator[Engine]:
    if not PG_URL:
        pytest.skip("IDIOGRAPH_TEST_POSTGRES_URL not set (make test sets it)")
    name = f"idiograph_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        with _postgres_engine() as eng:
            upgrade(eng)
            yield eng


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                c.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def committed(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Database]:
    """For the few tests that need writes other connections see (threads racing, a CLI in another process): a
    database on the engine itself, emptied before and after. Ask for it before ``db`` to take this path."""
    _empty(engine)
    yield Database(engine, audit_key=AUDIT_KEY)
    _empty(engine)


@pytest.fixture
def database(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Database]:
    """Every session of the test (the app's, the CLI's, the test's own) joins one outer transaction on one
    connection, rolled back when the test ends: nothing a test writes outlives it, on either backend."""
    if "committed" in request.fixturenames:
        yield request.getfixturevalue("committed")
        return
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield Database(engine, connection, audit_key=AUDIT_KEY)
        finally:
            outer.rollback()


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    """A session on an empty database (audit head in place)."""
    with database.session() as s:
        ensure_head(s)
        s.commit()
        yield s


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=SECRET,
        audit_key=AUDIT_KEY,
        instance_uri="urn:idiograph:test",
        max_body_bytes=2 * 1024 * 1024,
        rule_retry_seconds=0,
        public_base_url="http://testserver",
        audit_head_file=None,
    )


@pytest.fixture
def app(db: Session, settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, database=database)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@dataclass
class Staff:
    username: str
    role: str
    principal: Principal
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_staff(db: Session) -> Callable[..., Staff]:
    def make(username: str, role: str, teams: tuple[str, ...] = ()) -> Staff:
        user = create_user(db, Principal.system("test"), username, role, PASSWORD, None, list(teams))
        token = sessions.issue(db, user.id, "api", 8 * 3600)
        db.commit()
        return Staff(username, role, principal_for(db, user), token)

    return make


@pytest.fixture
def team_ids(db: Session) -> Callable[[str], uuid.UUID]:
    def get(name: str) -> uuid.UUID:
        t = team_by_name(db, name, create=True)
        db.commit()
        return t.id

    return get


@pytest.fixture
def synthea_bundle() -> dict[str, Any]:
    """A transaction Bundle in the shape of Synthea's US Core output (tests/fhir/data/README.md)."""
    data = Path(__file__).parent / "fhir" / "data" / "synthea_style_us_core.json"
    return copy.deepcopy(json.loads(data.read_text()))


def api_routes(app) -> list:  # type: ignore[no-untyped-def]
    """Every APIRoute of the app, through included routers (FastAPI 0.16x keeps them as included-router objects,
    so ``app.routes`` alone holds none: a walk over it checked nothing)."""
    from fastapi.routing import APIRoute

    out = []
    stack = list(app.routes)
    while stack:
        r = stack.pop(0)
        if isinstance(r, APIRoute):
            out.append(r)
        elif getattr(r, "original_router", None) is not None:
            stack.extend(r.original_router.routes)
    return out


@pytest.fixture
def run(db: Session, settings, database, monkeypatch):  # type: ignore[no-untyped-def]
    """Run a CLI command inside the test's database transaction: ``run("export", "bulk", "--out", DIR)``."""
    from idiograph.cli import common

    monkeypatch.setattr(common, "given", database)
    monkeypatch.setenv("IDIOGRAPH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IDIOGRAPH_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("IDIOGRAPH_INSTANCE_URI", settings.instance_uri)
    get_settings.cache_clear()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), input=input)

    yield invoke
    get_settings.cache_clear()
