"""A synthetic person's ``intake`` row as the intake record's sections (pure, no random draws: the generated data
and its fingerprints stay the same), and which demo clinician, in which profession, recorded each section."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from idiograph.synth.person.intake import SOCIAL

# the demo staff's professions (synth.load.STAFF), so that the record shows each discipline's part
PROFESSIONS = {
    "clin.north": "clinical_psychologist",
    "cc.north": "mental_health_nurse",
    "clin.south": "psychological_therapist",
    "cmht.cc": "social_worker",
    "senior": "psychiatrist",
}
ASSESSOR = {  # team name -> (who assessed, who recorded the psychosocial context)
    "North Talking Therapies": ("clin.north", "cc.north"),
    "South Talking Therapies": ("clin.south", "clin.south"),
    "Community Mental Health Team": ("senior", "cmht.cc"),
}
MEDICATION = "taking medication (not named in the synthetic data)"


def sections_of(row: dict[str, Any], presenting_problem: str) -> dict[str, dict[str, Any]]:
    """The intake sections' answers by field id (intake.yaml) from the synthetic ``intake`` row."""
    agreed = bool(row["psychosocial_recorded"])
    goals = [
        {"goal": row[f"goal_{i}"], "rating": int(row[f"goal_{i}_rating"])}
        for i in (1, 2, 3)
        if row.get(f"goal_{i}") is not None
    ]
    return {
        "presenting": {
            "presenting_problem": presenting_problem,
            "problem_duration_months": int(row["problem_duration_months"]),
        },
        "history": {
            "previous_treatment": row["previous_treatment"] or "none",
            "previous_response": row["previous_response"],
            "current_medication": MEDICATION if row["current_medication"] else None,
        },
        "psychosocial": {
            "psychosocial_recorded": agreed,
            **({k: row[k] for k in SOCIAL if row.get(k) is not None} if agreed else {}),
        },
        "goals": {"goals": goals},
    }


def assessors(team: str) -> dict[str, str]:
    """The demo username who recorded each section for a person on ``team``."""
    main, social = ASSESSOR.get(team, ("senior", "senior"))
    return {"presenting": main, "history": main, "psychosocial": social, "goals": main}


def assessed_at(day: date) -> datetime:
    return datetime.combine(day, time(10), UTC)
