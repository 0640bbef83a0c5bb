"""How well one therapist fits a person's stated preferences (pure, mypy --strict): which preferences are met and
which are not, in words, and the weighted score the ranking sorts by (weights from ``matching.yaml``).

Preferences are soft: they order suitable therapists and never exclude one (the hard constraints are in
``allocate.constraint_problems``). Group format is not a therapist's preference: it is offered by the service.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idiograph.matching.settings import Weights

_AT = {"clinic": "at a clinic", "home": "at home", "community": "in the community", "remote": "remotely"}


@dataclass(frozen=True)
class Fit:
    met: tuple[str, ...]
    unmet: tuple[str, ...]
    score: float


def places_words(places: Sequence[str]) -> str:
    return " or ".join(_AT.get(p, f"at {p.replace('_', ' ')}") for p in places)


def fit(
    prefs: Mapping[str, Any],
    formats: Collection[str],
    places: Collection[str],
    gender: str | None,
    seen_before: bool,
    weights: Weights,
) -> Fit:
    """``prefs``: the person's stated preferences (``formats``, ``places``, ``therapist_gender``); the rest describe
    the therapist: the formats and places they offer, their gender, and whether they saw this person before."""
    met: list[str] = []
    unmet: list[str] = []
    score = 0.0
    wanted = [f for f in prefs.get("formats") or [] if f != "group"]
    if wanted and weights.preferred_format:
        offered = [f for f in wanted if f in formats]
        (met if offered else unmet).append(f"offers {', '.join(x.replace('_', ' ') for x in offered or wanted)}")
        score += weights.preferred_format if offered else 0.0
    where = prefs.get("places") or []
    if where and weights.preferred_place:
        offered = [p for p in where if p in places]
        (met if offered else unmet).append(f"sees people {places_words(offered or where)}")
        score += weights.preferred_place if offered else 0.0
    asked = prefs.get("therapist_gender")
    if asked and weights.preferred_gender:
        ok = gender == asked
        (met if ok else unmet).append(f"{asked} therapist")
        score += weights.preferred_gender if ok else 0.0
    if seen_before and weights.continuity:
        met.append("saw them before (continuity)")
        score += weights.continuity
    return Fit(tuple(met), tuple(unmet), score)
