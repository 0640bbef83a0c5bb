"""A synthetic person's illness at intake, what would truly help them, and what they are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from idiograph.patients.demographics import ethnic_group
from idiograph.synth.common import CMHT, TALKING, WHITE_OR_UNKNOWN, Ids, pick
from idiograph.synth.params import Intervention, Params, Problem
from idiograph.synth.person.demographics import Profile


@dataclass(frozen=True)
class Illness:
    """The presenting problem, latent depression and anxiety at intake, and the traits that shape the course."""

    problem_name: str
    problem: Problem
    theta_d0: float
    theta_a0: float
    chronic: int
    prior: int
    risk: float


@dataclass(frozen=True)
class Plan:
    """Every option's true effect for this person, the best one, the one received and its effect here."""

    effects: dict[str, float]
    options: tuple[str, ...]
    best: str
    intervention: str
    iv: Intervention
    therapist_effect: float
    effect: float
    chances: dict[str, float]  # each option's chance of being given to this person (the true propensity)


def draw_illness(params: Params, rng: np.random.Generator) -> Illness:
    """The problem by its share, then correlated latent depression and anxiety, chronicity, prior response, risk."""
    problem_name = pick(rng, {k: v.share for k, v in params.problems.items()})
    problem = params.problems[problem_name]
    s = params.severity
    z = rng.normal(0, 1, 2)
    theta_d0 = s.intake_mean + problem.dep + s.intake_sd * z[0]
    theta_a0 = (
        s.intake_mean
        + s.anxiety_offset
        + problem.anx
        + s.intake_sd * (s.anxiety_correlation * z[0] + np.sqrt(1 - s.anxiety_correlation**2) * z[1])
    )
    chronic = int(rng.random() < s.chronic_share)
    prior = int(rng.random() < 0.3)
    risk = float(rng.normal(0, s.risk_trait_sd))
    return Illness(problem_name, problem, theta_d0, theta_a0, chronic, prior, risk)


def true_effects(
    params: Params,
    theta0: float,
    chronic: int,
    age: int,
    prior: int,
    minority: bool,
    decile: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Each option's true latent improvement for this person (before any therapist effect)."""
    sd = params.individual_effect_sd
    shared = rng.normal(0, sd * 0.6)
    equity = params.equity.minority_effect * minority + params.equity.deprivation_effect * (10 - decile)
    out = {}
    for name, iv in params.interventions.items():
        out[name] = float(
            iv.effect
            + iv.severity * (theta0 - params.severity.intake_mean)
            + iv.chronic * chronic
            + iv.age * (age - 40) / 20
            + iv.prior * prior
            + shared
            + rng.normal(0, sd * 0.8)
            + equity
        )
    return out


def allocation_chances(params: Params, kind: str, theta0: float) -> dict[str, float]:
    """Each of the team's options' chance of being given at this intake severity (``params.allocation``)."""
    options = CMHT if kind == "cmht" else TALKING
    table = params.allocation["cmht" if kind == "cmht" else "talking_therapies"]
    z = (theta0 - params.severity.intake_mean) / params.severity.intake_sd
    logits = np.array([table[o].base + table[o].severity * z for o in options])
    chances = np.exp(logits - logits.max())
    chances /= chances.sum()
    return {o: float(c) for o, c in zip(options, chances, strict=True)}


def assign_intervention(rng: np.random.Generator, chances: dict[str, float]) -> str:
    """Observational (stepped-care) allocation: confounded by severity, with overlap."""
    return pick(rng, chances)


def plan_treatment(params: Params, profile: Profile, illness: Illness, rng: np.random.Generator) -> Plan:
    """True effects of the team's options, the best of them, and the allocation, which need not be the best."""
    who, kind = profile.who, profile.team["kind"]
    minority = ethnic_group(who.ethnicity) not in WHITE_OR_UNKNOWN
    effects = true_effects(params, illness.theta_d0, illness.chronic, who.age, illness.prior, minority, who.decile, rng)
    options = CMHT if kind == "cmht" else TALKING
    best = max(options, key=lambda k: effects[k])
    chances = allocation_chances(params, kind, illness.theta_d0)
    intervention = assign_intervention(rng, chances)
    therapist = profile.clinician.strengths[illness.problem.domain]
    effect = effects[intervention] + therapist
    return Plan(effects, options, best, intervention, params.interventions[intervention], therapist, effect, chances)


def truth_person_row(ids: Ids, illness: Illness, plan: Plan, triggers: list[str]) -> dict[str, Any]:
    """The ``truth_people`` row: the hidden traits and true effects an evaluation is judged against."""
    return {
        "person_id": ids.person,
        "risk_trait": illness.risk,
        "chronic": illness.chronic,
        "prior_response": illness.prior,
        "intake_latent_depression": illness.theta_d0,
        "intake_latent_anxiety": illness.theta_a0,
        "best_option": plan.best,
        "received": plan.intervention,
        "therapist_effect": plan.therapist_effect,
        "triggers": ";".join(triggers),
        **{f"effect_{k}": v for k, v in plan.effects.items() if k in plan.options},
        **{f"chance_{k}": v for k, v in plan.chances.items()},
    }
