"""Instrument definitions: the YAML files beside this module, validated when loaded (DESIGN rule 3)."""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

LOINC = "http://loinc.org"
_DIR = Path(__file__).parent


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
    safety: bool = False  # any answer above the lowest raises a safety alert (CLINICAL.md §1)
    reverse: bool = False  # positively worded: scored (max + min - answer), e.g. CORE-10 items 2 and 3
    answers: tuple[AnswerOption, ...] | None = None  # this item's own options when they differ (AUDIT 1, 2, 9, 10)


class ReliableChange(_Def):
    """Jacobson & Truax (1991) inputs: the standard deviation at intake and the reliability (CLINICAL.md §3);
    and, where a national criterion exists, the whole number of points that is reliable by that criterion
    (NHS Talking Therapies: PHQ-9 6, GAD-7 4). The criterion, when given, is the rule everywhere."""

    sd: float = Field(gt=0)
    reliability: float = Field(gt=0, lt=1)
    points: int | None = Field(default=None, gt=0)
    source: str


class Caseness(_Def):
    """At caseness (in the clinical range) when the total is at least ``min``."""

    min: int
    source: str


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
    item_system: str = LOINC  # code system of the item codes (urn:idiograph:code where LOINC has none we trust)
    answer_system: str = LOINC
    answers: tuple[AnswerOption, ...]
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    missing_rule: MissingRule
    reliable_change: ReliableChange | None = None
    caseness: Caseness | None = None

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
        for item in self.items:
            opts = self.options(item)
            if len({a.code for a in opts}) != len(opts) or len({a.value for a in opts}) != len(opts):
                raise ValueError(f"{self.id}: item {item.code} repeats an answer code or value")
        if self.caseness and not lo <= self.caseness.min <= hi:
            raise ValueError(f"{self.id}: caseness {self.caseness.min} outside {lo}-{hi}")
        return self

    def options(self, item: Item) -> tuple[AnswerOption, ...]:
        return item.answers or self.answers

    def item_range(self, item: Item) -> tuple[int, int]:
        values = [a.value for a in self.options(item)]
        return min(values), max(values)

    def scored(self, item: Item, answer: int) -> int:
        """The item's contribution to the total: the answer, or its mirror for a reverse-scored item."""
        lo, hi = self.item_range(item)
        return lo + hi - answer if item.reverse else answer

    @property
    def min_total(self) -> int:
        return sum(self.item_range(i)[0] for i in self.items)

    @property
    def max_total(self) -> int:
        return sum(self.item_range(i)[1] for i in self.items)

    def safety_positive(self, item: Item, answer: float) -> bool:
        """The one rule for a safety answer: a safety item answered above its lowest option (CLINICAL.md §1)."""
        return item.safety and answer > self.item_range(item)[0]

    @property
    def safety_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items if i.safety)

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
