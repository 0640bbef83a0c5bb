"""The intake assessment's definition (``intake.yaml``, validated on load) and the validation of one record's answers
against it (pure). A record answers fields by id; a section with ``consent`` is recorded only when the person agreed
(that field true), and is otherwise empty; goals are the person's own words, each rated 0-10 (Goal-Based Outcomes)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from idiograph.errors import FieldProblem

GOAL_MAX = 10


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Cfg):
    id: str
    label: str
    type: Literal["choice", "number", "text", "bool", "goals"]
    required: bool = False
    choices: dict[str, str] = {}
    min: float | None = None
    max: float | None = None
    max_length: int = 1000
    max_items: int = 5
    requires: str | None = None  # answered only when this field is

    @model_validator(mode="after")
    def _shape(self) -> FieldSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"{self.id}: a choice field needs choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"{self.id}: only a choice field has choices")
        return self


class Section(_Cfg):
    id: str
    title: str
    consent: str | None = None  # the boolean answer that says the person agreed to record this section
    fields: tuple[FieldSpec, ...] = Field(min_length=1)


class Definition(_Cfg):
    id: str
    version: int = Field(ge=1)
    title: str
    professions: dict[str, str] = Field(min_length=1)
    sections: tuple[Section, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Definition:
        ids = [f.id for s in self.sections for f in s.fields]
        consents = [s.consent for s in self.sections if s.consent]
        duplicated = sorted({i for i in ids + consents if (ids + consents).count(i) > 1})
        if duplicated:
            raise ValueError(f"field ids used twice: {', '.join(duplicated)}")
        for s in self.sections:
            for f in s.fields:
                if f.requires and f.requires not in ids:
                    raise ValueError(f"{f.id}: requires {f.requires!r}, which is not a field")
        return self

    def field(self, field_id: str) -> FieldSpec | None:
        return next((f for s in self.sections for f in s.fields if f.id == field_id), None)


@lru_cache(maxsize=1)
def definition() -> Definition:
    text = Path(__file__).with_name("intake.yaml").read_text(encoding="utf-8")
    return Definition.model_validate(yaml.safe_load(text))


def problems(answers: Mapping[str, Any], spec: Definition | None = None) -> list[FieldProblem]:
    """Every reason ``answers`` cannot be stored, each naming its field (empty when it can)."""
    d = spec or definition()
    out: list[FieldProblem] = []
    known = {f.id for s in d.sections for f in s.fields} | {s.consent for s in d.sections if s.consent}
    out += [
        FieldProblem(k, "not a field of the intake assessment")
        if str(k).strip()
        else FieldProblem("answers", "an answer without a field name")
        for k in answers
        if k not in known
    ]
    for section in d.sections:
        agreed = True
        if section.consent:
            consent = answers.get(section.consent)
            if consent is not None and not isinstance(consent, bool):
                out.append(FieldProblem(section.consent, "must be true or false"))
            agreed = consent is True
        for f in section.fields:
            value = answers.get(f.id)
            if value is None or value == "" or value == []:
                if f.required:
                    out.append(FieldProblem(f.id, "required"))
                continue
            if not agreed:
                out.append(FieldProblem(f.id, f"the person has not agreed to record {section.title.split(' (')[0]}"))
                continue
            if f.requires and answers.get(f.requires) in (None, "", "none"):
                out.append(FieldProblem(f.id, f"only with {d.field(f.requires).label.lower()}"))  # type: ignore[union-attr]
                continue
            out += [FieldProblem(f.id, why) for why in _value_problems(f, value)]
    return out


def _value_problems(f: FieldSpec, value: Any) -> list[str]:
    if f.type == "choice":
        return [] if value in f.choices else [f"{value!r} is not one of {', '.join(f.choices)}"]
    if f.type == "bool":
        return [] if isinstance(value, bool) else ["must be true or false"]
    if f.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ["must be a number"]
        if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            return [f"must be from {f.min:g} to {f.max:g}"]
        return []
    if f.type == "text":
        if not isinstance(value, str):
            return ["must be text"]
        return [] if len(value) <= f.max_length else [f"at most {f.max_length} characters"]
    return _goal_problems(f, value)


def _goal_problems(f: FieldSpec, value: Any) -> list[str]:
    if not isinstance(value, list):
        return ["must be a list of goals, each with its words and a rating from 0 to 10"]
    if len(value) > f.max_items:
        return [f"at most {f.max_items} goals"]
    out = []
    for i, goal in enumerate(value):
        words = goal.get("goal") if isinstance(goal, dict) else None
        rating = goal.get("rating") if isinstance(goal, dict) else None
        if not isinstance(words, str) or not words.strip():
            out.append(f"goal {i + 1}: the goal in the person's words is required")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= GOAL_MAX:
            out.append(f"goal {i + 1}: the rating must be a whole number from 0 to {GOAL_MAX}")
    return out
