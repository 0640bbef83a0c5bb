"""A person's progress on each instrument: first-to-latest change with reliable change and caseness."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from idiograph.instruments.definitions import instruments
from idiograph.measures.change import MeasureChange, since_first
from idiograph.observations import service as observations
from idiograph.security.principal import Principal


def changes_from(points: Iterable[tuple[str, str, datetime, float]]) -> list[MeasureChange]:
    """(system, code, time, value) rows -> one change per instrument whose total appears (pure)."""
    by_total = {(i.total.system, i.total.code): i for i in instruments().values()}
    series: dict[str, list[tuple[datetime, float]]] = {}
    for system, code, time, value in points:
        inst = by_total.get((system, code))
        if inst is not None:
            series.setdefault(inst.id, []).append((time, value))
    out = []
    for inst_id, pts in series.items():
        change = since_first(instruments()[inst_id], [v for _, v in sorted(pts)])
        if change is not None:
            out.append(change)
    return sorted(out, key=lambda c: c.instrument)


def changes_for_person(session: Session, principal: Principal, person_id: uuid.UUID) -> list[MeasureChange]:
    obs = observations.for_person(session, principal, person_id, via="reliable-change")
    return changes_from((o.system, o.code, o.effective_at, o.value) for o in obs)
