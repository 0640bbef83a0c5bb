"""Engine, sessions and the declarative base shared by every capability's ``model.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Dialect, Engine, Table, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, Uuid


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
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # psycopg 3 prepares a statement server-side after 5 runs, and PostgreSQL's generic plan for a long
    # IN list scans the table (measured: 200 rows/s on re-import); custom plans use the unique index.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One use case, one transaction: commit everything (audit included) or nothing."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


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
