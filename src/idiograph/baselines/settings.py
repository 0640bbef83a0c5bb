"""The personal-baseline settings file (``baselines.yaml``), validated when loaded (pure)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Judge = Literal["point", "ewma", "none"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Ewma(_Cfg):
    lam: float = Field(alias="lambda", gt=0, le=1)
    arl0: float = Field(ge=20, le=100_000)
    baseline_results: int = Field(ge=5, le=1000)
    spacing_days: float = Field(gt=0, le=365)


class BaselineSettings(_Cfg):
    display_coverage: float = Field(gt=0.5, lt=1)
    alert_coverage: float = Field(gt=0.5, lt=1)
    min_stratum_people: int = Field(ge=10)
    min_prior_people: int = Field(ge=2)
    judge: dict[str, Judge]
    ewma: Ewma

    def judge_for(self, kind: str) -> Judge:
        return self.judge.get(kind, "none")


DEFAULT = Path(__file__).with_name("baselines.yaml")


def parse(text: str) -> BaselineSettings:
    return BaselineSettings.model_validate(yaml.safe_load(text))


@lru_cache(maxsize=1)
def load() -> BaselineSettings:
    """The shipped file, or the one named by IDIOGRAPH_BASELINE_SETTINGS."""
    return parse(Path(os.environ.get("IDIOGRAPH_BASELINE_SETTINGS") or DEFAULT).read_text(encoding="utf-8"))
