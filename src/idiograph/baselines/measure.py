"""What a clinician sees for one measure: the person's band, the population's, and the method in words (pure).

Empirical Bayes with the service's prior; without a prior, Coskun's biological-variation PRI; with neither,
say so. The latest result is judged against the interval built from the earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from idiograph.baselines import biological_variation as bv
from idiograph.baselines.intervals import Interval, Scale
from idiograph.baselines.normal_normal import Prior, interval, population_interval
from idiograph.observations.catalogue import CodeDef


def scale_of(c: CodeDef) -> Scale:
    return "log" if c.scale == "log" else "linear"


def bounds_of(c: CodeDef) -> tuple[float | None, float | None]:
    return (c.min, c.max)


def usable(value: float, scale: Scale) -> bool:
    """A zero or negative result cannot be modelled on the log scale; it is left out, not failed."""
    return scale == "linear" or value > 0


def in_order(rows: Iterable[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """Time order, equal times by value: the same results in any order give the same state."""
    return sorted(rows)


@dataclass(frozen=True)
class MeasureBaseline:
    """One measure's personal baseline for the person page and the API."""

    system: str
    code: str
    display: str
    unit: str
    kind: str
    n: int
    personal: Interval | None
    population: Interval | None
    note: str  # what the band is and, when there is none, why
    latest_value: float | None
    latest_at: datetime | None
    latest_outside: bool | None  # latest result against the interval from the earlier ones
    rcv: tuple[float, float, float] | None  # symmetric, up, down (%), for analytes with published CVI


def baselines_from_points(
    c: CodeDef,
    points: Sequence[tuple[datetime, float]],
    prior: Prior | None,
    coverage: float,
    prior_people: int = 0,
) -> MeasureBaseline:
    """The band for a measure from its results: empirical Bayes with the service's prior; without a prior,
    Coskun's biological-variation PRI; with neither, say so."""
    scale = scale_of(c)
    pts = in_order((t, v) for t, v in points if usable(v, scale))
    values = [v for _, v in pts]
    latest = pts[-1] if pts else None
    var = bv.table().get((c.system, c.code))
    rcv = None
    if var is not None:
        up, down = bv.rcv_lognormal(var.cvi, var.cva)
        rcv = (bv.rcv_symmetric(var.cvi, var.cva), up, down)
    personal = population = None
    earlier: Interval | None = None
    if prior is not None:
        personal = interval(prior, values, coverage, bounds_of(c))
        population = population_interval(prior, coverage, bounds_of(c))
        earlier = interval(prior, values[:-1], coverage, bounds_of(c)) if values else None
        note = (
            f"{personal.method}; prior from {prior_people:,} people in this service"
            if values
            else f"no results yet: the population interval from {prior_people:,} people"
        )
    else:
        personal = bv.pri(values, var, coverage)
        earlier = bv.pri(values[:-1], var, coverage) if values else None
        note = (
            f"{personal.method}; no population prior for this measure yet"
            if personal
            else "too few results of their own and no population prior or published variation for this measure"
        )
    if c.kind == "questionnaire-total" and c.min is not None and c.max is not None:
        note += f"; modelled on the score scale, limits kept within {c.min:g}-{c.max:g}"
    if personal is not None and personal.n < 3 and prior is not None:
        note += f" - only {personal.n} result{'s' if personal.n != 1 else ''} of their own, so mostly the population's"
    return MeasureBaseline(
        c.system,
        c.code,
        c.display,
        c.unit,
        c.kind,
        len(values),
        personal,
        population,
        note,
        latest[1] if latest else None,
        latest[0] if latest else None,
        earlier.outside(latest[1]) if earlier is not None and latest is not None else None,
        rcv,
    )
