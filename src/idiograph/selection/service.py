"""Treatment selection for the service: fit the options model on its own finished episodes (versioned, audited),
and compare a person's clinically appropriate options from it (audited, permissioned like the record)."""

from __future__ import annotations

import hashlib
import json
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
from idiograph.selection.course import MEASURES, CourseModel, fit_beside, national_rules
from idiograph.selection.learner import OptionsLearner
from idiograph.selection.model import SelectionModel

SERVICE_FORMAT = "idiograph.selection.service/2"
PHQ9, GAD7 = MEASURES
NAMES = {"phq-9": "PHQ-9", "gad-7": "GAD-7"}
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
    "The interval for the expected effect covered 91-99% of true effects on benchmarks, 65% on the worst seed for one "
    "contrast: not always the 95% it claims (docs/benchmarks.md).",
    "On synthetic data, picking each person's best expected outcome never beat giving everyone the single best "
    "option, and beat the service's own choices on large services (10,000 people) but not on a smaller one (3,000): "
    "compare the options, do not follow the highest number.",
    "Each week's band is for one person's score, so it is wide (about 9 PHQ-9 points either side); it covered 94-98% "
    "of later scores on synthetic data.",
    "The chance of reliable deterioration was over-estimated on synthetic data (14-18% predicted, 8-11% seen in "
    "community teams): read it as an upper bound. The chance of recovery was within 3 points.",
    "At a review the course still starts from the intake score: it does not use the scores given since. Compare them "
    "with the band on the record.",
    "Intake answers are used as they stand now; an answer edited after treatment began is read as if known at intake.",
)
_CACHE: dict[uuid.UUID, Fitted] = {}


def fit(session: Session, actor: Actor, progress: Callable[[str], None] | None = None) -> SelectionModel:
    """Fit on every finished episode with an intake and a later PHQ-9: an end-of-treatment learner per measure
    (PHQ-9, and GAD-7 where episodes have it) and the week-by-week course model; the new model becomes the active
    one."""
    say = progress or (lambda _: None)
    say("Reading finished episodes")
    done = episodes.finished(session)
    if done.end[PHQ9].size == 0:
        raise InvalidInput(
            "no finished episodes with an intake and a later PHQ-9 to learn from",
            [FieldProblem("episodes", "none finished with two PHQ-9 scores")],
        )
    learners: dict[str, OptionsLearner] = {}
    for m in MEASURES:
        if m != PHQ9 and np.count_nonzero(~np.isnan(done.end[m])) < MIN_SUPPORT:
            continue
        say(f"Learning the expected {NAMES[m]} at the end of treatment")
        learners[m] = OptionsLearner(lower_is_better=True, seed=0).fit(
            done.data, episodes.COVARIATES, done.treatment, done.end[m], progress=progress
        )
    say("Learning each option's course week by week")
    course = fit_beside(learners, done.data, done.treatment, done.trajectories)
    body = {
        "format": SERVICE_FORMAT,
        "learners": {m: model.to_dict() for m, model in learners.items()},
        "course": course.to_dict(),
    }
    version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    body["version"] = version
    session.execute(update(SelectionModel).values(active=False))
    rec = SelectionModel(
        version=version,
        outcome=episodes.OUTCOME,
        fitted_by=actor.username,
        n_episodes=learners[PHQ9].n_,
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
        detail={"version": rec.version, "episodes": learners[PHQ9].n_, "options": list(learners[PHQ9].options_)},
    )
    return rec


@dataclass(frozen=True)
class Active:
    id: uuid.UUID
    version: str
    fitted_at: datetime
    n_episodes: int


@dataclass(frozen=True)
class Fitted:
    """The active model's parts: an end-of-treatment learner per measure and the course model (None for a model
    fitted before courses were kept: fit again)."""

    learners: dict[str, OptionsLearner]
    course: CourseModel | None

    @property
    def phq9(self) -> OptionsLearner:
        return self.learners[PHQ9]


def active(session: Session) -> tuple[Active, Fitted] | None:
    """The active model's facts and the model, its body read and parsed once per process (it is large)."""
    m = SelectionModel
    row = session.execute(select(m.id, m.version, m.fitted_at, m.n_episodes).where(m.active.is_(True)).limit(1)).first()
    if row is None:
        return None
    model = _CACHE.get(row.id)
    if model is None:
        body = session.scalar(select(m.body).where(m.id == row.id)) or {}
        model = _CACHE[row.id] = _parse(body)
    return Active(row.id, row.version, row.fitted_at, row.n_episodes), model


def _parse(body: dict[str, Any]) -> Fitted:
    if body.get("format") != SERVICE_FORMAT:  # an end-PHQ-9 learner alone, as first kept
        return Fitted({PHQ9: OptionsLearner.from_dict(body)}, None)
    learners = {m: OptionsLearner.from_dict(b) for m, b in body["learners"].items()}
    return Fitted(learners, CourseModel.from_dict(body["course"]))


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
        "course_start": None,  # week 0 of every course: the episode's first PHQ-9
        "method": METHOD,
        "limits": list(LIMITS),
        "options": [],
    }
    if found is None or ep is None:
        reason = "no episode to compare options for" if ep is None else "no model fitted yet (idiograph selection fit)"
        out["options"] = [_bare(rules, o, problem, level, reason) for o in order]
        for entry in out["options"]:
            entry["fingerprint"] = fingerprint(entry, None)
        return out
    rec, fitted = found
    model = fitted.phq9
    data, start = episodes.at_start(session, principal, person, ep)
    out["course_start"] = start.isoformat() if start else None
    pred = model.predict(data)
    # the comparison is with the standard offer when it is appropriate for this person and well supported; else with
    # the best-supported appropriate option (a person at high risk whose standard offer is a group still gets one)
    usable = [
        o
        for o in model.options_
        if not interventions.appropriate(rules, o, problem, level)
        and pred.support[0, model.options_.index(o)] >= MIN_SUPPORT
    ]
    reference = standard if standard in usable else None
    if reference is None and usable:
        reference = max(usable, key=lambda o: (pred.support[0, model.options_.index(o)], o))
    if reference is None:
        reference = standard if standard in model.options_ else model.reference_
    ref_j = model.options_.index(reference)
    drivers_ref = model.drivers(data, reference)[0]
    out["model"] = {
        "version": rec.version,
        "fitted_at": rec.fitted_at.isoformat(),
        "episodes": rec.n_episodes,
        "reference": reference,
        "reference_is_standard": reference == standard,
    }
    for o in order:
        entry = _bare(rules, o, problem, level, None)
        if o not in model.options_:
            entry["no_number"] = "no finished episodes of this option to learn from"
            out["options"].append(entry)
            continue
        j = model.options_.index(o)
        support = int(pred.support[0, j])
        effect, effect_lower, effect_upper = model.contrast(data, o, reference)
        low, high = model.outcome_range_  # an expected score and its interval stay on the scale
        lower = max(float(pred.outcome_lower[0, j]), low)
        upper = min(float(pred.outcome_upper[0, j]), high)
        ref_support = int(pred.support[0, ref_j])
        entry["support"] = support
        if support < MIN_SUPPORT:
            entry["no_number"] = (
                f"too few similar finished episodes ({support} under this option; at least {MIN_SUPPORT} are needed)"
            )
            out["options"].append(entry)
            continue
        # no advantage where the comparison rests on too few, or is wider than one person's own range (too uncertain
        # to say which is better); the option's own numbers still stand
        compare = None
        if o != reference and ref_support < MIN_SUPPORT:
            compare = (
                f"no comparison: too few similar finished episodes under {rules.interventions[reference].label} "
                f"({ref_support}; at least {MIN_SUPPORT} are needed)"
            )
        elif o != reference and (effect_upper[0] - effect_lower[0]) > (upper - lower):
            compare = (
                f"too uncertain to compare with {rules.interventions[reference].label}: the 95% interval of the "
                f"difference ({-effect_upper[0]:+.0f} to {-effect_lower[0]:+.0f} points) is wider than one person's "
                "own range"
            )
        moved = model.drivers(data, o)[0]
        drivers = sorted(
            ((name, moved[name] - drivers_ref.get(name, 0.0)) for name in moved), key=lambda kv: -abs(kv[1])
        )[:3]
        entry |= {
            "expected": round(float(np.clip(pred.outcome[0, j], low, high)), 1),
            "lower": round(lower, 1),
            "upper": round(upper, 1),
            "advantage": None if o == reference or compare else round(float(-effect[0]), 1),
            "advantage_lower": None if o == reference or compare else round(float(-effect_upper[0]), 1),
            "advantage_upper": None if o == reference or compare else round(float(-effect_lower[0]), 1),
            "comparison_note": compare,
            "drivers": [
                {"covariate": name, "value": _value(data[name][0]), "moves": round(float(v), 1)}
                for name, v in drivers
                if abs(v) >= 0.05
            ],
            "score_drivers": [
                {"covariate": name, "value": _value(data[name][0]), "moves": round(float(v), 1)}
                for name, v in sorted(model.level_drivers(data, o)[0].items(), key=lambda kv: -abs(kv[1]))[:3]
                if abs(v) >= 0.05
            ],
        }
        entry |= _course(fitted, data, o)
        out["options"].append(entry)
    for entry in out["options"]:
        entry["fingerprint"] = fingerprint(entry, out["model"])
    return out


def fingerprint(entry: dict[str, Any], model: dict[str, Any] | None) -> str:
    """A short hash of what is shown for one option (its numbers, course and the model's version): the choice
    form sends it back, so a comparison that changed before the choice is noticed."""
    body = {k: v for k, v in entry.items() if k != "fingerprint"} | {"model": (model or {}).get("version")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _course(fitted: Fitted, data: dict[str, Any], option: str) -> dict[str, Any]:
    """The option's course week by week on each measure with enough support, and the chances at its end."""
    if fitted.course is None:
        return {
            "course": None,
            "recovery": None,
            "deterioration": None,
            "course_note": "this model was fitted before courses were kept: fit it again",
        }
    intake = {PHQ9: _value(data["phq9_intake"][0]), GAD7: _value(data["gad7_intake"][0])}
    ends: dict[str, float] = {}
    thin: list[str] = []
    for m, model in fitted.learners.items():
        if option not in model.options_:
            continue
        pred = model.predict(data, min_support=MIN_SUPPORT)
        value = float(pred.outcome[0, model.options_.index(option)])
        if np.isnan(value):
            thin.append(NAMES[m])
            continue
        ends[m] = float(np.clip(value, *model.outcome_range_))
    found = fitted.course.predict(option, intake, ends, national_rules())
    if found is None:
        return {  # every option carries the same keys: the care page and API readers never meet a missing one
            "course": None,
            "recovery": None,
            "deterioration": None,
            "course_note": "too few finished episodes of this option to draw its course",
        }
    notes = []
    if thin:
        notes.append(f"{', '.join(thin)}: too few similar finished episodes to show a course")
    missing = [NAMES[m] for m in MEASURES if intake[m] is None]
    if missing:
        notes.append(f"no {', '.join(missing)} at intake: no course on it and no chances")
    elif found.recovery is None and found.deterioration is not None:
        notes.append("not at caseness at the start: recovery does not apply")
    return {
        "course": {
            "weeks": found.weeks,
            "measures": {
                m: {"expected": found.expected[m], "lower": found.lower[m], "upper": found.upper[m]}
                for m in found.expected
            },
            "episodes": found.episodes,
        },
        "recovery": found.recovery,
        "deterioration": found.deterioration,
        "course_note": "; ".join(notes) or None,
    }


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
