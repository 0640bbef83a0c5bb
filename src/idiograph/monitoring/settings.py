"""The measurement-based-care settings file (``monitoring.yaml``), validated when loaded (pure)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from idiograph.instruments.definitions import instruments


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotOnTrack(_Cfg):
    instruments: tuple[str, ...]
    rule: Literal["curve", "nn", "either", "both"]
    tail: float = Field(gt=0, lt=0.5)
    neighbours: int = Field(ge=5, le=1000)

    @field_validator("instruments")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i in v:
            if i not in ("phq-9", "gad-7"):
                raise ValueError(f"{i!r}: expected-recovery models exist for phq-9 and gad-7")
        return v


def _weeks(v: tuple[int, ...]) -> tuple[int, ...]:
    if not v or list(v) != sorted(set(v)) or v[0] < 1:
        raise ValueError("review weeks must be distinct, increasing and at least 1")
    return v


class Reviews(_Cfg):
    default_weeks: tuple[int, ...]
    due_before_days: int = Field(ge=0, le=28)
    overdue_after_days: int = Field(ge=0, le=56)
    pathways: dict[str, tuple[int, ...]] = {}

    @field_validator("default_weeks")
    @classmethod
    def _default(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        return _weeks(v)

    @field_validator("pathways")
    @classmethod
    def _per_pathway(cls, v: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        return {k: _weeks(w) for k, w in v.items()}

    def weeks_for(self, pathway: str) -> tuple[int, ...]:
        return self.pathways.get(pathway, self.default_weeks)


class Relapse(_Cfg):
    """After discharge, an upper CUSUM on each follow-up score from the person's recovered baseline."""

    instruments: tuple[str, ...]
    baseline_scores: int = Field(ge=1, le=10)
    k: float = Field(ge=0, le=3)
    arl0: float = Field(ge=5, le=10_000)
    follow_up_days: int = Field(ge=28, le=3650)


class MonitoringSettings(_Cfg):
    not_on_track: NotOnTrack
    reviews: Reviews
    relapse: Relapse


DEFAULT = Path(__file__).with_name("monitoring.yaml")


def parse(text: str) -> MonitoringSettings:
    return MonitoringSettings.model_validate(yaml.safe_load(text))


@lru_cache(maxsize=1)
def load() -> MonitoringSettings:
    """The shipped file, or the one named by IDIOGRAPH_MONITORING_SETTINGS (a service's own pathways)."""
    path = Path(os.environ.get("IDIOGRAPH_MONITORING_SETTINGS") or DEFAULT)
    s = parse(path.read_text(encoding="utf-8"))
    for section, named in (("not_on_track", s.not_on_track.instruments), ("relapse", s.relapse.instruments)):
        unknown = sorted(set(named) - set(instruments()))
        if unknown:
            raise ValueError(f"{path}: {section}.instruments names no instrument called {', '.join(unknown)}")
        # both rules watch for a RISE (above the expected course, a CUSUM upwards): right for symptom scores only
        upward = sorted(n for n in named if instruments()[n].higher_is_better)
        if upward:
            raise ValueError(
                f"{path}: {section}.instruments: {', '.join(upward)} is scored higher-is-better; the {section} rule "
                "treats a rise as worse, so it cannot watch it"
            )
    return s
