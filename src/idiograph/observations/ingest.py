"""The API's batch of observations: every row valid and permitted, or nothing stored; stored by the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.observations.items import unanswered_safety_items
from idiograph.observations.recording import Recorder
from idiograph.observations.schema import IngestResult, ObservationIn
from idiograph.observations.service import CodeBook, NewObservation, validate_rows
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def _check_episodes(session: Session, rows: Iterable[NewObservation]) -> list[FieldProblem]:
    problems = []
    for i, r in enumerate(rows):
        if r.episode_id is not None:
            ep = session.get(Episode, r.episode_id)
            if ep is None or ep.person_id != r.person_id:
                problems.append(FieldProblem(f"observations/{i}/episode_id", "no such episode for this person"))
    return problems


def ingest(session: Session, principal: Principal, items: Sequence[ObservationIn], record: Recorder) -> IngestResult:
    """The API batch: all rows valid and permitted, or nothing stored."""
    principal.require(Permission.PERSON_WRITE)
    rows = [
        NewObservation(i.person_id, i.system, i.code, i.value, i.unit, i.time, i.source, i.source_id, i.episode_id)
        for i in items
    ]
    codes = CodeBook(session)
    problems = validate_rows(codes, rows) + _check_episodes(session, rows)
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in the batch; nothing was stored", problems)
    for person_id in sorted({r.person_id for r in rows}):
        ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    unanswered = unanswered_safety_items(session, rows)
    return record(session, principal.actor, codes, rows, unanswered=unanswered, audit_detail={"via": "api"}).ingest
