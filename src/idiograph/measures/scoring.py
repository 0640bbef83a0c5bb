"""Scoring a questionnaire from item answers: total, band, proration and safety items (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from idiograph.measures.definitions import Instrument


@dataclass(frozen=True)
class Score:
    total: int | None  # None when too many items are missing: never silently zero
    band: str | None
    prorated: bool
    missing: tuple[str, ...]
    safety_positive: tuple[str, ...]  # safety items answered above 0
    safety_unanswered: tuple[str, ...]


def band_of(instrument: Instrument, total: int) -> str:
    for b in instrument.bands:
        if b.min <= total <= b.max:
            return b.label
    raise ValueError(f"{instrument.id}: total {total} outside {instrument.min_total}-{instrument.max_total}")


def validate_answers(instrument: Instrument, answers: Mapping[str, int | None]) -> list[tuple[str, str]]:
    """(item code, reason) for every answer that is not one of the instrument's items or values."""
    allowed = {a.value for a in instrument.answers}
    problems = []
    for code, value in answers.items():
        if instrument.item(code) is None:
            problems.append((code, f"not an item of {instrument.id}"))
        elif value is not None and value not in allowed:
            problems.append((code, f"answer {value} not one of {sorted(allowed)}"))
    return problems


def score(instrument: Instrument, answers: Mapping[str, int | None]) -> Score:
    """Total by the instrument's own missing-item rule (prorate = answered mean x items, half up)."""
    problems = validate_answers(instrument, answers)
    if problems:
        raise ValueError("; ".join(f"{c}: {r}" for c, r in problems))
    answered = {i.code: answers[i.code] for i in instrument.items if answers.get(i.code) is not None}
    missing = tuple(i.code for i in instrument.items if i.code not in answered)
    safety = tuple(i.code for i in instrument.items if i.safety)
    positive = tuple(c for c in safety if (answered.get(c) or 0) > 0)
    unanswered = tuple(c for c in safety if c not in answered)
    rule = instrument.missing_rule
    total: int | None
    if not missing:
        total, prorated = sum(v for v in answered.values() if v is not None), False
    elif rule.method == "prorate" and len(missing) <= rule.max_missing and answered:
        mean = sum(v for v in answered.values() if v is not None) / len(answered)
        total, prorated = math.floor(mean * len(instrument.items) + 0.5), True
    else:
        total, prorated = None, False
    return Score(
        total, band_of(instrument, total) if total is not None else None, prorated, missing, positive, unanswered
    )
