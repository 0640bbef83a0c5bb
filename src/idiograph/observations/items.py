"""Questionnaire items sent one row each (a CSV file or an API batch, rather than a questionnaire response):
a set of an instrument's items at one time is one answered questionnaire, and a safety item missing from it is
a safety item left unanswered - said, and prompted, as on every other path (hazard H-044)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import NewObservation


@cache
def _item_owner() -> dict[tuple[str, str], str]:
    """(system, item code) -> the instrument it belongs to, for instruments with a safety item."""
    return {
        (inst.item_system, i.code): inst.id for inst in instruments().values() if inst.safety_codes for i in inst.items
    }


def missing_safety_items(rows: Sequence[NewObservation]) -> list[Unanswered]:
    """For each person, instrument and time with some of the instrument's items but not its safety item(s): one
    ``Unanswered`` per missing safety item. Pure; the caller drops those already stored earlier."""
    owner = _item_owner()
    groups: dict[tuple[UUID, str, datetime], set[str]] = defaultdict(set)
    sources: dict[tuple[UUID, str, datetime], str] = {}
    for r in rows:
        inst = owner.get((r.system, r.code))
        if inst is not None:
            groups[(r.person_id, inst, r.time)].add(r.code)
            sources.setdefault((r.person_id, inst, r.time), r.source)
    out = []
    for (pid, inst_id, time), codes in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2])):
        for code in instruments()[inst_id].safety_codes:
            if code not in codes:
                key = f"{sources[(pid, inst_id, time)]}|{pid}|{inst_id}|{time.isoformat()}"
                out.append(Unanswered(pid, None, inst_id, code, time, key))
    return out


def unanswered_safety_items(session: Session, rows: Sequence[NewObservation]) -> list[Unanswered]:
    """``missing_safety_items``, less any whose answer is already stored (sent earlier, in another batch)."""
    out = []
    for u in missing_safety_items(rows):
        system = instruments()[u.instrument].item_system
        stored = session.scalar(
            select(Observation.id).where(
                Observation.person_id == u.person_id,
                Observation.system == system,
                Observation.code == u.code,
                Observation.effective_at == u.time,
            )
        )
        if stored is None:
            out.append(u)
    return out
