"""What an intake assessment records about a synthetic person (pure), consistent with the truth already drawn:
how long the problem has lasted (more than two years exactly when the truth says chronic), previous treatment and
how the person responded (a good response mostly when the truth's prior response is 1), current medication, the
psychosocial context they agreed to record (drawn from their deprivation, age and personal crisis triggers), and
their goals with 0-10 ratings. From a stream of its own, so the rest of the person is the same with or without it.

The shares are the demo's choices, not a calibration to national figures; each is plausible for an NHS Talking
Therapies or community mental health intake."""

from __future__ import annotations

from typing import Any

import numpy as np

from idiograph.synth.common import Ids, pick
from idiograph.synth.person.care import GOALS
from idiograph.synth.person.demographics import Profile
from idiograph.synth.person.illness import Illness

RESPONSES = ("good", "partial", "none", "ended_early")
PREVIOUS = {"cbt": 0.35, "counselling": 0.25, "guided_self_help": 0.2, "medication": 0.15, "group_cbt": 0.05}


def intake_row(
    ids: Ids, profile: Profile, illness: Illness, triggers: list[str], rng: np.random.Generator
) -> dict[str, Any]:
    """The ``intake`` row as an assessor records it (None where the person did not agree to record a part)."""
    who = profile.who
    # more than two years exactly when the truth says chronic
    months = int(np.clip(24 + rng.lognormal(3.2, 0.8), 25, 600)) if illness.chronic else int(rng.integers(1, 24))
    if illness.prior:
        previous: str | None = pick(rng, PREVIOUS)
        response: str | None = pick(rng, {"good": 0.8, "partial": 0.2})
    elif rng.random() < (0.6 if illness.chronic else 0.35):
        previous = pick(rng, PREVIOUS)
        response = pick(rng, {"partial": 0.35, "none": 0.4, "ended_early": 0.25})
    else:
        previous, response = None, None
    medication = bool(rng.random() < (0.55 if illness.chronic or previous == "medication" else 0.25))
    deprived = (10 - who.decile) / 9  # 1 in the most deprived decile, 0 in the least
    agreed = bool(rng.random() < 0.9)
    social: dict[str, Any] = dict.fromkeys(SOCIAL, None)
    if agreed:
        unsettled = 0.08 + 0.15 * deprived + (0.35 if "housing" in triggers else 0)
        social["housing"] = pick(
            rng, {"settled": 1 - unsettled, "unsettled": unsettled * 0.85, "homeless": unsettled * 0.15}
        )
        retired = who.age >= 66
        social["work"] = (
            "retired"
            if retired
            else pick(
                rng,
                {
                    "employed": 0.62 - 0.2 * deprived,
                    "unemployed": 0.08 + 0.12 * deprived + (0.1 if "work_or_money" in triggers else 0),
                    "student": 0.1 if who.age < 25 else 0.02,
                    "unable_to_work": 0.06 + 0.06 * illness.chronic,
                    "caring_full_time": 0.04,
                },
            )
        )
        social["social_support"] = pick(
            rng, {"good": 0.45, "some": 0.38, "little": 0.17 + (0.15 if "relationship" in triggers else 0)}
        )
        social["caring_responsibilities"] = bool(rng.random() < (0.3 if 25 <= who.age < 60 else 0.12))
        social["money_worries"] = bool(
            rng.random() < 0.2 + 0.3 * deprived + (0.3 if "work_or_money" in triggers else 0)
        )
        harmful = 0.04 + (0.45 if "substance_use" in triggers else 0)
        social["substance_use"] = pick(rng, {"none": 0.7 - harmful / 2, "some": 0.3 - harmful / 2, "harmful": harmful})
        social["long_term_condition"] = bool(rng.random() < 0.15 + 0.004 * max(who.age - 40, 0))
        social["neurodivergence"] = pick(rng, {"none": 0.9, "adhd": 0.05, "autism": 0.03, "dyslexia": 0.02})
    goals = list(rng.choice(GOALS, size=int(rng.integers(1, 4)), replace=False))
    ratings = [int(np.clip(round(rng.normal(3, 1.5)), 0, 10)) for _ in goals]
    return {
        "person_id": ids.person,
        "episode_id": ids.episode,
        "assessed_on": who.referral,
        "problem_duration_months": months,
        "previous_treatment": previous,
        "previous_response": response,
        "current_medication": medication,
        "psychosocial_recorded": agreed,
        **social,
        **{f"goal_{i + 1}": goals[i] if i < len(goals) else None for i in range(3)},
        **{f"goal_{i + 1}_rating": ratings[i] if i < len(goals) else None for i in range(3)},
    }


SOCIAL = (
    "housing",
    "work",
    "social_support",
    "caring_responsibilities",
    "money_worries",
    "substance_use",
    "long_term_condition",
    "neurodivergence",
)
