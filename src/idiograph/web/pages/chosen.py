"""The chosen option's predicted course on the person's charts, and predicted against actual in the decision history
(from the prediction each treatment decision keeps)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from idiograph.governance.model import Decision
from idiograph.instruments.definitions import instruments
from idiograph.selection.choice import against_actual, prediction_of
from idiograph.web.charts import ChosenBand


def bands(decisions: Sequence[Decision]) -> dict[tuple[str, str], ChosenBand]:
    """The course of the intervention now in place, per measure (keyed by the measure's total (system, code)), as
    dated points from its week 0: from the latest applied change of intervention, and none when that change was
    made without choosing from the options (an older choice's band would describe an option no longer given)."""
    changes = [d for d in decisions if d.status == "applied" and "intervention" in d.change.split("+")]
    if not changes:
        return {}
    p = prediction_of(changes[-1]) or {}
    if not p.get("course"):
        return {}
    start = p.get("course_start")
    if not start:
        return {}
    t0 = datetime.fromisoformat(str(start))
    course = p["course"]
    out: dict[tuple[str, str], ChosenBand] = {}
    for m, band in course["measures"].items():
        total = instruments()[m].total
        points = [
            (t0 + timedelta(weeks=w), e, lo, hi)
            for w, e, lo, hi in zip(course["weeks"], band["expected"], band["lower"], band["upper"], strict=True)
        ]
        out[(total.system, total.code)] = ChosenBand(str(p.get("label", p.get("option"))), points)
    return out


def actuals(
    decisions: Sequence[Decision], scores: dict[str, list[tuple[datetime, float]]]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """For each decision with a prediction, the scores since its week 0 against the band for their week."""
    return {d.id: against_actual(p, scores) for d in decisions if (p := prediction_of(d))}


def scores_by_measure(
    points: dict[tuple[str, str], list[tuple[datetime, float]]],
) -> dict[str, list[tuple[datetime, float]]]:
    """PHQ-9 and GAD-7 totals from a page's series already read (no second read)."""
    out: dict[str, list[tuple[datetime, float]]] = {}
    for m in ("phq-9", "gad-7"):
        total = instruments()[m].total
        out[m] = sorted(points.get((total.system, total.code), []))
    return out
