"""A synthetic service's referrals as matching sees them: who was referred, to which team, in which problem domain,
with which language and format, who they were allocated to, and their PHQ-9 course; the staff who can be allocated
to; and, apart, each therapist's true strength by domain (the truth the evaluation is judged against)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from idiograph import languages
from idiograph.evaluation.selection_data import MIN_TREATMENT, _day, _on_or_before
from idiograph.evaluation.synthetic import table
from idiograph.matching.settings import Settings
from idiograph.patients.demographics import age_band, ethnic_group


@dataclass(frozen=True)
class Referral:
    person_id: str
    episode_id: str
    team_id: str
    clinician_id: str  # as allocated
    domain: str
    referral: date
    language: str | None
    preferred_format: str | None
    finished: bool  # at least MIN_TREATMENT treatment sessions attended (a finished course)
    scores: tuple[float, ...]  # PHQ-9 from referral to discharge, in time order
    groups: dict[str, str]


@dataclass(frozen=True)
class Staff:
    clinician_id: str
    team_id: str
    name: str
    role: str
    capacity: int
    languages: tuple[str, ...]
    formats: tuple[str, ...]


def referrals(folder: Path, settings: Settings, instrument: str = "phq-9") -> list[Referral]:
    """Every episode whose presenting problem has a domain, in referral order."""
    people = {r["person_id"]: r for r in table(folder, "people").to_pylist()}
    scores: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    for r in table(folder, "responses").select(["episode_id", "instrument", "authored", "total"]).to_pylist():
        if r["instrument"] == instrument and r["total"] is not None:
            scores[r["episode_id"]].append((r["authored"], float(r["total"])))
    out = []
    for ep in table(folder, "episodes").to_pylist():
        domain = settings.domain_of(ep["presenting_problem"])
        if domain is None or not ep["clinician_id"]:
            continue
        p = people[ep["person_id"]]
        referral = _day(ep["referral_date"])
        birth = _day(p["birth_date"])
        own = sorted(s for s in scores.get(ep["episode_id"], []) if _on_or_before(s[0], ep))
        language = p.get("preferred_language") or "en"
        out.append(
            Referral(
                ep["person_id"],
                ep["episode_id"],
                ep["team_id"],
                ep["clinician_id"],
                domain,
                referral,
                language,
                p.get("preferred_format"),
                ep["discharge_date"] is not None and (ep["attended_treatment"] or 0) >= MIN_TREATMENT,
                tuple(v for _, v in own),
                {
                    "ethnic group": ethnic_group(p["ethnicity"]),
                    "sex": p["sex"],
                    "age band": age_band(birth, referral),
                    "language": languages.name(language) or "not recorded",
                },
            )
        )
    out.sort(key=lambda r: (r.referral, r.episode_id))
    return out


def staff(folder: Path) -> list[Staff]:
    return [
        Staff(
            r["clinician_id"],
            r["team_id"],
            r["name"],
            r["role"],
            int(r["capacity"]),
            tuple(r["languages"] or ()),
            tuple(r["formats"] or ()),
        )
        for r in table(folder, "clinicians").to_pylist()
    ]


def true_strengths(folder: Path) -> dict[tuple[str, str], float]:
    """(clinician, domain) -> the generator's true strength (latent improvement, population SDs; higher better)."""
    return {
        (r["clinician_id"], r["domain"]): float(r["strength"]) for r in table(folder, "truth/therapists").to_pylist()
    }
