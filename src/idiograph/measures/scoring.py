"""Scoring a questionnaire from item answers: total, band, proration and safety items (pure).

A summed instrument's total is a whole number with a band. A MEAN-scored one (DIALOG) has no total and no band:
its scores are means on the items' own scale (``Score.means``), kept apart so that a mean is never shown, stored
or summed as a total."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from idiograph.instruments.definitions import Instrument


@dataclass(frozen=True)
class Score:
    total: int | None  # None when too many items are missing: never silently zero
    band: str | None
    prorated: bool
    missing: tuple[str, ...]
    safety_positive: tuple[str, ...]  # safety items answered above 0
    safety_unanswered: tuple[str, ...]
    # a mean-scored instrument's scores, (code system, code) -> mean (None when too many of its items are missing),
    # the total's code first then each subscale's; empty for a summed instrument
    means: tuple[tuple[tuple[str, str], float | None], ...] = ()


def band_of(instrument: Instrument, total: int) -> str:
    for b in instrument.bands:
        if b.min <= total <= b.max:
            return b.label
    raise ValueError(f"{instrument.id}: total {total} outside {instrument.min_total}-{instrument.max_total}")


def validate_answers(instrument: Instrument, answers: Mapping[str, int | None]) -> list[tuple[str, str]]:
    """(item code, reason) for every answer that is not one of the instrument's items or values."""
    problems = []
    for code, value in answers.items():
        item = instrument.item(code)
        if item is None:
            problems.append((code, f"not an item of {instrument.id}"))
            continue
        allowed = sorted(a.value for a in instrument.options(item))
        if value is not None and value not in allowed:
            problems.append((code, f"answer {value} not one of {allowed}"))
    return problems


def score(instrument: Instrument, answers: Mapping[str, int | None]) -> Score:
    """Total by the instrument's own missing-item rule (prorate = answered mean x items, half up).

    Reverse-scored items count as their mirror (CORE-10 items 2 and 3); a safety item is positive when
    answered above its lowest option."""
    problems = validate_answers(instrument, answers)
    if problems:
        raise ValueError("; ".join(f"{c}: {r}" for c, r in problems))
    points: dict[str, int] = {}
    for item in instrument.items:
        value = answers.get(item.code)
        if value is not None:
            points[item.code] = instrument.scored(item, value)
    missing = tuple(i.code for i in instrument.items if i.code not in points)
    safety = [i for i in instrument.items if i.safety]
    positive = tuple(i.code for i in safety if i.code in points and instrument.safety_positive(i, answers[i.code] or 0))
    unanswered = tuple(i.code for i in safety if i.code not in points)
    rule = instrument.missing_rule
    if instrument.scoring == "mean":
        means = mean_scores(instrument, points)
        return Score(None, None, False, missing, positive, unanswered, means)
    total: int | None
    if not missing:
        total, prorated = sum(points.values()), False
    elif rule.method == "prorate" and len(missing) <= rule.max_missing and points:
        mean = sum(points.values()) / len(points)
        total, prorated = math.floor(mean * len(instrument.items) + 0.5), True
    else:
        total, prorated = None, False
    return Score(
        total, band_of(instrument, total) if total is not None else None, prorated, missing, positive, unanswered
    )


def mean_of(instrument: Instrument, items: tuple[str, ...], points: Mapping[str, int]) -> float | None:
    """The mean of ``items`` over those answered, or None when more than the missing rule allows are missing
    (rule "none": any). Not rounded: a screen shows it to one or two decimal places."""
    answered = [points[c] for c in items if c in points]
    rule = instrument.missing_rule
    allowed = rule.max_missing if rule.method == "prorate" else 0
    if not answered or len(items) - len(answered) > allowed:
        return None
    return sum(answered) / len(answered)


def mean_scores(instrument: Instrument, points: Mapping[str, int]) -> tuple[tuple[tuple[str, str], float | None], ...]:
    """A mean-scored instrument's total (the mean of its ``total_items``) and subscale means, by code."""
    t = instrument.total
    out = [((t.system, t.code), mean_of(instrument, instrument.mean_items, points))]
    out += [((s.code.system, s.code.code), mean_of(instrument, s.items, points)) for s in instrument.subscales]
    return tuple(out)
