"""Episode vocabularies and the rules an episode must keep (pure)."""

from __future__ import annotations

from datetime import date

from idiograph.errors import FieldProblem

REFERRAL_SOURCES = (
    "self",
    "gp",
    "secondary_care",
    "primary_care_other",
    "voluntary_sector",
    "employer",
    "education",
    "other",
)
PRESENTING_PROBLEMS = (
    "depression",
    "generalised_anxiety",
    "mixed_anxiety_depression",
    "panic",
    "social_anxiety",
    "ptsd",
    "ocd",
    "health_anxiety",
    "specific_phobia",
    "eating_disorder",
    "psychosis",
    "bipolar",
    "personality_disorder",
    "substance_use",
    "other",
)
DISCHARGE_REASONS = (
    "completed",
    "disengaged",
    "declined",
    "not_suitable",
    "transferred",
    "moved_away",
    "died",
    "other",
)


def episode_problems(referral: date, discharge: date | None, reason: str | None, today: date) -> list[FieldProblem]:
    """Why an episode's dates and discharge fields do not hang together (empty when they do)."""
    out: list[FieldProblem] = []
    if referral > today:
        out.append(FieldProblem("referral_date", "is in the future"))
    if discharge is not None:
        if discharge < referral:
            out.append(FieldProblem("discharge_date", "is before the referral date"))
        if discharge > today:
            out.append(FieldProblem("discharge_date", "is in the future"))
        if reason is None:
            out.append(FieldProblem("discharge_reason", "is required when a discharge date is given"))
    elif reason is not None:
        out.append(FieldProblem("discharge_date", "is required when a discharge reason is given"))
    return out
