"""The episode of care: an assessment, then weekly sessions, each offered in a slot that the person
attends or misses, until they complete, recover early, disengage or leave after assessment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from idiograph.synth.common import Ids, expected_below_caseness, midnight, pick, uid
from idiograph.synth.params import Attendance, Params
from idiograph.synth.person.crises import Crisis, Triggers, crisis_in_week
from idiograph.synth.person.demographics import Preferences, Profile
from idiograph.synth.person.illness import Illness, Plan

Contact = tuple[datetime, float, float, str]  # when, latent depression, latent anxiety, reference


@dataclass(frozen=True)
class Slot:
    """An offered appointment: when, where, in what format, and how well it fits the person (0..1)."""

    start: datetime
    place: str
    format: str
    fit: float


@dataclass
class Course:
    """The running state of an episode, and at its end everything the episode produced."""

    appointments: list[dict[str, Any]] = field(default_factory=list)
    responses: list[Contact] = field(default_factory=list)
    crises: list[Crisis] = field(default_factory=list)
    noise: float = 0.0
    attended_treatment: int = 0
    dnas: int = 0
    cancels: int = 0
    consecutive_missed: int = 0
    recovered_run: int = 0
    discharge_reason: str | None = None


def draw_slot(params: Params, prefs: Preferences, when: datetime, rng: np.random.Generator) -> Slot:
    """The hour, place and format the service offers on the day, and how well they match the preferences."""
    hour = params.slots.hours[int(rng.integers(len(params.slots.hours)))]
    place = pick(rng, params.slots.places)
    fmt = "remote" if place == "remote" else "in_person"
    fmt = pick(rng, params.slots.formats) if place == "remote" else fmt
    slot_time = "morning" if hour < 12 else ("afternoon" if hour < 17 else "evening")
    fit = ((fmt == prefs.format) + (place == prefs.place) + (slot_time == prefs.time)) / 3
    start = when.replace(hour=hour) + timedelta(minutes=30 * int(rng.integers(2)))
    return Slot(start, place, fmt, fit)


def latent_now(
    params: Params, course: Course, illness: Illness, effect: float, week: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Latent depression and anxiety this week: intake, less the treatment effect so far, plus AR(1) noise."""
    s = params.severity
    weeks_in = max(0, week - 1)
    course.noise = s.noise_ar * course.noise + rng.normal(0, s.noise_sd)
    treated = effect * (1 - np.exp(-weeks_in / s.response_tau_weeks)) if week > 1 else 0.0
    theta_d = illness.theta_d0 - treated + course.noise
    theta_a = illness.theta_a0 - treated * 0.95 + course.noise * 0.8
    return theta_d, theta_a


def attendance(att: Attendance, fit: float, decile: int, theta_d: float, rng: np.random.Generator) -> str:
    """Whether the slot is cancelled by the service, attended, cancelled by the person or missed (DNA)."""
    logit = att.base + att.fit * (fit - 0.5) - att.deprivation * (10 - decile) - 0.25 * max(theta_d - 1.5, 0)
    u = rng.random()
    if u < att.service_cancel:
        return "cancelled_service"
    if rng.random() < 1 / (1 + np.exp(-logit)):
        return "attended"
    return "cancelled_person" if rng.random() < att.cancel_share else "dna"


def tally(course: Course, status: str, kind: str, contact: Contact) -> None:
    """Count the outcome of a slot; an attended contact is where the questionnaires are answered."""
    if status == "attended":
        course.consecutive_missed = 0
        course.responses.append(contact)
        if kind == "treatment":
            course.attended_treatment += 1
    elif status != "cancelled_service":
        course.consecutive_missed += 1
        course.dnas += status == "dna"
        course.cancels += status == "cancelled_person"


def completes(
    att: Attendance, course: Course, sessions: int, theta_d: float, theta_a: float, rng: np.random.Generator
) -> bool:
    """After an attended session: the planned course is done, or (sometimes) recovered two sessions running."""
    course.recovered_run = course.recovered_run + 1 if expected_below_caseness(theta_d, theta_a) else 0
    course_done = course.attended_treatment >= sessions
    # drawn whether or not the course is done, as it always was: do not fold into `course_done or ...`
    recovered_early = (
        course.attended_treatment >= 4 and course.recovered_run >= 2 and rng.random() < att.early_discharge
    )
    return course_done or recovered_early


def disengages(att: Attendance, course: Course, theta_d: float, theta_d0: float, rng: np.random.Generator) -> bool:
    """Leaving treatment: after two missed appointments in a row, or at a weekly hazard, higher when worse."""
    after_misses = course.consecutive_missed >= 2 and rng.random() < att.disengage_after_dna
    dropout = att.weekly_dropout * (1.5 if theta_d > theta_d0 else 1.0)
    return after_misses or rng.random() < dropout


def after_assessment(att: Attendance, course: Course, status: str, rng: np.random.Generator) -> str | None:
    """Some assessed people are not taken on (not suitable, declined, transferred); missing twice is declining."""
    if status == "attended" and rng.random() < att.leave_after_assessment:
        return pick(rng, {"not_suitable": 0.4, "declined": 0.35, "transferred": 0.25})
    if status != "attended" and course.consecutive_missed >= 2:
        return "declined"
    return None


def leaving(
    params: Params,
    course: Course,
    plan: Plan,
    illness: Illness,
    week: int,
    status: str,
    latent: tuple[float, float],
    rng: np.random.Generator,
) -> str | None:
    """Why the episode ends this week (planned end, early recovery, disengagement, after assessment), if it does."""
    att = params.attendance
    if status == "attended" and week > 0 and completes(att, course, plan.iv.sessions, *latent, rng):
        return "completed"
    if week > 0:
        return "disengaged" if disengages(att, course, latent[0], illness.theta_d0, rng) else None
    return after_assessment(att, course, status, rng)


def appointment_row(
    ids: Ids, profile: Profile, plan: Plan, number: int, kind: str, slot: Slot, status: str
) -> dict[str, Any]:
    """An ``appointments`` row."""
    return {
        "appointment_id": uid(ids.seed, "appointment", ids.index, number),
        "person_id": ids.person,
        "episode_id": ids.episode,
        "clinician_id": profile.clinician.id,
        "start": slot.start,
        "kind": kind,
        "place": slot.place,
        "format": slot.format,
        "group": plan.iv.group and kind == "treatment",
        "fit": round(slot.fit, 3),
        "status": status,
    }


def run_course(
    params: Params,
    ids: Ids,
    profile: Profile,
    illness: Illness,
    plan: Plan,
    triggers: Triggers,
    rng: np.random.Generator,
    crisis_rng: np.random.Generator,
) -> Course:
    """Week by week from a first assessment a few weeks after referral until the episode ends (or times out)."""
    course = Course()
    when = midnight(profile.who.referral) + timedelta(days=int(rng.gamma(3.0, 7.0)) + 1)
    week = 0
    while True:
        kind = "assessment" if week == 0 else "treatment"
        slot = draw_slot(params, profile.prefs, when, rng)
        latent = latent_now(params, course, illness, plan.effect, week, rng)
        status = attendance(params.attendance, slot.fit, profile.who.decile, latent[0], rng)
        row = appointment_row(ids, profile, plan, len(course.appointments), kind, slot, status)
        course.appointments.append(row)
        tally(course, status, kind, (slot.start, *latent, row["appointment_id"]))
        crisis = crisis_in_week(params, slot.start, latent[0], illness.risk, triggers, rng, crisis_rng)
        if crisis is not None:
            course.crises.append(crisis)
        reason = leaving(params, course, plan, illness, week, status, latent, rng)
        if reason is not None or week > 3 * plan.iv.sessions + 6:
            course.discharge_reason = reason or "completed"
            return course
        week += 1
        when = when + timedelta(days=7 if week > 1 else int(rng.integers(10, 29)))


def episode_row(
    params: Params,
    ids: Ids,
    profile: Profile,
    illness: Illness,
    plan: Plan,
    course: Course,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The ``episodes`` row (discharged a week after the last appointment); the referral source is drawn here."""
    return {
        "episode_id": ids.episode,
        "person_id": ids.person,
        "team_id": profile.team["team_id"],
        "clinician_id": profile.clinician.id,
        "referral_date": profile.who.referral,
        "referral_source": pick(rng, params.referral_sources),
        "presenting_problem": illness.problem_name,
        "pathway": plan.intervention,
        "group": plan.iv.group,
        "discharge_date": (course.appointments[-1]["start"] + timedelta(days=7)).date(),
        "discharge_reason": course.discharge_reason,
        "attended_treatment": course.attended_treatment,
        "dna": course.dnas,
        "cancelled_by_person": course.cancels,
    }
