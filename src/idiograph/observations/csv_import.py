"""Importing a long-format CSV: the whole file in one transaction, idempotent on re-import."""

from __future__ import annotations

import uuid

from rich.progress import Progress
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import InvalidInput
from idiograph.observations import csv_format
from idiograph.observations.items import unanswered_safety_items
from idiograph.observations.recording import Recorder
from idiograph.observations.schema import IngestResult
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.observations.validation import observation_problems
from idiograph.patients.identity import upsert_person
from idiograph.patients.service import resolve_team
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def source_system(source: str) -> str:
    return f"urn:idiograph:source:{source}"


def import_csv(
    session: Session,
    principal: Principal,
    text: str,
    source: str = "csv",
    team_id: uuid.UUID | None = None,
    progress: Progress | None = None,
    *,
    record: Recorder,
) -> tuple[IngestResult, int]:
    """Store every row of ``text`` or nothing; returns the observation counts and people created."""
    principal.require(Permission.DATA_IMPORT)
    content = csv_format.parse(text)
    codes = CodeBook(session)
    now = utcnow()
    for r in content.rows:
        for p in observation_problems(
            f"line {r.line}", codes.get(r.system, r.code), r.system, r.code, r.value, r.unit, r.time, now
        ):
            content.problems.append(p)
    if content.problems:
        shown = content.problems[:200]
        raise InvalidInput(f"{len(content.problems)} problem(s) in the file; nothing was stored", shown)
    team = resolve_team(session, principal, team_id, "team")
    system = source_system(source)
    person_ids: dict[str, uuid.UUID] = {}
    created = 0
    task = progress.add_task("people", total=len(content.people)) if progress else None
    for ref, fields in content.people.items():
        fields.setdefault("given_name", "(not given)")
        fields.setdefault("family_name", ref)
        person, status = upsert_person(session, principal, fields, [(system, ref)], team.id, where=f"person {ref}")
        person_ids[ref] = person.id
        created += status == "created"
        if status != "unchanged":
            action = "create" if status == "created" else "update"
            audit.append(
                session,
                principal.actor,
                action,
                "Person",
                str(person.id),
                person.id,
                detail={"via": "csv", "source": source},
            )
        if progress and task is not None:
            progress.advance(task)
    rows = [
        NewObservation(
            person_ids[r.person_ref], r.system, r.code, r.value, r.unit, r.time, f"csv:{source}", r.source_id
        )
        for r in content.rows
    ]
    unanswered = unanswered_safety_items(session, rows)
    detail = {"via": "csv", "source": source}
    result = record(session, principal.actor, codes, rows, unanswered=unanswered, audit_detail=detail).ingest
    return result, created
