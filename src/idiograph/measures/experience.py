"""People's experience of choice (issue 19): the short forms sent after the assessment and at discharge — the NHS
Talking Therapies Patient Experience Questionnaire's choice items and idiograph's own items on time, place and
format — as data (``experience.yaml`` beside this module, validated when loaded), and the check of a person's
answers (pure).

These are answers about the service, not observations of the person's health: they go to no baseline, chart or
alert, and are kept apart from the observation store (docs/decisions/0012-experience-answers-kept-apart.md)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

FORMS_FILE = Path(__file__).with_name("experience.yaml")


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(_Def):
    code: str
    display: str
    not_applicable: bool = False  # left out of the item's denominator


class Item(_Def):
    code: str
    system: str
    source: Literal["PEQ", "local"]
    label: str
    text: str
    answers: str  # the name of a scale
    positive: tuple[str, ...]  # the answers counted in the item's rate
    only_if: dict[str, str] = {}  # counted only for people who gave this answer to that item of the same form


class Form(_Def):
    id: str
    title: str
    when: Literal["assessment", "discharge"]
    preamble: str
    items: tuple[Item, ...]

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)


class Forms(_Def):
    version: str
    forms: tuple[Form, ...]
    scales: dict[str, tuple[Answer, ...]]

    @model_validator(mode="after")
    def _consistent(self) -> Forms:
        ids = [f.id for f in self.forms]
        if len(set(ids)) != len(ids):
            raise ValueError("experience.yaml: form ids repeat")
        for form in self.forms:
            codes = [i.code for i in form.items]
            if len(set(codes)) != len(codes):
                raise ValueError(f"experience.yaml: {form.id}: item codes repeat")
            for item in form.items:
                where = f"experience.yaml: {form.id}.{item.code}"
                if item.answers not in self.scales:
                    raise ValueError(f"{where}: answers {item.answers!r} is not a scale")
                allowed = {a.code for a in self.scales[item.answers]}
                if not item.positive or not set(item.positive) <= allowed:
                    raise ValueError(f"{where}: positive {list(item.positive)} are not answers of {item.answers}")
                for other, answer in item.only_if.items():
                    dep = form.item(other)
                    if dep is None or dep is item or answer not in {a.code for a in self.scales[dep.answers]}:
                        raise ValueError(f"{where}: only_if {other}={answer} is not an item and answer of {form.id}")
        return self

    def form(self, form_id: str) -> Form | None:
        return next((f for f in self.forms if f.id == form_id), None)

    def options(self, item: Item) -> tuple[Answer, ...]:
        return self.scales[item.answers]


@lru_cache(maxsize=1)
def forms() -> Forms:
    return Forms.model_validate(yaml.safe_load(FORMS_FILE.read_text(encoding="utf-8")))


def check(form: Form, answers: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(field, reason) for every answer that is not one of the form's items or options, and for a form with
    nothing answered. An unanswered item is allowed: every question may be skipped."""
    scales = forms()
    problems: list[tuple[str, str]] = []
    for code, value in answers.items():
        item = form.item(code)
        if item is None:
            problems.append((f"answers.{code}", f"not a question of {form.id}"))
            continue
        allowed = [a.code for a in scales.options(item)]
        if value is not None and value not in allowed:
            problems.append((f"answers.{code}", f"answer {value!r} is not one of {', '.join(allowed)}"))
    if not any(v is not None for v in answers.values()):
        problems.append(("answers", "at least one question must be answered"))
    return problems
