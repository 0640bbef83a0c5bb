"""The service's episodes as the options model sees them, from the database: what was known at the start (the
covariates), the option given and, for finished episodes, the last PHQ-9 in treatment (the outcome)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import chunked
from idiograph.intake.service import answers_by_episode
from idiograph.monitoring.recovery import courses
from idiograph.patients.demographics import age_on, ethnic_group
from idiograph.patients.model import Episode, Person
from idiograph.security.principal import Principal
from idiograph.selection.course import Trajectory

INTAKE = (  # from the intake record (intake.yaml's field ids); absent when not recorded
    "problem_duration_months",
    "previous_treatment",
    "previous_response",
    "current_medication",  # on any (the record keeps the words; the model whether there are any)
    "housing",
    "work",
    "social_support",
    "caring_responsibilities",
    "money_worries",
    "substance_use",
    "long_term_condition",
    "neurodivergence",
)
COVARIATES = (
    "age",
    "sex",
    "ethnic_group",
    "deprivation_decile",
    "presenting_problem",
    "referral_source",
    "phq9_intake",
    "gad7_intake",
    *INTAKE,
)
YES_NO = ("current_medication", "caring_responsibilities", "money_worries", "long_term_condition")
NUMERIC = ("age", "deprivation_decile", "phq9_intake", "gad7_intake", "problem_duration_months", *YES_NO)
OUTCOME = "PHQ-9 at the end of treatment"
MIN_SCORES = 2  # an intake score and at least one more


@dataclass(frozen=True)
class Finished:
    """Every discharged episode with at least two PHQ-9 scores: covariates by name, the option given, the end score
    on each measure (NaN when the episode has fewer than two of that measure) and each measure's trajectory."""

    data: dict[str, Any]
    treatment: list[str]
    end: dict[str, np.ndarray]
    trajectories: dict[str, list[Trajectory | None]]


def finished(session: Session) -> Finished:
    scores = [
        e
        for e in courses.from_db(session, "phq-9", finished_only=True)
        if len(e.scores) >= MIN_SCORES and e.discharge is not None
    ]
    episodes = _episodes(session, [uuid.UUID(e.episode_id) for e in scores])
    people = _people(session, {ep.person_id for ep in episodes.values()})
    intake = answers_by_episode(session, Principal.system("selection-fit"), None, via="selection fit")
    rows = [
        _row(
            people[episodes[uuid.UUID(e.episode_id)].person_id],
            episodes[uuid.UUID(e.episode_id)],
            e,
            intake.get(uuid.UUID(e.episode_id)),
        )
        for e in scores
    ]
    treatment = [episodes[uuid.UUID(e.episode_id)].pathway for e in scores]
    gad = {e.episode_id: e for e in courses.for_episodes(session, episodes.values(), "gad-7")}
    by_measure = {"phq-9": list(scores), "gad-7": [gad.get(e.episode_id) for e in scores]}
    trajectories = {m: [trajectory(e) for e in eps] for m, eps in by_measure.items()}
    end = {
        m: np.array([t.scores[-1] if t is not None else np.nan for t in trs], dtype=float)
        for m, trs in trajectories.items()
    }
    return Finished(columns(rows), treatment, end, trajectories)


def trajectory(scores: courses.EpisodeScores | None) -> Trajectory | None:
    """An episode's scores as days since its first one (None with fewer than ``MIN_SCORES``)."""
    if scores is None or len(scores.scores) < MIN_SCORES:
        return None
    first = scores.times[0]
    days = np.array([(t - first).total_seconds() / 86400 for t in scores.times])
    return Trajectory(days, np.array(scores.scores, dtype=float))


def at_start(
    session: Session, principal: Principal, person: Person, episode: Episode
) -> tuple[dict[str, Any], datetime | None]:
    """One person's covariates as the model takes them, from their episode's first scores and intake record, and
    when the first PHQ-9 was given (week 0 of a course; None before any)."""
    scores = courses.for_episodes(session, [episode], "phq-9")
    first = scores[0] if scores else None
    intake = answers_by_episode(session, principal, [episode.id], via="treatment options").get(episode.id)
    return columns([_row(person, episode, first, intake)]), (first.times[0] if first and first.times else None)


def columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in COVARIATES:
        values = [r[c] for r in rows]
        out[c] = np.array([np.nan if v is None else v for v in values], dtype=float) if c in NUMERIC else values
    return out


def _row(
    person: Person, ep: Episode, scores: courses.EpisodeScores | None, intake: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        **_intake(intake),
        "age": age_on(person.birth_date, ep.referral_date) if person.birth_date else None,
        "sex": person.sex,
        "ethnic_group": ethnic_group(person.ethnicity),
        "deprivation_decile": person.deprivation_decile,
        "presenting_problem": ep.presenting_problem,
        "referral_source": ep.referral_source,
        "phq9_intake": scores.scores[0] if scores and scores.scores else None,
        "gad7_intake": scores.other_intake if scores else None,
    }


def _intake(answers: dict[str, Any] | None) -> dict[str, Any]:
    """The intake covariates: None throughout without a record; a yes/no field not recorded is no (the form records
    only what applies), and medication is whether any is written."""
    if answers is None:
        return dict.fromkeys(INTAKE)
    out = {name: answers.get(name) for name in INTAKE}
    out["current_medication"] = bool(str(answers.get("current_medication") or "").strip())
    if answers.get("psychosocial_recorded"):
        for name in YES_NO[1:]:
            out[name] = bool(out[name])
    for name in YES_NO:
        if out[name] is not None:
            out[name] = float(out[name])
    return out


def _episodes(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Episode]:
    out: dict[uuid.UUID, Episode] = {}
    for chunk in chunked(ids):
        out |= {e.id: e for e in session.scalars(select(Episode).where(Episode.id.in_(chunk)))}
    return out


def _people(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Person]:
    out: dict[uuid.UUID, Person] = {}
    for chunk in chunked(list(ids)):
        out |= {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(chunk)))}
    return out
