"""Safety items: any answer above 0 to an instrument's declared safety item (PHQ-9 item 9) raises an alert
to the person's care team at once, whatever the total and however the answer arrived (CLINICAL.md §1)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.alerts.service import NewAlert, raise_many
from idiograph.measures.definitions import instruments
from idiograph.observations import service as observations
from idiograph.security.audit import Actor


@dataclass(frozen=True)
class SafetyFinding:
    person_id: uuid.UUID
    code: str
    text: str
    instrument: str
    value: float
    time: datetime
    source_key: str


@lru_cache(maxsize=1)
def safety_items() -> dict[tuple[str, str], tuple[str, str, int]]:
    """(system, code) -> (instrument id, item text, lowest answer) for every declared safety item."""
    return {
        (inst.item_system, i.code): (inst.id, i.text, inst.item_range(i)[0])
        for inst in instruments().values()
        for i in inst.items
        if i.safety
    }


def findings(rows: Sequence[observations.StoredRow]) -> list[SafetyFinding]:
    """Safety answers above 0 among stored rows (pure)."""
    items = safety_items()
    out = []
    for r in rows:
        hit = items.get((r.system, r.code))
        if hit and r.value > hit[2]:
            out.append(SafetyFinding(r.person_id, r.code, hit[1], hit[0], r.value, r.time, f"{r.source}|{r.source_id}"))
    return out


def raise_alerts(session: Session, actor: Actor, rows: Sequence[observations.StoredRow]) -> None:
    """One alert per safety answer (never twice for the same source record), audited."""
    raise_many(
        session,
        actor,
        [
            NewAlert(
                f.person_id,
                Kind.SAFETY,
                f"Safety answer on {f.instrument.upper()}: review now",
                f"'{f.text}' answered {int(f.value)} (above 0) on {f.time.date().isoformat()}",
                f.source_key,
                {"code": f.code, "value": f.value, "time": f.time.isoformat(), "instrument": f.instrument},
            )
            for f in findings(rows)
        ],
    )


observations.on_stored(raise_alerts)
