"""Request and response types for people, episodes, teams and break-the-glass."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from idiograph.patients import nhs_number
from idiograph.patients.demographics import ETHNIC_CATEGORIES, is_language_tag
from idiograph.patients.episodes import DISCHARGE_REASONS, PRESENTING_PROBLEMS, REFERRAL_SOURCES
from idiograph.schema_base import Strict

Sex = Literal["female", "male", "other", "unknown"]
EthnicCode = Literal[tuple(ETHNIC_CATEGORIES)]  # type: ignore[valid-type]
ReferralSource = Literal[REFERRAL_SOURCES]  # type: ignore[valid-type]
PresentingProblem = Literal[PRESENTING_PROBLEMS]  # type: ignore[valid-type]
DischargeReason = Literal[DISCHARGE_REASONS]  # type: ignore[valid-type]


class IdentifierIn(Strict):
    system: str = Field(min_length=1, max_length=300)
    value: str = Field(min_length=1, max_length=200)


def _check_birth_date(v: date | None) -> date | None:
    if v is not None and (v > date.today() or v.year < 1900):
        raise ValueError("birth date must be between 1900-01-01 and today")
    return v


def _check_language(v: str | None) -> str | None:
    if v is not None and not is_language_tag(v):
        raise ValueError("must be a BCP 47 language tag such as 'en', 'pl' or 'pa-Guru'")
    return v


def _check_nhs(v: str | None) -> str | None:
    return nhs_number.validate(v) if v else None


class PersonFields(Strict):
    given_name: str = Field(min_length=1, max_length=120)
    family_name: str = Field(min_length=1, max_length=120)
    birth_date: date | None = None
    sex: Sex = "unknown"
    gender_identity: str | None = Field(default=None, max_length=80)
    ethnicity: EthnicCode | None = Field(default=None, description="NHS ethnic category code (A-S, Z, 99)")
    deprivation_decile: int | None = Field(default=None, ge=1, le=10, description="IMD decile, 1 = most deprived")
    preferred_language: str | None = Field(default=None, max_length=35)
    nhs_number: str | None = None

    _bd = field_validator("birth_date")(_check_birth_date)
    _lang = field_validator("preferred_language")(_check_language)
    _nhs = field_validator("nhs_number")(_check_nhs)


class PersonIn(PersonFields):
    team_id: uuid.UUID | None = Field(default=None, description="caseload to join; defaults to your only team")
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)


class PersonPatch(Strict):
    given_name: str | None = Field(default=None, min_length=1, max_length=120)
    family_name: str | None = Field(default=None, min_length=1, max_length=120)
    birth_date: date | None = None
    sex: Sex | None = None
    gender_identity: str | None = Field(default=None, max_length=80)
    ethnicity: EthnicCode | None = None
    deprivation_decile: int | None = Field(default=None, ge=1, le=10)
    preferred_language: str | None = Field(default=None, max_length=35)
    nhs_number: str | None = None

    _bd = field_validator("birth_date")(_check_birth_date)
    _lang = field_validator("preferred_language")(_check_language)
    _nhs = field_validator("nhs_number")(_check_nhs)


class IdentifierOut(BaseModel):
    system: str
    value: str


class PersonOut(BaseModel):
    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date | None
    age_band: str
    sex: str
    gender_identity: str | None
    ethnicity: str | None
    ethnic_group: str
    deprivation_decile: int | None
    preferred_language: str | None
    nhs_number: str | None
    identifiers: list[IdentifierOut]
    team_ids: list[uuid.UUID]
    access_basis: str


class CaseloadRow(BaseModel):
    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date | None
    age_band: str
    nhs_number: str | None
    team: str
    open_episode: str | None
    latest_observation_at: datetime | None


class EpisodeIn(Strict):
    referral_date: date
    referral_source: ReferralSource
    presenting_problem: PresentingProblem
    pathway: str = Field(min_length=1, max_length=60)
    team_id: uuid.UUID | None = None
    discharge_date: date | None = None
    discharge_reason: DischargeReason | None = None


GOVERNED_EPISODE_FIELDS = ("pathway", "discharge_date", "discharge_reason")


class EpisodePatch(Strict):
    """What may be corrected on an episode directly. The pathway (intervention) and discharge are governed
    facts: they change only through a decision (``POST /api/v1/people/{id}/changes``), under delegated
    authority or by escalation (hazard H-032)."""

    referral_source: ReferralSource | None = None
    presenting_problem: PresentingProblem | None = None
    pathway: object = Field(default=None, description="refused: change the intervention through a decision")
    discharge_date: object = Field(default=None, description="refused: discharge through a decision")
    discharge_reason: object = Field(default=None, description="refused: discharge through a decision")

    @field_validator(*GOVERNED_EPISODE_FIELDS, mode="before")
    @classmethod
    def _governed(cls, value: object, info: ValidationInfo) -> object:
        what = "the intervention" if info.field_name == "pathway" else "a discharge"
        raise ValueError(
            f"is a governed fact: request {what} as a decision (POST /api/v1/people/{{person_id}}/changes), "
            "which applies it under delegated authority or escalates it"
        )


class EpisodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    team_id: uuid.UUID | None
    referral_date: date
    referral_source: str
    presenting_problem: str
    pathway: str
    discharge_date: date | None
    discharge_reason: str | None


class BreakGlassIn(Strict):
    reason: str = Field(min_length=10, max_length=2000, description="why the record must be opened now")


class BreakGlassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    person_id: uuid.UUID
    reason: str
    granted_at: datetime
    expires_at: datetime
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str | None


class ReviewIn(Strict):
    note: str = Field(min_length=3, max_length=2000)
