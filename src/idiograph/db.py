"""Engine, the unit of work and the declarative base shared by every capability's ``model.py``.

One transaction per request or command (DESIGN rule 5): the shell opens it with ``Database.writer()`` (commit
everything, audit included, or nothing) or ``Database.reader()`` (one consistent snapshot: REPEATABLE READ, read
only, on PostgreSQL; one deferred transaction on SQLite), and services only flush."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Connection, DateTime, Dialect, Engine, Table, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, Uuid

from idiograph import governed

governed.install()  # no UPDATE of a governed fact outside a decision, on any engine (idiograph.governed)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in storage on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: idiograph stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: Uuid}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily and not at all for SELECTs, which breaks snapshots and SAVEPOINT;
    # idiograph issues BEGIN itself (``_sqlite_begin``), as the SQLAlchemy documentation recommends.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    # A commit that crosses the checkpoint threshold copies the WAL into the database file itself, which took
    # 20-60 ms (the whole p99 of a stored result); the server checkpoints in the background every few seconds
    # (``checkpoint``), so a request meets this much larger threshold only if that stops.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.close()


SQLITE_BUSY_MS = 5000  # a writer waits this long for the write lock, then gets "database is locked" (a 503)
SQLITE_AUTOCHECKPOINT_PAGES = 20_000  # about 80 MB of WAL before a commit checkpoints by itself


def _sqlite_begin(conn: Connection) -> None:
    """Writers (``sqlite_begin="IMMEDIATE"``, set by ``Database.writer``) take the write lock at BEGIN, so they
    queue instead of failing when they upgrade a read; everything else reads one snapshot and never blocks a
    writer (WAL)."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def checkpoint(engine: Engine) -> None:
    """Copy the SQLite write-ahead log into the database (PASSIVE: never waits for readers or writers); the
    server runs this in the background. Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def make_engine(url: str, sqlite_synchronous: str = "FULL", **pool: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL, a busy timeout and explicit BEGIN. SQLite commits
    reach the disk (``synchronous=FULL``) unless a deployment chooses NORMAL, which is faster at the tail but
    can lose the last commits on power failure (never corrupts)."""
    if url.startswith("sqlite"):
        if sqlite_synchronous.upper() not in ("FULL", "NORMAL"):
            raise ValueError("sqlite_synchronous must be FULL or NORMAL")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
            hide_parameters=True,
            **{k: v for k, v in pool.items() if k in ("pool_size", "max_overflow", "pool_timeout")},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        mode = sqlite_synchronous.upper()
        event.listen(engine, "connect", lambda dbapi, _rec: dbapi.execute(f"PRAGMA synchronous={mode}"))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # psycopg 3 prepares a statement server-side after 5 runs, and PostgreSQL's generic plan for a long
    # IN list scans the table (measured: 200 rows/s on re-import); custom plans use the unique index.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    # A bounded pool with a short wait: under overload a request gets "no connection free" (a 503 with
    # Retry-After) within pool_timeout seconds, never an endless wait.
    # hide_parameters: an error message or log line never carries the values bound to a statement (patient data).
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True, **pool)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit everything (audit included) or nothing: for the shells (CLI, tests, background work) that own
    the unit of work. Services never call this."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


class DatabaseBusy(Exception):
    """A writer waited longer than ``SQLITE_BUSY_MS`` for its turn (a quick 503 with Retry-After, never a hang)."""


class Database:
    """Where sessions come from, and the two kinds of unit of work a shell opens.

    Built on an engine, or (tests) on one connection whose outer transaction is rolled back afterwards: every
    session then joins it through a savepoint, so a test's writes, committed or not, never outlive it. Its
    sessions carry the audit key (``session.info``), which the audit chain needs and the database never holds."""

    def __init__(self, engine: Engine, connection: Connection | None = None, audit_key: str | None = None) -> None:
        self.engine, self.connection = engine, connection
        # SQLite has one writer at a time. Threads that wait for its lock poll with sleeps of up to 100 ms (the
        # busy handler): under a burst they waited seconds for a lock free most of the time. Writers of one
        # process queue here instead, and meet the busy handler only against other processes.
        self._write_lock = threading.Lock() if connection is None and engine.dialect.name == "sqlite" else None
        info = {"audit_key": audit_key.encode("utf-8")} if audit_key else {}
        if connection is None:
            self._maker = sessionmaker(bind=engine, expire_on_commit=False, info=info)
        else:
            self._maker = sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint", info=info
            )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._maker()

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """One read-write transaction, committed when the block ends (rolled back on any exception)."""
        lock = self._write_lock
        if lock is not None and not lock.acquire(timeout=SQLITE_BUSY_MS / 1000):
            raise DatabaseBusy("database is locked: every writer of this process waited its turn too long")
        try:
            with self._maker() as session, transaction(session):
                if lock is not None:
                    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                yield session
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """One consistent, read-only snapshot. What it must leave behind (the audit record of what it showed) is
        registered with ``after_snapshot`` and written in a short write transaction committed before the block
        ends, so nothing is shown that is not in the audit trail."""
        session = self._maker()
        session.info["read_only"] = True
        try:
            if self.connection is None and self.dialect == "postgresql":
                session.connection(
                    execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
                )
            yield session
        except BaseException:
            session.close()
            raise
        session.close()  # the snapshot keeps nothing; loaded objects stay readable
        for write in session.info.get("after_snapshot", ()):
            with self.writer() as w:
                write(w)


def after_snapshot(session: Session, write: Callable[[Session], object]) -> None:
    """Run ``write`` in its own write transaction once a read-only session's snapshot has closed."""
    session.info.setdefault("after_snapshot", []).append(write)


def read_only(session: Session) -> bool:
    return bool(session.info.get("read_only"))


def _converter(column_type: object, dialect: str) -> Any:
    if isinstance(column_type, JSON):
        return lambda v: None if v is None else json.dumps(v, separators=(",", ":"))
    if dialect != "sqlite":
        return None
    if isinstance(column_type, Uuid):
        return lambda v: None if v is None else v.hex
    if isinstance(column_type, UTCDateTime):
        return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return None


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one driver ``executemany``, converting values as SQLAlchemy would store them.

    Several times faster than ORM or Core inserts for large batches (benchmarks/ingest.py); every column
    must be given (no Python-side defaults run here). ``test_bulk_insert_stores_what_the_orm_would`` holds
    the conversion to the ORM's."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    cols = [c for c in table.columns]
    convert = [_converter(c.type, dialect) for c in cols]
    names = ", ".join(f'"{c.name}"' for c in cols)
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(cols))
    data = [tuple(f(r[c.name]) if f else r[c.name] for c, f in zip(cols, convert, strict=True)) for r in rows]
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', data)


T = TypeVar("T")


def chunked(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items``: keeps ``IN (...)`` lists within every backend's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
