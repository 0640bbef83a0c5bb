"""Cost per finished course and per recovered case, by pathway (issue 19). Pure: mypy --strict, no I/O but
reading the unit-cost file.

Unit costs are data (``unit-costs.yaml``, or the file named by ``IDIOGRAPH_UNIT_COSTS``): a cost per attended
contact by the clinician's profession (a profession not listed, or none, costs ``other``) and a cost per
admission. The denominators are the KPI engine's: a finished course (``kpis.yaml`` ``finished_min_attended``)
and a recovered case (``kpis.outcome``), decided by the caller and passed in on each :class:`CostReferral`.

A pathway's cost is every attended contact and admission of the referrals that ended in the period on that
pathway, finished or not (the cost of those who stopped early is part of what a finished course costs);
``per_finished`` = cost / finished courses, ``per_recovered`` = cost / recovered cases, None when the
denominator is 0."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idiograph.errors import FieldProblem, InvalidInput

ENV = "IDIOGRAPH_UNIT_COSTS"
DEFAULT = Path(__file__).with_name("unit-costs.yaml")


class UnitCosts(BaseModel):
    """The unit-cost file: every cost a non-negative number; ``per_contact`` must have ``other``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    illustrative: bool
    currency: str = Field(min_length=3, max_length=3)
    price_year: str = Field(min_length=1)
    source: str = Field(min_length=1)
    per_contact: dict[str, float]
    per_admission: float = Field(ge=0)

    @model_validator(mode="after")
    def _contacts(self) -> UnitCosts:
        if "other" not in self.per_contact:
            raise ValueError("per_contact needs an 'other' cost for a clinician with no profession recorded")
        for k, v in self.per_contact.items():
            if v < 0:
                raise ValueError(f"per_contact.{k} must be 0 or more, not {v}")
        return self

    def contact(self, profession: str | None) -> float:
        return self.per_contact.get(profession or "other", self.per_contact["other"])


def parse_unit_costs(raw: Any, where: str = "unit costs") -> UnitCosts:
    """Validate a unit-cost mapping; a bad one raises InvalidInput naming the field and the reason."""
    try:
        return UnitCosts.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InvalidInput(f"{where}: field {loc}: {first['msg']}", [FieldProblem(loc, str(first["msg"]))]) from None


def load_unit_costs(env: Mapping[str, str] | None = None) -> UnitCosts:
    """The service's unit costs (``IDIOGRAPH_UNIT_COSTS`` names a file) or the illustrative defaults."""
    named = (os.environ if env is None else env).get(ENV)
    path = Path(named) if named else DEFAULT
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"{ENV}: cannot read unit-cost file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise InvalidInput(f"{ENV}: unit-cost file {path} is not valid YAML: {e}") from None
    return parse_unit_costs(raw, where=str(path))


@dataclass(frozen=True)
class CostReferral:
    """One referral that ended in the period: its pathway, attended contacts by profession, admissions, and the
    KPI engine's verdicts (finished course; recovered, which implies finished)."""

    pathway: str
    contacts: Mapping[str | None, int] = field(default_factory=dict)
    admissions: int = 0
    finished: bool = False
    recovered: bool = False


@dataclass(frozen=True)
class PathwayCost:
    pathway: str
    referrals: int
    contacts: int
    admissions: int
    finished: int
    recovered: int
    cost: float
    per_finished: float | None
    per_recovered: float | None


def referral_cost(r: CostReferral, units: UnitCosts) -> float:
    for prof, n in r.contacts.items():
        if n < 0:
            raise InvalidInput(f"contacts: a negative count ({n}) for profession {prof!r}")
    if r.admissions < 0:
        raise InvalidInput(f"admissions: a negative count ({r.admissions})")
    return sum(units.contact(p) * n for p, n in r.contacts.items()) + units.per_admission * r.admissions


def by_pathway(referrals: Sequence[CostReferral], units: UnitCosts) -> list[PathwayCost]:
    """One row per pathway (sorted by name), then a row ``all`` over every pathway."""
    groups: dict[str, list[CostReferral]] = {}
    for r in referrals:
        if r.recovered and not r.finished:
            raise InvalidInput(f"recovered: a referral on pathway {r.pathway!r} recovered without finishing")
        groups.setdefault(r.pathway, []).append(r)
    rows = [_row(p, groups[p], units) for p in sorted(groups)]
    rows.append(_row("all", list(referrals), units))
    return rows


def _row(pathway: str, rs: Sequence[CostReferral], units: UnitCosts) -> PathwayCost:
    cost = round(sum(referral_cost(r, units) for r in rs), 2)
    finished = sum(r.finished for r in rs)
    recovered = sum(r.recovered for r in rs)
    return PathwayCost(
        pathway=pathway,
        referrals=len(rs),
        contacts=sum(sum(r.contacts.values()) for r in rs),
        admissions=sum(r.admissions for r in rs),
        finished=finished,
        recovered=recovered,
        cost=cost,
        per_finished=round(cost / finished, 2) if finished else None,
        per_recovered=round(cost / recovered, 2) if recovered else None,
    )


def document(rows: Sequence[PathwayCost], units: UnitCosts) -> dict[str, Any]:
    """The KPI document's ``cost`` section (before disclosure control of its counts, which is the caller's)."""
    return {
        "unit_costs_version": units.version,
        "illustrative": units.illustrative,
        "currency": units.currency,
        "price_year": units.price_year,
        "source": units.source,
        "pathways": [r.__dict__.copy() for r in rows],
    }
