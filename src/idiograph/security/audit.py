"""Appending to and verifying the audit trail. Appends run inside the caller's transaction, so the
record is stored exactly when the data it describes is. Records are chained by an HMAC under the audit key,
which lives outside the database (``Settings.audit_key``) and reaches sessions through ``Database``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session

from idiograph.db import after_snapshot, bulk_insert, read_only, utcnow
from idiograph.security.audit_chain import GENESIS, ChainEntry, ChainProblem, Head, record_hash, verify_chain
from idiograph.security.model import AuditHead, AuditRecord


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself (CLI, background jobs)."""

    user_id: uuid.UUID | None
    username: str
    role: str

    @classmethod
    def system(cls, name: str = "cli") -> Actor:
        return cls(None, f"system:{name}", "system")


def key_of(session: Session) -> bytes:
    """The audit key the session's Database was given (never stored in the database)."""
    key = session.info.get("audit_key")
    if not key:
        raise RuntimeError("no audit key: build the Database with Settings.audit_key (IDIOGRAPH_AUDIT_KEY)")
    return bytes(key)


_HEAD = AuditHead.__table__
_BUMP = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("n"))
    .returning(_HEAD.c.seq, _HEAD.c.last_hash)
)
_SET_LAST = _HEAD.update().where(_HEAD.c.id == 1).values(last_hash=bindparam("h"))


def _fields(
    at: datetime,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | None,
    person_id: uuid.UUID | None,
    reason: str | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    return {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor.username,
        "actor_id": str(actor.user_id) if actor.user_id else None,
        "role": actor.role,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "person_id": str(person_id) if person_id else None,
        "reason": reason,
        "detail": detail,
    }


def record_fields(r: AuditRecord) -> dict[str, Any]:
    actor = Actor(r.actor_id, r.actor, r.role)
    return _fields(r.at, actor, r.action, r.resource_type, r.resource_id, r.person_id, r.reason, r.detail)


READS = frozenset({"read", "list", "search", "export"})


@dataclass
class View:
    """The reads of one read-only unit of work (a page view, an API GET, an export), kept to be written as one
    audit record naming what was shown."""

    entries: list[tuple[Actor, Entry]] = field(default_factory=list)


def _collect(session: Session, actor: Actor, entry: Entry) -> bool:
    """In a read-only unit of work, a read is collected for the view's one record (True), written once the
    snapshot closes; anything else is an error."""
    if not read_only(session):
        return False
    view = session.info.get("audit_view")
    if view is None:
        view = session.info["audit_view"] = View()
        after_snapshot(session, lambda w: write_view(w, view))
    if entry.action not in READS:
        raise RuntimeError(f"{entry.action!r} audited in a read-only unit of work: writes need a writer")
    view.entries.append((actor, entry))
    return True


def write_view(session: Session, view: View) -> None:
    """One record for the whole view: a single read as it is, several as ``View`` with what each showed."""
    if not view.entries:
        return
    actor = view.entries[0][0]
    if len(view.entries) == 1:
        append_many(session, actor, [view.entries[0][1]])
        return
    people = {e.person_id for _, e in view.entries if e.person_id is not None}
    showed = [
        {
            "action": e.action,
            "type": e.resource_type,
            **({"id": e.resource_id} if e.resource_id else {}),
            **({"person": str(e.person_id)} if e.person_id and len(people) > 1 else {}),
            **{k: v for k, v in (e.detail or {}).items() if k != "via"},
        }
        for _, e in view.entries
    ]
    via = next((str(e.detail["via"]) for _, e in view.entries if e.detail and "via" in e.detail), None)
    detail: dict[str, Any] = {"showed": showed} | ({"via": via} if via else {})
    action = "read" if any(e.action == "read" for _, e in view.entries) else view.entries[0][1].action
    append(session, actor, action, "View", None, next(iter(people)) if len(people) == 1 else None, None, detail)


_LOCK_HEAD = select(_HEAD.c.seq).where(_HEAD.c.id == 1).with_for_update()


def lock_head(session: Session) -> None:
    """Take the audit head's row lock now (PostgreSQL; SQLite writers are serialised already). Every writer
    takes it at its first audit record; work that locks other rows before its first record (a rule retry) takes
    it first, so that both lock in the same order and cannot deadlock."""
    session.execute(_LOCK_HEAD)


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, last_hash=GENESIS))
        session.flush()


def append(
    session: Session,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | None = None,
    person_id: uuid.UUID | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one record (in a read-only view: collect the read for the view's one record)."""
    append_many(session, actor, [Entry(action, resource_type, resource_id, person_id, reason, detail or {})])


@dataclass(frozen=True)
class Entry:
    """One audit record waiting to be appended with others."""

    action: str
    resource_type: str
    resource_id: str | None = None
    person_id: uuid.UUID | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


def append_many(session: Session, actor: Actor, entries: list[Entry]) -> None:
    """Append several records under one lock of the head row: the same chain as one by one, in order."""
    entries = [e for e in entries if not _collect(session, actor, e)]
    if not entries:
        return
    # Bumping the head row first takes its row lock, so concurrent writers queue (Core, not ORM: this runs on
    # every audited request).
    row = session.execute(_BUMP, {"n": len(entries)}).one_or_none()
    if row is None:
        ensure_head(session)
        append_many(session, actor, entries)
        return
    last_seq, prev = row
    key = key_of(session)
    seq = last_seq - len(entries)
    rows = []
    for e in entries:
        seq += 1
        at = utcnow()
        detail = e.detail or {}
        fields = _fields(at, actor, e.action, e.resource_type, e.resource_id, e.person_id, e.reason, detail)
        digest = record_hash(key, prev, fields)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor.username,
                "actor_id": actor.user_id,
                "role": actor.role,
                "action": e.action,
                "resource_type": e.resource_type,
                "resource_id": e.resource_id,
                "person_id": e.person_id,
                "reason": e.reason,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    bulk_insert(session, AuditRecord.__table__, rows)
    session.execute(_SET_LAST, {"h": prev})


def newest(
    session: Session, actor: Actor, person_id: uuid.UUID | None = None, before: int | None = None, limit: int = 100
) -> list[AuditRecord]:
    """The trail newest first (of one person, or everyone), paged by ``before``; reading it is recorded."""
    q = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if person_id:
        q = q.where(AuditRecord.person_id == person_id)
    if before:
        q = q.where(AuditRecord.seq < before)
    rows = list(session.scalars(q))
    append(session, actor, "read", "AuditTrail", None, person_id, detail={"count": len(rows)})
    return rows


@dataclass(frozen=True)
class Filter:
    """What an audit search keeps: records about these people (``None``: anyone; empty: nobody matched), done by
    these usernames, of this action, at or after ``since`` and before ``until``."""

    person_ids: tuple[uuid.UUID, ...] | None = None
    usernames: tuple[str, ...] | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None

    def shown(self) -> dict[str, Any]:
        """The filter as stored in the search's own audit record."""
        return {
            k: v
            for k, v in {
                "people": [str(p) for p in self.person_ids] if self.person_ids is not None else None,
                "users": list(self.usernames) if self.usernames is not None else None,
                "action": self.action,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
            }.items()
            if v is not None
        }


def _where(f: Filter) -> list[Any]:
    conds: list[Any] = []
    if f.person_ids is not None:
        # a record about them, or a view that listed them among others (its detail names their id)
        text = cast(AuditRecord.detail, String)
        conds.append(
            or_(AuditRecord.person_id.in_(f.person_ids), *[text.like(f"%{p}%") for p in f.person_ids[:20]])
            if f.person_ids
            else AuditRecord.seq < 0
        )
    if f.usernames is not None:
        names = [*f.usernames, *(f"anonymous:{u}"[:120] for u in f.usernames)]  # their failed sign-ins too
        conds.append(AuditRecord.actor.in_(names) if names else AuditRecord.seq < 0)
    if f.action:
        conds.append(AuditRecord.action == f.action)
    if f.since:
        conds.append(AuditRecord.at >= f.since)
    if f.until:
        conds.append(AuditRecord.at < f.until)
    if f.before_seq:
        conds.append(AuditRecord.seq < f.before_seq)
    return conds


def search(
    session: Session, actor: Actor, f: Filter, offset: int = 0, limit: int = 50
) -> tuple[int, list[AuditRecord]]:
    """(how many records match, one page of them newest first); reading the trail is itself recorded, with the
    filter used."""
    conds = _where(f)
    total = int(session.scalar(select(func.count()).select_from(AuditRecord).where(*conds)) or 0)
    rows = list(
        session.scalars(select(AuditRecord).where(*conds).order_by(AuditRecord.seq.desc()).offset(offset).limit(limit))
    )
    one = f.person_ids[0] if f.person_ids and len(f.person_ids) == 1 else None
    detail = {"filter": f.shown(), "total": total, "offset": offset, "count": len(rows)}
    append(session, actor, "search", "AuditTrail", None, one, detail=detail)
    return total, rows


def actions(session: Session) -> list[str]:
    """Every action the trail holds, for the filter's list."""
    return sorted(session.scalars(select(AuditRecord.action).distinct()))


def head(session: Session) -> Head:
    """Where the chain ends now: export it (``idiograph audit head``) and keep it elsewhere."""
    row = session.get(AuditHead, 1)
    return Head(row.seq, row.last_hash) if row else Head(0, GENESIS)


def verify(session: Session, expect: Head | None = None, batch: int = 5000) -> tuple[int, str, list[ChainProblem]]:
    """Walk the whole trail under the audit key; returns (records read, head hash, problems). ``expect``: a
    head exported earlier, which the trail must still contain."""
    head_row = session.get(AuditHead, 1)
    key = key_of(session)
    read = 0

    def entries() -> Iterator[ChainEntry]:
        nonlocal read
        last = 0
        while True:
            rows = session.scalars(
                select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
            ).all()
            if not rows:
                return
            for r in rows:
                read += 1
                yield ChainEntry(r.seq, record_fields(r), r.prev_hash, r.hash)
            last = rows[-1].seq

    problems = verify_chain(
        entries(), key, head_row.seq if head_row else None, head_row.last_hash if head_row else None, expect
    )
    return read, head_row.last_hash if head_row else GENESIS, problems


class WrongAuditKey(RuntimeError):
    """The audit key given does not verify the last record: writing on would break the chain from here."""


def check_key(session: Session) -> None:
    """The last record verifies under this session's audit key, or ``WrongAuditKey`` (a server started with
    another key would chain every new record under it, and the trail would break where it started)."""
    last = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    if last is not None and record_hash(key_of(session), last.prev_hash, record_fields(last)) != last.hash:
        raise WrongAuditKey(
            f"the audit key does not verify audit record {last.seq}: check IDIOGRAPH_AUDIT_KEY (or the key file) "
            "is the one this database was written with; not starting"
        )


def export_head(path: Path, at: Head) -> None:
    """Append ``time SEQ:HASH`` to ``path`` (the periodic head export; copy the file away from the database)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{utcnow().isoformat(timespec='seconds')} {at}\n")
