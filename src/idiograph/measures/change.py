"""A person's change on an instrument, judged by the instrument's one reliable-change rule (CLINICAL.md §2-3).

Where a national criterion exists (NHS Talking Therapies: PHQ-9 6, GAD-7 4 points) it decides, on the record,
in the API and in the national metrics alike; Jacobson-Truax decides for instruments without one (pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from idiograph.instruments.definitions import Instrument, instruments
from idiograph.methods.reliable_change import Change, Criterion, standard_error


def measurement_error(inst: Instrument) -> float | None:
    """The instrument's standard error of measurement from its reliable-change inputs, if it has them."""
    rc = inst.reliable_change
    return standard_error(rc.sd, rc.reliability) if rc is not None else None


def criterion(inst: Instrument) -> Criterion | None:
    """The instrument's one reliable-change rule, or None when its reliability is not known; its direction is the
    instrument's (a rise is an improvement on a satisfaction scale such as DIALOG)."""
    rc = inst.reliable_change
    return None if rc is None else Criterion(rc.sd, rc.reliability, rc.points, not inst.higher_is_better)


@dataclass(frozen=True)
class MeasureChange:
    """A person's change on one instrument from their first to their latest total."""

    instrument: str
    title: str
    first: float
    latest: float
    n: int
    change: Change | None  # None with a single score, or when the instrument has no published reliability
    case_first: bool | None  # None when the instrument has no caseness threshold
    case_latest: bool | None


def since_first(inst: Instrument, totals: Sequence[float]) -> MeasureChange | None:
    """First-to-latest change on an instrument's totals in time order; None with no totals."""
    if not totals:
        return None
    first, latest = totals[0], totals[-1]
    rule = criterion(inst)
    change = rule.judge(first, latest) if rule and len(totals) > 1 else None
    cut = inst.caseness.min if inst.caseness else None
    return MeasureChange(
        inst.id,
        inst.title,
        first,
        latest,
        len(totals),
        change,
        None if cut is None else first >= cut,
        None if cut is None else latest >= cut,
    )


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
