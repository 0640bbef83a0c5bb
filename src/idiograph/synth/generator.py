"""A synthetic mental-health service with known ground truth (pure: parameters and a seed in, rows out).

Each person has an independent random stream (seed, person index), so any person can be generated alone,
in any order and in any chunk size, with the same result. Latent severity lives on the scale of the
PHQ-9 item bank fitted to NHANES; observed answers are drawn from that graded response model.

The service's teams and staff are in ``service``; each part of a person is in ``person/``; this module
puts a person together. The names other modules import from here are re-exported below.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from idiograph.synth.common import (
    LOINC,
    NAMESPACE,
    OBS_COLUMNS,
    Generated,
    Ids,
    expected_below_caseness,
    item_banks,
    midnight,
    uid,
)
from idiograph.synth.params import Params
from idiograph.synth.person.course import episode_row, run_course
from idiograph.synth.person.crises import draw_triggers, record_crises
from idiograph.synth.person.demographics import draw_profile, nhs_number_for, person_row
from idiograph.synth.person.devices import record_wearable
from idiograph.synth.person.follow_up import follow_up, record_relapse
from idiograph.synth.person.illness import draw_illness, plan_treatment, true_effects, truth_person_row
from idiograph.synth.person.intake import intake_row
from idiograph.synth.person.labs import record_labs
from idiograph.synth.person.questionnaires import record_questionnaires
from idiograph.synth.service import Clinician, Service, generate_service

__all__ = [
    "LOINC",
    "NAMESPACE",
    "OBS_COLUMNS",
    "Clinician",
    "Generated",
    "Service",
    "expected_below_caseness",
    "generate_person",
    "generate_service",
    "item_banks",
    "nhs_number_for",
    "today_of",
    "true_effects",
    "uid",
]


def generate_person(params: Params, service: Service, seed: int, index: int) -> Generated:
    """Person ``index``'s rows, from three random streams drawn in a fixed order (reordering changes the output)."""
    rng = np.random.default_rng([seed, 1, index])
    crisis_rng = np.random.default_rng([seed, 2, index])
    intake_rng = np.random.default_rng([seed, 3, index])
    ids = Ids.of(seed, index)
    g = Generated()
    profile = draw_profile(params, service, rng)
    g.add("people", person_row(ids, profile))
    illness = draw_illness(params, rng)
    triggers = draw_triggers(params, profile.who.referral, crisis_rng)
    plan = plan_treatment(params, profile, illness, rng)
    g.add("truth_people", truth_person_row(ids, illness, plan, triggers.names))
    course = run_course(params, ids, profile, illness, plan, triggers, rng, crisis_rng)
    g.tables["appointments"] = course.appointments
    episode = episode_row(params, ids, profile, illness, plan, course, rng)
    g.add("episodes", episode)
    g.add("intake", intake_row(ids, profile, illness, triggers.names, intake_rng))
    horizon = midnight(episode["discharge_date"]) + timedelta(days=params.window.follow_up_days)
    last = course.responses[-1] if course.responses else None
    final = (last[1], last[2]) if last else (illness.theta_d0, illness.theta_a0)
    after = follow_up(params, episode["discharge_date"], horizon, final, rng)
    record_relapse(g, ids, after.relapse_at)
    record_questionnaires(g, ids, course.responses + after.contacts, illness.risk, rng)
    record_crises(g, ids, params, course.crises, after.relapse_at, illness.risk, crisis_rng)
    record_labs(g, ids, params, profile.who.referral, horizon, profile.team["kind"] == "cmht", rng)
    record_wearable(g, ids, params, profile.who.referral, horizon, after.relapse_at, rng)
    return g


def today_of(params: Params) -> date:
    """The referral window's end plus one follow-up period (people discharged after the window are followed past it)."""
    return params.window.start + timedelta(days=params.window.days + params.window.follow_up_days)
