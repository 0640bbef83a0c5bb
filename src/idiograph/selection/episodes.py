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
from idiograph.monitoring.recovery import courses
from idiograph.patients.demographics import age_on, ethnic_group
from idiograph.patients.model import Episode, Person
from idiograph.selection.course import Trajectory

COVARIATES = (
    "age",
    "sex",
    "ethnic_group",
    "deprivation_decile",
    "presenting_problem",
    "referral_source",
    "phq9_intake",
    "gad7_intake",
)
NUMERIC = ("age", "deprivation_decile", "phq9_intake", "gad7_intake")
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
    rows = [
        _row(people[episodes[uuid.UUID(e.episode_id)].person_id], episodes[uuid.UUID(e.episode_id)], e) for e in scores
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


def at_start(session: Session, person: Person, episode: Episode) -> tuple[dict[str, Any], datetime | None]:
    """One person's covariates as the model takes them, from their episode's first scores, and when the first PHQ-9
    was given (week 0 of a course; None before any)."""
    scores = courses.for_episodes(session, [episode], "phq-9")
    first = scores[0] if scores else None
    return columns([_row(person, episode, first)]), (first.times[0] if first and first.times else None)


def columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in COVARIATES:
        values = [r[c] for r in rows]
        out[c] = np.array([np.nan if v is None else v for v in values], dtype=float) if c in NUMERIC else values
    return out


def _row(person: Person, ep: Episode, scores: courses.EpisodeScores | None) -> dict[str, Any]:
    return {
        "age": age_on(person.birth_date, ep.referral_date) if person.birth_date else None,
        "sex": person.sex,
        "ethnic_group": ethnic_group(person.ethnicity),
        "deprivation_decile": person.deprivation_decile,
        "presenting_problem": ep.presenting_problem,
        "referral_source": ep.referral_source,
        "phq9_intake": scores.scores[0] if scores and scores.scores else None,
        "gad7_intake": scores.other_intake if scores else None,
    }


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
