"""Instrument definitions: the YAML files in ``instruments/``, validated when loaded (DESIGN rule 3)."""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

LOINC = "http://loinc.org"
_DIR = Path(__file__).with_name("instruments")


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coding(_Def):
    system: str
    code: str
    display: str | None = None


class AnswerOption(_Def):
    code: str
    value: int
    display: str


class Item(_Def):
    code: str
    text: str
    safety: bool = False


class Band(_Def):
    min: int
    max: int
    label: str


class MissingRule(_Def):
    max_missing: int = Field(ge=0)
    method: Literal["prorate", "none"]


class Instrument(_Def):
    id: str
    title: str
    citation: str
    licence: str
    url: str
    panel: Coding
    total: Coding
    preamble: str
    answers: tuple[AnswerOption, ...]
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    missing_rule: MissingRule

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.id}: item codes repeat")
        lo, hi = self.min_total, self.max_total
        edges = sorted((b.min, b.max) for b in self.bands)
        if edges[0][0] != lo or edges[-1][1] != hi or any(a[1] + 1 != b[0] for a, b in pairwise(edges)):
            raise ValueError(f"{self.id}: bands must cover {lo}-{hi} without gaps or overlaps")
        if self.missing_rule.method == "none" and self.missing_rule.max_missing:
            raise ValueError(f"{self.id}: missing_rule 'none' allows no missing items")
        return self

    @property
    def min_total(self) -> int:
        return min(a.value for a in self.answers) * len(self.items)

    @property
    def max_total(self) -> int:
        return max(a.value for a in self.answers) * len(self.items)

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)


@lru_cache(maxsize=1)
def instruments() -> dict[str, Instrument]:
    out: dict[str, Instrument] = {}
    for path in sorted(_DIR.glob("*.yaml")):
        inst = Instrument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        out[inst.id] = inst
    return out


def by_questionnaire(url: str) -> Instrument | None:
    """The instrument a QuestionnaireResponse refers to, by canonical URL or by its LOINC panel code."""
    base = url.split("|")[0].rstrip("/")
    for inst in instruments().values():
        if base in (inst.url, f"urn:idiograph:questionnaire:{inst.id}") or base.endswith("/" + inst.panel.code):
            return inst
    return None


def by_total_code(code: str) -> Instrument | None:
    return next((i for i in instruments().values() if i.total.code == code), None)
