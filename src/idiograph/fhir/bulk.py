"""FHIR Bulk Data export (HL7 Bulk Data Access IG v2): NDJSON per resource type for a team or the service.

The asynchronous pattern: a kick-off request (``Prefer: respond-async``) answers 202 with the status URL; the export
runs in its own thread over one database snapshot, a keyset page of 1,000 at a time; the status URL answers 202 with
``X-Progress`` while it runs, then 200 with the manifest; each file is fetched with the same account's token. Every
person whose record went into a file gets an audit record naming the export.

Scopes: ``Group/[team id]/$export`` (a team the caller belongs to: its caseload), ``$export`` and
``Patient/$export`` (every record the caller may open), and the whole service for the operator at the command line
(``idiograph export bulk``).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import Database, utcnow
from idiograph.errors import DomainError, FieldProblem, Forbidden, InvalidInput, NotFound
from idiograph.fhir import search as fs
from idiograph.fhir import sources
from idiograph.fhir.model import BulkExport
from idiograph.fhir.service import EVERYTHING
from idiograph.patients.model import CaseloadAssignment
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

TYPES = EVERYTHING  # the same types, in the same order, as $everything
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PAGE = 1000


def _bad(name: str, reason: str) -> InvalidInput:
    err = InvalidInput(f"{name}: {reason}", [FieldProblem(name, reason)])
    err.status, err.title = 400, "Bad export request"
    return err


@dataclass(frozen=True)
class Request:
    scope: str  # service | team | caseload
    team_id: uuid.UUID | None
    types: list[str]
    url: str


def parse_request(
    params: list[tuple[str, str]], prefer: str | None, scope: str, team_id: uuid.UUID | None, url: str
) -> Request:
    """The kick-off's parameters, checked: ``_type`` narrows the types, ``_outputFormat`` must be NDJSON;
    ``_since`` is refused (idiograph does not keep a last-updated time for every type, so it cannot honour it)."""
    if "respond-async" not in (prefer or ""):
        raise _bad("Prefer", "a bulk export runs asynchronously: send 'Prefer: respond-async'")
    types = list(TYPES)
    for name, value in params:
        if name == "_type":
            asked = [t.strip() for t in value.split(",") if t.strip()]
            unknown = [t for t in asked if t not in TYPES]
            if unknown:
                raise _bad("_type", f"{', '.join(unknown)} not held here (choose from {', '.join(TYPES)})")
            types = [t for t in TYPES if t in asked]
        elif name == "_outputFormat":
            if value not in OUTPUT_FORMATS:
                raise _bad("_outputFormat", f"{value!r} is not produced: use application/fhir+ndjson")
        elif name == "_since":
            raise _bad("_since", "is not supported: export everything and compare")
        else:
            raise _bad(name, "is not a parameter of $export here (use _type, _outputFormat)")
    return Request(scope, team_id, types, url)


def kick_off(session: Session, principal: Principal, req: Request) -> BulkExport:
    """Record the request (audited) and return it queued; the caller starts ``run`` once this is committed."""
    principal.require(Permission.DATA_EXPORT)
    if req.scope == "team" and not principal.is_system and req.team_id not in principal.team_ids:
        raise Forbidden("you can export only a team you belong to")
    if req.scope == "service" and not principal.is_system:
        raise Forbidden("the whole service is exported by the operator (idiograph export bulk)")
    job = BulkExport(
        requested_by=principal.username,
        user_id=principal.user_id,
        scope=req.scope,
        team_id=req.team_id,
        types=req.types,
        request_url=req.url,
        status="queued",
        progress="waiting to start",
        files=[],
    )
    session.add(job)
    session.flush()
    audit.append(
        session,
        principal.actor,
        "export",
        "BulkExport",
        str(job.id),
        None,
        detail={
            "via": "fhir",
            "scope": req.scope,
            "team": str(req.team_id) if req.team_id else None,
            "types": req.types,
        },
    )
    return job


def job_for(session: Session, principal: Principal, job_id: str) -> BulkExport:
    """The caller's own export (another account's is not found: its existence is not shown)."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise NotFound(f"no export {job_id!r}") from None
    job = session.get(BulkExport, key)
    if job is None or (not principal.is_system and job.user_id != principal.user_id):
        raise NotFound(f"no export {job_id!r}")
    return job


def folder(export_dir: Path, job_id: uuid.UUID) -> Path:
    return export_dir / str(job_id)


def _people(principal: Principal, job: BulkExport) -> Any:
    if job.scope == "team":
        return select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == job.team_id)
    return None  # caseload: what the principal may open (sources applies it); service: everyone (system)


def run(
    database: Database,
    job_id: uuid.UUID,
    principal: Principal,
    export_dir: Path,
    progress: Callable[[str, int], None] | None = None,
    out: Path | None = None,
) -> None:
    """Write the export's files from one snapshot, then mark it done (or failed, with the reason) and audit each
    person exported. Runs in its own thread (or the CLI's)."""
    out = out or folder(export_dir, job_id)
    try:
        with database.writer() as s:
            job = s.get(BulkExport, job_id)
            if job is None or job.status != "queued":
                return
            job.status, job.progress = "running", "started"
            types, people_stmt = list(job.types), _people(principal, job)
        out.mkdir(parents=True, exist_ok=True)
        files: list[dict[str, object]] = []
        people: dict[uuid.UUID, int] = {}
        with database.reader() as s:
            started = utcnow()
            for n, rt in enumerate(types, 1):
                count = 0
                name = f"{rt}.ndjson"
                with (out / name).open("w", encoding="utf-8") as f:
                    cursor: fs.Cursor | None = None
                    while True:
                        search = fs.Search(rt, count=PAGE, sort=fs.default_sort(rt), total=False, cursor=cursor)
                        page = sources.search(s, principal, search, people_stmt)
                        for r in page.resources:
                            f.write(json.dumps(r, separators=(",", ":")) + "\n")
                        count += len(page.resources)
                        for pid, k in page.people.items():
                            people[pid] = people.get(pid, 0) + k
                        if progress is not None:
                            progress(rt, count)
                        if page.next is None:
                            break
                        cursor = page.next
                if count:
                    files.append({"type": rt, "name": name, "count": count})
                else:
                    (out / name).unlink()
                if not _set_progress(database, job_id, f"{n} of {len(types)} types written ({rt}: {count:,})"):
                    shutil.rmtree(out, ignore_errors=True)  # cancelled: stop here, keep nothing
                    return
        with database.writer() as s:
            job = s.get(BulkExport, job_id)
            if job is None or job.status == "cancelled":
                shutil.rmtree(out, ignore_errors=True)
                return
            job.status, job.files, job.transaction_time, job.finished_at = "done", files, started, utcnow()
            job.progress = f"{sum(int(str(f['count'])) for f in files):,} resources about {len(people):,} people"
            audit.append_many(
                s,
                principal.actor,
                [
                    audit.Entry(
                        "export",
                        "Patient",
                        str(pid),
                        pid,
                        None,
                        {"via": "bulk-export", "export": str(job_id), "resources": k},
                    )
                    for pid, k in sorted(people.items())
                ],
            )
    except Exception as exc:  # the export fails whole and says why; nothing half-written is offered
        shutil.rmtree(out, ignore_errors=True)
        with database.writer() as s:
            job = s.get(BulkExport, job_id)
            if job is not None:
                job.status, job.finished_at = "failed", utcnow()
                job.error = str(exc) if isinstance(exc, DomainError) else f"the export failed ({type(exc).__name__})"
        if not isinstance(exc, DomainError):
            raise


def _set_progress(database: Database, job_id: uuid.UUID, text: str) -> bool:
    """Record progress; False when the export was cancelled meanwhile."""
    with database.writer() as s:
        job = s.get(BulkExport, job_id)
        if job is None or job.status != "running":
            return False
        job.progress = text[:200]
        return True


def manifest(job: BulkExport, base: str) -> dict[str, Any]:
    """The completion manifest (Bulk Data IG: transactionTime, request, requiresAccessToken, output, error)."""
    return {
        "transactionTime": (job.transaction_time or job.requested_at).isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": f["type"], "url": f"{base}/$export-file/{job.id}/{f['name']}", "count": f["count"]}
            for f in job.files
        ],
        "error": [],
    }


def expires(job: BulkExport, keep_hours: int) -> datetime:
    return (job.finished_at or job.requested_at) + timedelta(hours=keep_hours)


def cancel(session: Session, principal: Principal, job_id: str, export_dir: Path) -> None:
    """DELETE on the status URL: a running export stops after the type it is writing; a finished one's files are
    removed."""
    job = job_for(session, principal, job_id)
    if job.status in ("queued", "running"):
        job.status = "cancelled"
    elif job.status == "done":
        job.status = "deleted"
    job.finished_at = job.finished_at or utcnow()
    shutil.rmtree(folder(export_dir, job.id), ignore_errors=True)
    audit.append(session, principal.actor, "delete", "BulkExport", str(job.id), None, detail={"via": "fhir"})


def file_path(
    session: Session, principal: Principal, job_id: str, name: str, export_dir: Path, keep_hours: int
) -> Path:
    """The file of a finished export of the caller's, until it expires (audited as a read of the export)."""
    job = job_for(session, principal, job_id)
    if job.status != "done" or name not in {str(f["name"]) for f in job.files}:
        raise NotFound(f"no file {name!r} in export {job_id}")
    path = folder(export_dir, job.id) / name
    expired = job.finished_at is not None and job.finished_at < utcnow() - timedelta(hours=keep_hours)
    if expired or not path.exists():
        raise NotFound(f"the files of export {job_id} have expired: start the export again")
    audit.append(session, principal.actor, "read", "BulkExport", str(job.id), None, detail={"file": name})
    return path


def remove_expired(session: Session, export_dir: Path, keep_hours: int) -> int:
    """Delete the files of exports finished more than ``keep_hours`` ago; returns how many were removed."""
    cutoff = utcnow() - timedelta(hours=keep_hours)
    n = 0
    for job in session.scalars(select(BulkExport).where(BulkExport.status == "done", BulkExport.finished_at < cutoff)):
        shutil.rmtree(folder(export_dir, job.id), ignore_errors=True)
        job.status = "expired"
        n += 1
    return n
