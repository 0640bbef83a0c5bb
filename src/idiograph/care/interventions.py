"""Personalised intervention choice: the appropriate options for this person when they decline the
standard one (pure; the rules are ``interventions.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}
NOT_ASSESSED_NOTE = "risk not assessed: assess before choosing"


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Intervention(_Cfg):
    label: str
    group: bool
    max_risk: Literal["low", "medium", "high"]
    problems: tuple[str, ...] = ()


class Rules(_Cfg):
    interventions: dict[str, Intervention]
    standard: dict[str, str]
    alternatives: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _known(self) -> Rules:
        names = set(self.interventions)
        for problem, s in self.standard.items():
            if s not in names:
                raise ValueError(f"standard.{problem}: {s!r} is not an intervention")
        for k, alts in self.alternatives.items():
            for a in (k, *alts):
                if a not in names:
                    raise ValueError(f"alternatives.{k}: {a!r} is not an intervention")
        return self


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    reasons: tuple[str, ...]


@lru_cache(maxsize=1)
def rules() -> Rules:
    return Rules.model_validate(
        yaml.safe_load(Path(__file__).with_name("interventions.yaml").read_text(encoding="utf-8"))
    )


def standard_for(r: Rules, problem: str | None) -> str:
    return r.standard.get(problem or "", "cbt")


def appropriate(r: Rules, intervention: str, problem: str | None, risk: str | None) -> list[str]:
    """Why an intervention is not appropriate for this person (empty when it is). ``risk`` None means not
    assessed: unknown, not low - only an intervention offered at any risk level (up to high) is appropriate."""
    i = r.interventions.get(intervention)
    if i is None:
        return [f"{intervention!r} is not an intervention this service offers"]
    why = []
    if risk is None:
        if i.max_risk != "high":
            why.append(f"{i.label} is offered up to {i.max_risk} risk: {NOT_ASSESSED_NOTE}")
    elif RISK_ORDER[risk] > RISK_ORDER[i.max_risk]:
        why.append(f"{i.label} is not offered at {risk} risk (up to {i.max_risk})")
    if i.problems and problem not in i.problems:
        why.append(f"{i.label} is for {', '.join(p.replace('_', ' ') for p in i.problems)}")
    return why


def alternatives(r: Rules, problem: str | None, risk: str | None, declined: set[str]) -> list[Option]:
    """Appropriate options other than the standard and anything declined; a declined group excludes all
    group formats. Ordered as the rules list them after the standard, then the rest. With risk not assessed
    (None) only options offered at any risk level are given, each saying so: the others wait for an
    assessment rather than assume the risk is low."""
    std = standard_for(r, problem)
    no_group = "group" in declined or (std in declined and r.interventions[std].group)
    order = [*r.alternatives.get(std, ()), *sorted(r.interventions)]
    out: list[Option] = []
    for i in dict.fromkeys(order):
        spec = r.interventions[i]
        if i == std or i in declined or (no_group and spec.group) or appropriate(r, i, problem, risk):
            continue
        presentation = (problem or "this presentation").replace("_", " ")
        if risk is None:
            reasons = [f"appropriate for {presentation} at any risk level", NOT_ASSESSED_NOTE]
        else:
            reasons = [f"appropriate for {presentation} at {risk} risk"]
        if not spec.group:
            reasons.append("one-to-one")
        out.append(Option(i, spec.label, tuple(reasons)))
    return out
