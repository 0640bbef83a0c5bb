"""Treatment selection for the service: fit the options model on its own finished episodes (versioned, audited),
and compare a person's clinically appropriate options from it (audited, permissioned like the record)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idiograph.care import interventions
from idiograph.errors import FieldProblem, InvalidInput
from idiograph.governance.service import current_risk, open_episode
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection import episodes
from idiograph.selection.learner import OptionsLearner
from idiograph.selection.model import SelectionModel

MIN_SUPPORT = 30  # similar finished episodes under an option (and under the standard offer) before a number is shown
METHOD = (
    "Orthogonal (double machine learning) estimation on this service's finished episodes: it allows for stepped "
    "care giving the intensive options to the more severe; 95% intervals "
    "(docs/decisions/0010-treatment-selection-learner.md)"
)
LIMITS = (
    "Advice beside clinical judgement, never a rule: the person's own preferences and history come first.",
    "Learnt from this service's finished episodes only; people unlike those seen before get wider intervals or no "
    "number.",
    "The interval for the expected effect covered 86-95% of true effects on benchmarks, not always the 95% it claims "
    "(docs/benchmarks.md).",
    "On synthetic data, picking each person's best expected outcome did worse than giving everyone the single best "
    "option, and worse than the service's own choices: compare the options, do not follow the highest number.",
)
_CACHE: dict[uuid.UUID, OptionsLearner] = {}


def fit(session: Session, actor: Actor, progress: Callable[[str], None] | None = None) -> SelectionModel:
    """Fit on every finished episode with an intake and a later PHQ-9; the new model becomes the active one."""
    say = progress or (lambda _: None)
    say("Reading finished episodes")
    data, treatment, outcome = episodes.finished(session)
    if outcome.size == 0:
        raise InvalidInput(
            "no finished episodes with an intake and a later PHQ-9 to learn from",
            [FieldProblem("episodes", "none finished with two PHQ-9 scores")],
        )
    model = OptionsLearner(lower_is_better=True, seed=0).fit(
        data, episodes.COVARIATES, treatment, outcome, progress=progress
    )
    body = model.to_dict()
    session.execute(update(SelectionModel).values(active=False))
    rec = SelectionModel(
        version=str(body["version"]),
        outcome=episodes.OUTCOME,
        fitted_by=actor.username,
        n_episodes=model.n_,
        body=body,
        active=True,
    )
    session.add(rec)
    session.flush()
    audit.append(
        session,
        actor,
        "fit",
        "SelectionModel",
        str(rec.id),
        None,
        detail={"version": rec.version, "episodes": model.n_, "options": list(model.options_)},
    )
    return rec


@dataclass(frozen=True)
class Active:
    id: uuid.UUID
    version: str
    fitted_at: datetime
    n_episodes: int


def active(session: Session) -> tuple[Active, OptionsLearner] | None:
    """The active model's facts and the model, its body read and parsed once per process (it is large)."""
    m = SelectionModel
    row = session.execute(select(m.id, m.version, m.fitted_at, m.n_episodes).where(m.active.is_(True)).limit(1)).first()
    if row is None:
        return None
    model = _CACHE.get(row.id)
    if model is None:
        body = session.scalar(select(m.body).where(m.id == row.id))
        model = _CACHE[row.id] = OptionsLearner.from_dict(body or {})
    return Active(row.id, row.version, row.fitted_at, row.n_episodes), model


def options(session: Session, principal: Principal, person_id: uuid.UUID) -> dict[str, Any]:
    """Every intervention the service offers for this person: whether it is clinically appropriate (the rules), and
    for each the expected PHQ-9 at the end of treatment with the interval for their observed score, the advantage
    over the standard offer with its interval, how many similar finished episodes it rests on, and which of their
    data moved it most; no number where support is too thin."""
    person, basis = ensure_access(session, principal, person_id, Permission.PERSON_READ)
    ep = open_episode(session, person_id) or session.scalar(
        select(Episode).where(Episode.person_id == person_id).order_by(Episode.referral_date.desc()).limit(1)
    )
    risk = current_risk(session, person_id)
    level = risk.level if risk else None
    rules = interventions.rules()
    problem = ep.presenting_problem if ep else None
    standard = interventions.standard_for(rules, problem)
    found = active(session)
    audit.append(
        session,
        principal.actor,
        "read",
        "TreatmentOptions",
        None,
        person_id,
        detail={"basis": basis, "model": found[0].version if found else None},
    )
    order = [standard, *[o for o in rules.interventions if o != standard]]
    out: dict[str, Any] = {
        "person_id": str(person_id),
        "episode_id": str(ep.id) if ep else None,
        "outcome": f"{episodes.OUTCOME} (lower is better)",
        "standard": standard,
        "risk": level,
        "model": None,
        "method": METHOD,
        "limits": list(LIMITS),
        "options": [],
    }
    if found is None or ep is None:
        reason = "no episode to compare options for" if ep is None else "no model fitted yet (idiograph selection fit)"
        out["options"] = [_bare(rules, o, problem, level, reason) for o in order]
        return out
    rec, model = found
    data = episodes.at_start(session, person, ep)
    pred = model.predict(data)
    reference = standard if standard in model.options_ else model.reference_
    ref_j = model.options_.index(reference)
    drivers_ref = model.drivers(data, reference)[0]
    out["model"] = {
        "version": rec.version,
        "fitted_at": rec.fitted_at.isoformat(),
        "episodes": rec.n_episodes,
        "reference": reference,
    }
    for o in order:
        entry = _bare(rules, o, problem, level, None)
        if o not in model.options_:
            entry["no_number"] = "no finished episodes of this option to learn from"
            out["options"].append(entry)
            continue
        j = model.options_.index(o)
        support = int(pred.support[0, j])
        effect, half = model.contrast(data, o, reference)
        low, high = model.outcome_range_  # an expected score and its interval stay on the scale
        lower = max(float(pred.outcome_lower[0, j]), low)
        upper = min(float(pred.outcome_upper[0, j]), high)
        ref_support = int(pred.support[0, ref_j])
        entry["support"] = support
        if support < MIN_SUPPORT or ref_support < MIN_SUPPORT:
            entry["no_number"] = (
                f"too few similar finished episodes ({support} under this option; at least {MIN_SUPPORT} are needed)"
                if support < MIN_SUPPORT
                else f"too few similar finished episodes under the standard offer to compare with ({ref_support}; at "
                f"least {MIN_SUPPORT} are needed)"
            )
            out["options"].append(entry)
            continue
        moved = model.drivers(data, o)[0]
        drivers = sorted(
            ((name, moved[name] - drivers_ref.get(name, 0.0)) for name in moved), key=lambda kv: -abs(kv[1])
        )[:3]
        entry |= {
            "expected": round(float(np.clip(pred.outcome[0, j], low, high)), 1),
            "lower": round(lower, 1),
            "upper": round(upper, 1),
            "advantage": None if o == reference else round(float(-effect[0]), 1),
            "advantage_lower": None if o == reference else round(float(-effect[0] - half[0]), 1),
            "advantage_upper": None if o == reference else round(float(-effect[0] + half[0]), 1),
            "drivers": [
                {"covariate": name, "value": _value(data[name][0]), "moves": round(float(v), 1)}
                for name, v in drivers
                if abs(v) >= 0.05
            ],
        }
        out["options"].append(entry)
    return out


def _bare(
    rules: interventions.Rules, o: str, problem: str | None, level: str | None, reason: str | None
) -> dict[str, Any]:
    why_not = interventions.appropriate(rules, o, problem, level)
    entry: dict[str, Any] = {
        "id": o,
        "label": rules.interventions[o].label,
        "appropriate": not why_not,
        "why_not": why_not,
    }
    if reason:
        entry["no_number"] = reason
    return entry


def _value(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else round(float(v), 1)
    return v
