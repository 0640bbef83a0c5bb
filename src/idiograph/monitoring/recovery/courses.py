"""Courses of treatment for the expected-recovery models, from the database: the service's own finished
episodes (fitting) and open ones (judging). The evaluation harness reads the same shape from files."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import chunked
from idiograph.instruments.definitions import instruments
from idiograph.monitoring.recovery.expected import Course
from idiograph.observations.model import Observation
from idiograph.patients.demographics import age_on
from idiograph.patients.model import Episode, Person

OTHER = {"phq-9": "gad-7", "gad-7": "phq-9"}  # the second intake variable for the neighbour model


@dataclass(frozen=True)
class EpisodeScores:
    episode_id: str
    person_id: str
    referral: date
    discharge: date | None
    times: tuple[datetime, ...]
    scores: tuple[float, ...]
    other_intake: float | None
    age: int | None
    groups: dict[str, str]

    def features(self) -> tuple[float, ...]:
        """(intake score, intake on the other measure, age) — empty when one is missing."""
        if not self.scores or self.other_intake is None or self.age is None:
            return ()
        return (self.scores[0], self.other_intake, float(self.age))

    def course(self) -> Course:
        return Course(self.scores, self.features())


def from_db(session: Session, instrument: str = "phq-9", finished_only: bool = True) -> list[EpisodeScores]:
    """Episodes in the database with their scores between referral and discharge (or now), in time order.
    Scores count for an episode when they were given from its referral date to its discharge date."""
    q = select(Episode)
    if finished_only:
        q = q.where(Episode.discharge_date.is_not(None))
    return for_episodes(session, session.scalars(q), instrument)


def for_episodes(session: Session, episodes: Iterable[Episode], instrument: str = "phq-9") -> list[EpisodeScores]:
    """The given episodes with their scores on ``instrument`` (and the other measure's intake)."""
    inst, other = instruments()[instrument], instruments()[OTHER[instrument]]
    return _with_scores(
        session, list(episodes), (inst.total.system, inst.total.code), (other.total.system, other.total.code)
    )


def _with_scores(
    session: Session, episodes: list[Episode], code: tuple[str, str], other: tuple[str, str]
) -> list[EpisodeScores]:
    if not episodes:
        return []
    by_person: dict[uuid.UUID, list[Episode]] = defaultdict(list)
    for ep in episodes:
        by_person[ep.person_id].append(ep)
    people: dict[uuid.UUID, Person] = {}
    points: dict[tuple[uuid.UUID, tuple[str, str]], list[tuple[datetime, float]]] = defaultdict(list)
    for ids in chunked(list(by_person)):
        people |= {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
        q = select(
            Observation.person_id, Observation.system, Observation.code, Observation.effective_at, Observation.value
        ).where(Observation.person_id.in_(ids), Observation.code.in_([code[1], other[1]]))
        for pid, system, c, t, v in session.execute(q):
            if (system, c) in (code, other):
                points[(pid, (system, c))].append((t, v))
    out = []
    for pid, eps in by_person.items():
        person = people.get(pid)
        own = sorted(points.get((pid, code), []))
        oth = sorted(points.get((pid, other), []))
        for ep in eps:
            end = ep.discharge_date or date.max
            pts = [(t, v) for t, v in own if ep.referral_date <= t.date() <= end]
            if not pts:
                continue
            o = [v for t, v in oth if ep.referral_date <= t.date() <= end]
            born = person.birth_date if person else None
            out.append(
                EpisodeScores(
                    str(ep.id),
                    str(pid),
                    ep.referral_date,
                    ep.discharge_date,
                    tuple(t for t, _ in pts),
                    tuple(v for _, v in pts),
                    o[0] if o else None,
                    age_on(born, ep.referral_date) if born else None,
                    {},
                )
            )
    return out
