"""Who a synthetic person is, which team and clinician see them, and how they like to be seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from idiograph.patients.nhs_number import check_digit
from idiograph.synth.common import FAMILY, GIVEN_F, GIVEN_M, Ids, pick
from idiograph.synth.params import Params
from idiograph.synth.service import Clinician, Service


@dataclass(frozen=True)
class Identity:
    """Referral date and demographics, as drawn."""

    referral: date
    age: int
    birth: date
    sex: str
    ethnicity: str
    decile: int
    language: str
    given: str


@dataclass(frozen=True)
class Preferences:
    """How the person would like to be seen; offered slots fit them more or less well."""

    format: str
    place: str
    time: str


@dataclass(frozen=True)
class Profile:
    """A person as drawn: who they are, their team and clinician, their preferences and family name."""

    who: Identity
    team: dict[str, Any]
    clinician: Clinician
    prefs: Preferences
    family: str


def nhs_number_for(seed: int, index: int) -> str | None:
    """A unique NHS number in the 999 range NHS England reserves for test data: index -> number is a
    bijection (multiplier coprime to 10^6); None where the check digit would be invalid, or beyond the
    range, as for people whose number is not recorded."""
    if index >= 10**6:
        return None
    nine = f"999{(7919 * index + 104729 * seed) % 10**6:06d}"
    digit = check_digit(nine)
    return None if digit is None else nine + str(digit)


def draw_identity(params: Params, rng: np.random.Generator) -> Identity:
    """Referral date, age and birth date, sex, ethnicity, deprivation, language and given name, as drawn."""
    d = params.demographics
    referral = params.window.start + timedelta(days=int(rng.integers(0, params.window.days)))
    age = int(np.clip(rng.gamma(d.age.shape, d.age.scale), d.age.min, d.age.max))
    birth = referral - timedelta(days=int(age * 365.25) + int(rng.integers(0, 365)))
    sex = "female" if rng.random() < d.female else "male"
    ethnicity = pick(rng, d.ethnicity)
    w = np.asarray(d.deprivation_weights)
    decile = int(rng.choice(10, p=w / w.sum())) + 1
    non_english = rng.random() < d.non_english_preferred
    language = pick(rng, {k: v for k, v in params.service.languages.items() if k != "en"}) if non_english else "en"
    given = (GIVEN_F if sex == "female" else GIVEN_M)[int(rng.integers(20))]
    return Identity(referral, age, birth, sex, ethnicity, decile, language, given)


def draw_team(
    params: Params, service: Service, language: str, rng: np.random.Generator
) -> tuple[dict[str, Any], Clinician]:
    """A team by its share of referrals, then one of its clinicians, speaking the person's language if any can."""
    teams = params.service.teams
    team_spec = teams[int(rng.choice(len(teams), p=np.array([t.share for t in teams]) / sum(t.share for t in teams)))]
    team = next(t for t in service.teams if t["name"] == team_spec.name)
    staff = [c for c in service.clinicians if c.team_id == team["team_id"] and c.role == "clinician"]
    speakers = [c for c in staff if language in c.languages]
    clinician = (speakers or staff)[int(rng.integers(len(speakers or staff)))]
    return team, clinician


def draw_preferences(rng: np.random.Generator) -> Preferences:
    """Preferred format, place and time of day, which decide how well each offered slot fits."""
    fmt = pick(rng, {"in_person": 0.45, "video": 0.3, "phone": 0.25})
    place = pick(rng, {"clinic": 0.5, "home": 0.15, "community": 0.15, "remote": 0.2})
    time = pick(rng, {"morning": 0.35, "afternoon": 0.35, "evening": 0.3})
    return Preferences(fmt, place, time)


def draw_profile(params: Params, service: Service, rng: np.random.Generator) -> Profile:
    """Everything about who the person is, in the order the draws were first written (the family name last)."""
    who = draw_identity(params, rng)
    team, clinician = draw_team(params, service, who.language, rng)
    prefs = draw_preferences(rng)
    family = FAMILY[int(rng.integers(30))]
    return Profile(who, team, clinician, prefs, family)


def person_row(ids: Ids, profile: Profile) -> dict[str, Any]:
    """The ``people`` row: what a record system would hold about the person."""
    who, prefs = profile.who, profile.prefs
    return {
        "person_id": ids.person,
        "given_name": who.given,
        "family_name": profile.family,
        "birth_date": who.birth,
        "sex": who.sex,
        "ethnicity": who.ethnicity,
        "deprivation_decile": who.decile,
        "preferred_language": who.language,
        "nhs_number": nhs_number_for(ids.seed, ids.index),
        "team_id": profile.team["team_id"],
        "preferred_format": prefs.format,
        "preferred_place": prefs.place,
        "preferred_time": prefs.time,
    }
