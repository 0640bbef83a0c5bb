"""The matching settings (``matching.yaml``, or the file named by IDIOGRAPH_MATCHING), validated on load."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from idiograph.patients.episodes import PRESENTING_PROBLEMS

DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Strengths(_Cfg):
    instrument: str = "phq-9"
    min_cases: int = Field(default=15, ge=1)
    level: float = Field(default=0.95, gt=0.5, lt=1.0)


class Constraints(_Cfg):
    qualified_for_high_risk: tuple[str, ...] = ()


class Weights(_Cfg):
    preferred_format: float = Field(default=1.0, ge=0)
    preferred_place: float = Field(default=0.5, ge=0)
    preferred_gender: float = Field(default=1.0, ge=0)
    continuity: float = Field(default=1.5, ge=0)


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Settings(_Cfg):
    version: str
    domains: dict[str, str] = Field(min_length=1)
    strengths: Strengths = Strengths()
    constraints: Constraints = Constraints()
    weights: Weights = Weights()
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

    @field_validator("working_days")
    @classmethod
    def _days_of_the_week(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [d for d in v if d not in WEEK]
        if wrong or not v:
            raise ValueError(f"working days are some of {', '.join(WEEK)}; not {', '.join(wrong) or 'none'}")
        return v

    @field_validator("domains")
    @classmethod
    def _known_problems_and_column_safe_names(cls, v: dict[str, str]) -> dict[str, str]:
        """Every key a presenting problem the intake offers (a misspelt one would silently leave its people with no
        domain); every domain a name that makes a ``strength_<domain>`` column ``matching solve`` reads back (one
        ending in ``_se`` would be taken for an error column and dropped)."""
        wrong = [k for k in v if k not in PRESENTING_PROBLEMS]
        if wrong:
            raise ValueError(f"not presenting problems the intake offers: {', '.join(sorted(wrong))}")
        bad = sorted({d for d in v.values() if not DOMAIN_NAME.match(d) or d.endswith("_se")})
        if bad:
            raise ValueError(
                f"domain names must be lower-case letters, digits and '_', not ending in '_se': {', '.join(bad)}"
            )
        return v

    def domain_of(self, presenting_problem: str | None) -> str | None:
        return self.domains.get(presenting_problem or "")

    @property
    def all_domains(self) -> list[str]:
        return sorted(set(self.domains.values()))


def load(path: Path) -> Settings:
    return Settings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def settings() -> Settings:
    path = os.environ.get("IDIOGRAPH_MATCHING")
    return load(Path(path) if path else Path(__file__).with_name("matching.yaml"))
