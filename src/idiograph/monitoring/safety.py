"""Safety items (CLINICAL.md §1): any answer above the lowest option to an instrument's declared safety item
(PHQ-9 item 9) raises an alert to the person's care team at once, whatever the total and however the answer
arrived; a safety item left unanswered raises a prompt to ask it. The pipeline runs this rule first, in the
answer's own transaction, so no answer is ever stored without it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from idiograph.alerts.kinds import Kind
from idiograph.alerts.service import NewAlert
from idiograph.instruments.definitions import Instrument, Item, instruments
from idiograph.observations import display
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import StoredRow


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
def _items() -> dict[tuple[str, str], tuple[Instrument, Item]]:
    return {(inst.item_system, i.code): (inst, i) for inst in instruments().values() for i in inst.items if i.safety}


def safety_items() -> dict[tuple[str, str], tuple[str, str, int]]:
    """(system, code) -> (instrument id, item text, lowest answer) for every declared safety item."""
    return {k: (inst.id, item.text, inst.item_range(item)[0]) for k, (inst, item) in _items().items()}


def findings(rows: Sequence[StoredRow]) -> list[SafetyFinding]:
    """Safety answers above the lowest option among stored rows (pure): ``Instrument.safety_positive`` decides,
    the same rule that scores the response."""
    items = _items()
    out = []
    for r in rows:
        hit = items.get((r.system, r.code))
        if hit and hit[0].safety_positive(hit[1], r.value):
            inst, item = hit
            out.append(
                SafetyFinding(r.person_id, r.code, item.text, inst.id, r.value, r.time, f"{r.source}|{r.source_id}")
            )
    return out


def _lowest(f: SafetyFinding) -> str:
    inst = instruments()[f.instrument]
    item = inst.item(f.code)
    if item is None:
        return "the lowest"
    lo = inst.item_range(item)[0]
    return f"{lo}, {answer_words(inst, item, lo)}"


def item_label(inst: Instrument, code: str) -> str:
    """ "item 9" for the ninth item of the instrument."""
    return f"item {[i.code for i in inst.items].index(code) + 1}"


def answer_words(inst: Instrument, item: Item, value: float) -> str:
    """The answer as the person chose it ('More than half the days'), else the number."""
    chosen = next((a.display for a in inst.options(item) if a.value == value), None)
    return f"'{chosen}'" if chosen else f"{value:g}"


def safety_reason(f: SafetyFinding) -> str:
    """'<item text>' answered 'More than half the days' (PHQ-9 item 9) on 3 Nov 2026."""
    inst = instruments()[f.instrument]
    item = inst.item(f.code)
    said = answer_words(inst, item, f.value) if item else f"{f.value:g}"
    return f"'{f.text}' answered {said} ({inst.id.upper()} {item_label(inst, f.code)}) on {display.day(f.time)}."


def alerts(rows: Sequence[StoredRow], unanswered: Sequence[Unanswered] = ()) -> list[NewAlert]:
    """The alerts the rule raises: one per safety answer (never twice for the same source record) and one prompt
    per safety item left unanswered on a response."""
    out = [
        NewAlert(
            f.person_id,
            Kind.SAFETY,
            f"Safety answer on {f.instrument.upper()}: review now",
            safety_reason(f),
            f.source_key,
            {
                "code": f.code,
                "value": f.value,
                "time": f.time.isoformat(),
                "instrument": f.instrument,
                "workings": f"Answer value {f.value:g}; any answer above the lowest option "
                f"({_lowest(f)}) to a safety item raises this alert, whatever the total.",
            },
            group_key=f"safety|{f.person_id}",  # repeat answers stack under the person's open safety alert
        )
        for f in findings(rows)
    ]
    for u in unanswered:
        inst = instruments()[u.instrument]
        item = inst.item(u.code)
        if item is None or not item.safety:
            continue
        label = item_label(inst, u.code)
        out.append(
            NewAlert(
                u.person_id,
                Kind.SAFETY_UNANSWERED,
                f"{inst.id.upper()} {label} not answered: ask it",
                f"'{item.text}' ({label}) was left unanswered on {display.day(u.time)}; the total does not "
                "show risk. Ask the person at the next contact, or sooner if anything else suggests risk.",
                f"{u.source_key}#unanswered:{u.code}",
                {
                    "code": u.code,
                    "instrument": inst.id,
                    "time": u.time.isoformat(),
                    "response_id": str(u.group_id) if u.group_id else None,
                },
            )
        )
    return out
