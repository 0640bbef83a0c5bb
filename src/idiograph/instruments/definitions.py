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
    """How many items may be missing. A sum is prorated (answered mean x items, half up); a MEAN is taken over the
    answered items, with the same limit applying to each mean score on its own items."""

    max_missing: int = Field(ge=0)
    method: Literal["prorate", "none"]


class Subscale(_Def):
    """A further score of a mean-scored instrument: the mean of some of its items, stored under its own code
    (DIALOG's treatment satisfaction beside its subjective quality of life)."""

    id: str
    title: str
    items: tuple[str, ...] = Field(min_length=1)
    code: Coding


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
    # "sum" (the default, every instrument before DIALOG): the total is the sum of the items, a whole number with
    # bands. "mean": the total is the MEAN of ``total_items`` (all items when not given), a decimal on the items'
    # own scale, never shown as a sum; no bands or caseness; ``subscales`` are further means with their own codes.
    scoring: Literal["sum", "mean"] = "sum"
    total_items: tuple[str, ...] | None = None
    subscales: tuple[Subscale, ...] = ()
    # the direction of good: False (lower is better: PHQ-9, GAD-7, ...), True for satisfaction scales (DIALOG)
    higher_is_better: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.id}: item codes repeat")
        if self.scoring == "mean":
            self._mean_consistent(set(codes))
        else:
            if self.total_items is not None or self.subscales:
                raise ValueError(f"{self.id}: total_items and subscales are for mean scoring only")
            if not self.bands:
                raise ValueError(f"{self.id}: a summed instrument needs bands")
        lo, hi = self.min_total, self.max_total
        edges = sorted((b.min, b.max) for b in self.bands)
        if edges and (edges[0][0] != lo or edges[-1][1] != hi or any(a[1] + 1 != b[0] for a, b in pairwise(edges))):
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

    def _mean_consistent(self, codes: set[str]) -> None:
        """A mean score's items exist, are not reverse-scored and share one answer range (so its range is theirs)."""
        if self.bands or self.caseness:
            raise ValueError(f"{self.id}: a mean-scored instrument has no bands or caseness (they are for sums)")
        scores = [("total_items", self.mean_items), *((f"subscales.{s.id}", s.items) for s in self.subscales)]
        for where, items in scores:
            unknown = [c for c in items if c not in codes]
            if unknown or len(set(items)) != len(items):
                raise ValueError(f"{self.id}: {where}: {', '.join(unknown) or 'items repeat'} not items of it")
            chosen = [i for i in self.items if i.code in items]
            if any(i.reverse for i in chosen):
                raise ValueError(f"{self.id}: {where}: a mean score has no reverse-scored items")
            if len({self.item_range(i) for i in chosen}) != 1:
                raise ValueError(f"{self.id}: {where}: the items of a mean score must share one answer range")
            if self.missing_rule.max_missing >= len(items):
                raise ValueError(f"{self.id}: missing_rule: {where} would have no item left")
        ids = [s.id for s in self.subscales]
        if len(set(ids)) != len(ids) or any(s.code == self.total for s in self.subscales):
            raise ValueError(f"{self.id}: subscales repeat an id or the total's code")

    @property
    def mean_items(self) -> tuple[str, ...]:
        """The items a mean-scored total is the mean of (all items when ``total_items`` is not given)."""
        return self.total_items if self.total_items is not None else tuple(i.code for i in self.items)

    def mean_range(self, items: tuple[str, ...]) -> tuple[int, int]:
        """The range of the mean of ``items`` (they share one answer range)."""
        item = self.item(items[0])
        assert item is not None
        return self.item_range(item)

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
        if self.scoring == "mean":
            return self.mean_range(self.mean_items)[0]
        return sum(self.item_range(i)[0] for i in self.items)

    @property
    def max_total(self) -> int:
        if self.scoring == "mean":
            return self.mean_range(self.mean_items)[1]
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
