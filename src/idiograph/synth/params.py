"""The synthetic service's parameters (``params.yaml``), validated when loaded."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idiograph.patients.demographics import ETHNIC_CATEGORIES
from idiograph.patients.episodes import PRESENTING_PROBLEMS, REFERRAL_SOURCES

DEFAULT = Path(__file__).with_name("params.yaml")


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _shares(v: dict[str, float]) -> dict[str, float]:
    if any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
        raise ValueError("shares must be non-negative and not all zero")
    return v


class Window(_P):
    start: date
    days: int = Field(gt=0)
    follow_up_days: int = Field(ge=0)


class TeamSpec(_P):
    name: str
    kind: str
    share: float = Field(gt=0)


class ServiceSpec(_P):
    teams: list[TeamSpec] = Field(min_length=1)
    people_per_clinician: int = Field(gt=0)
    coordinators_per_team: int = Field(ge=0)
    languages: dict[str, float]
    strength_sd: float = Field(ge=0)


class Age(_P):
    shape: float = Field(gt=0)
    scale: float = Field(gt=0)
    min: int = Field(ge=16)
    max: int = Field(le=110)


class Demographics(_P):
    age: Age
    female: float = Field(ge=0, le=1)
    ethnicity: dict[str, float]
    deprivation_weights: list[float] = Field(min_length=10, max_length=10)
    non_english_preferred: float = Field(ge=0, le=1)
    device_share: float = Field(ge=0, le=1)

    @field_validator("ethnicity")
    @classmethod
    def _codes(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in ETHNIC_CATEGORIES]
        if bad:
            raise ValueError(f"not NHS ethnic category codes: {bad}")
        return _shares(v)


class Problem(_P):
    share: float = Field(gt=0)
    domain: str
    dep: float
    anx: float


class Severity(_P):
    intake_mean: float
    intake_sd: float = Field(gt=0)
    anxiety_correlation: float = Field(ge=-1, le=1)
    anxiety_offset: float = 0.0
    chronic_share: float = Field(ge=0, le=1)
    risk_trait_sd: float = Field(ge=0)
    noise_sd: float = Field(ge=0)
    noise_ar: float = Field(ge=0, lt=1)
    response_tau_weeks: float = Field(gt=0)


class Intervention(_P):
    sessions: int = Field(gt=0)
    effect: float
    severity: float
    chronic: float
    age: float
    prior: float
    group: bool


class Allocation(_P):
    """An option's log-odds of being given: at average intake severity, and per intake SD of severity."""

    base: float
    severity: float


class Equity(_P):
    minority_effect: float
    deprivation_effect: float


class Attendance(_P):
    base: float
    fit: float
    deprivation: float
    cancel_share: float = Field(ge=0, le=1)
    service_cancel: float = Field(ge=0, le=1)
    disengage_after_dna: float = Field(ge=0, le=1)
    weekly_dropout: float = Field(ge=0, le=1)
    early_discharge: float = Field(ge=0, le=1)
    leave_after_assessment: float = Field(ge=0, le=1)


class Slots(_P):
    places: dict[str, float]
    formats: dict[str, float]
    hours: list[int] = Field(min_length=1)


class Crisis(_P):
    base: float
    severity: float
    risk: float
    admission: float = Field(ge=0, le=1)
    triggers: dict[str, float]
    trigger_events_per_year: float = Field(ge=0)
    trigger_multiplier: float = Field(ge=1)


class Relapse(_P):
    follow_up_share: float = Field(ge=0, le=1)
    monthly_hazard: float = Field(ge=0, le=1)
    rise: float


class Lab(_P):
    code: str
    unit: str
    mean: float = Field(gt=0)
    between_cv: float = Field(ge=0)
    cvi: float = Field(gt=0)
    cva: float = Field(ge=0)
    share: float = Field(ge=0, le=1)
    every_days: int = Field(gt=0)


class Sleep(_P):
    code: str
    unit: str
    mean: float
    between_sd: float = Field(ge=0)
    within_sd: float = Field(gt=0)


class Steps(_P):
    code: str
    unit: str
    mean: float = Field(gt=0)
    between_cv: float = Field(ge=0)
    within_cv: float = Field(gt=0)


class Devices(_P):
    sleep: Sleep
    steps: Steps
    device_shift_share: float = Field(ge=0, le=1)


class Params(_P):
    window: Window
    service: ServiceSpec
    demographics: Demographics
    referral_sources: dict[str, float]
    problems: dict[str, Problem]
    severity: Severity
    interventions: dict[str, Intervention]
    individual_effect_sd: float = Field(ge=0)
    allocation: dict[str, dict[str, Allocation]]
    equity: Equity
    attendance: Attendance
    slots: Slots
    crisis: Crisis
    relapse: Relapse
    labs: dict[str, Lab]
    lab_shift_share: float = Field(ge=0, le=1)
    lab_shift_size: float = Field(ge=0)
    devices: Devices
    targets: dict[str, tuple[float, float]]

    @model_validator(mode="after")
    def _vocab(self) -> Params:
        bad = [k for k in self.referral_sources if k not in REFERRAL_SOURCES]
        bad += [k for k in self.problems if k not in PRESENTING_PROBLEMS]
        if bad:
            raise ValueError(f"unknown referral sources or presenting problems: {bad}")
        for kind, options in self.allocation.items():
            unknown = [o for o in options if o not in self.interventions]
            if unknown:
                raise ValueError(f"allocation.{kind}: not interventions: {unknown}")
        _shares(self.referral_sources)
        _shares(self.slots.places)
        _shares(self.slots.formats)
        return self


def load(path: Path | None = None) -> Params:
    return _load(str(path or DEFAULT))


@lru_cache(maxsize=8)
def _load(path: str) -> Params:
    return Params.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
