"""What a use case that stores observations is given: a ``Recorder`` (the pipeline, passed in by the shell), so
the store and its rules run in the written order of ``idiograph.pipeline`` without this layer importing it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fastapi import Request
from sqlalchemy.orm import Session

from idiograph.observations.schema import IngestResult
from idiograph.observations.service import CodeBook, NewObservation, StoredRow
from idiograph.security.audit import Actor


@dataclass(frozen=True)
class Unanswered:
    """An item of a questionnaire response left unanswered: no observation is stored for it, so it is said."""

    person_id: uuid.UUID
    group_id: uuid.UUID | None  # the response
    instrument: str
    code: str
    time: datetime
    source_key: str  # the response's source|source_id


@dataclass(frozen=True)
class Recorded:
    """What storing a batch did: the rows, the alerts raised, and any statistical rule that failed (recorded for
    administrators and retried; the rows and the safety alerts are stored whatever happens to those)."""

    ingest: IngestResult
    stored: tuple[StoredRow, ...]
    alerts_raised: int
    failed_rules: tuple[str, ...] = ()
    paused_rules: tuple[str, ...] = ()  # held for some of these people by an earlier failure

    @property
    def checks_not_run(self) -> list[str]:
        """The statistical checks that did not judge some of these results yet (failed now, or paused by an
        earlier failure for the person): administrators have been told, and they run when retried."""
        return sorted(set(self.failed_rules) | set(self.paused_rules))


class Recorder(Protocol):
    def __call__(
        self,
        session: Session,
        actor: Actor,
        codes: CodeBook,
        rows: Sequence[NewObservation],
        *,
        unanswered: Sequence[Unanswered] = (),
        audit_action: str = "write",
        audit_detail: dict[str, object] | None = None,
    ) -> Recorded: ...


def recorder(request: Request) -> Recorder:
    """FastAPI dependency: the pipeline the app was built with (``app.state.recorder``)."""
    return request.app.state.recorder  # type: ignore[no-any-return]
