"""Use cases for reviews: what is due on a caseload (with the intake baseline and the change since), what
is overdue for senior clinicians, and recording a review."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.db import chunked, utcnow
from idiograph.errors import Conflict, NotFound, invalid
from idiograph.instruments.definitions import instruments
from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.reviews.model import EpisodeReview
from idiograph.monitoring.reviews.schedule import ReviewSlot, schedule
from idiograph.observations.model import Observation
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment, Episode, Person
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import profession_of
from idiograph.text import visible_length


@dataclass(frozen=True)
class Baseline:
    instrument: str
    intake: float
    latest: float

    @property
    def change(self) -> float:
        return self.latest - self.intake


@dataclass(frozen=True)
class ReviewRow:
    person_id: uuid.UUID
    person_name: str
    episode_id: uuid.UUID
    pathway: str
    start: date
    slot: ReviewSlot
    baselines: tuple[Baseline, ...]
    recorded: Recorded | None = None  # who recorded a done review, in which profession, when, and what it found


@dataclass(frozen=True)
class Recorded:
    by: str
    profession: str | None
    at: datetime
    note: str


def _totals() -> dict[tuple[str, str], str]:
    return {(i.total.system, i.total.code): i.id for i in instruments().values()}


def _episode_rows(session: Session, episodes: list[Episode], today: date) -> list[ReviewRow]:
    if not episodes:
        return []
    cfg = monitoring_settings.load().reviews
    totals = _totals()
    people_ids = sorted({e.person_id for e in episodes})
    points: dict[uuid.UUID, list[tuple[datetime, str, float]]] = defaultdict(list)
    names: dict[uuid.UUID, str] = {}
    for chunk in chunked(people_ids):
        q = select(
            Observation.person_id, Observation.system, Observation.code, Observation.effective_at, Observation.value
        )
        q = q.where(Observation.person_id.in_(chunk), Observation.code.in_([c for _, c in totals]))
        for pid, system, code, t, v in session.execute(q):
            inst = totals.get((system, code))
            if inst:
                points[pid].append((t, inst, v))
        for pid, family, given in session.execute(
            select(Person.id, Person.family_name, Person.given_name).where(Person.id.in_(chunk))
        ):
            names[pid] = f"{family.upper()}, {given}"
    done: dict[uuid.UUID, set[int]] = defaultdict(set)
    recorded: dict[tuple[uuid.UUID, int], Recorded] = {}
    r = EpisodeReview
    for ep_ids in chunked([e.id for e in episodes]):
        for eid, week, by, profession, at, note in session.execute(
            select(r.episode_id, r.week, r.completed_by, r.completed_profession, r.completed_at, r.note).where(
                r.episode_id.in_(ep_ids)
            )
        ):
            done[eid].add(week)
            recorded[(eid, week)] = Recorded(by, profession, at, note)
    rows = []
    for ep in episodes:
        end = ep.discharge_date or date.max
        pts = sorted(p for p in points.get(ep.person_id, []) if ep.referral_date <= p[0].date() <= end)
        if not pts:
            continue  # treatment has not started: no first score, no clock
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for _, inst, v in pts:
            first.setdefault(inst, v)
            last[inst] = v
        baselines = tuple(Baseline(i, first[i], last[i]) for i in sorted(first))
        start_day = pts[0][0].date()
        for slot in schedule(
            start_day, cfg.weeks_for(ep.pathway), today, done[ep.id], cfg.due_before_days, cfg.overdue_after_days
        ):
            rows.append(
                ReviewRow(
                    ep.person_id,
                    names.get(ep.person_id, ""),
                    ep.id,
                    ep.pathway,
                    start_day,
                    slot,
                    baselines,
                    recorded.get((ep.id, slot.week)),
                )
            )
    return rows


def _team_open_episodes(session: Session, principal: Principal) -> list[Episode]:
    q = (
        select(Episode)
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Episode.person_id)
        .where(CaseloadAssignment.team_id.in_(principal.team_ids), Episode.discharge_date.is_(None))
        .distinct()
    )
    return list(session.scalars(q))


def for_caseload(
    session: Session, principal: Principal, statuses: tuple[str, ...] = ("due", "overdue"), via: str = "api"
) -> list[ReviewRow]:
    """Reviews with the given statuses for open episodes on the principal's teams' caseloads."""
    principal.require(Permission.PERSON_READ)
    rows = [
        r
        for r in _episode_rows(session, _team_open_episodes(session, principal), utcnow().date())
        if r.slot.status in statuses
    ]
    audit.append(session, principal.actor, "read", "Review", None, None, detail={"via": via, "count": len(rows)})
    order = {"overdue": 0, "due": 1, "upcoming": 2, "done": 3}
    return sorted(rows, key=lambda r: (order[r.slot.status], r.slot.due, r.person_name))


def for_person(session: Session, principal: Principal, person_id: uuid.UUID) -> list[ReviewRow]:
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    eps = list(session.scalars(select(Episode).where(Episode.person_id == person_id, Episode.discharge_date.is_(None))))
    rows = _episode_rows(session, eps, utcnow().date())
    audit.append(session, principal.actor, "read", "Review", None, person_id, detail={"count": len(rows)})
    return rows


def record(session: Session, principal: Principal, episode_id: uuid.UUID, week: int, note: str) -> EpisodeReview:
    """Record the review at ``week``: who, when, what was decided, and the scores it was based on."""
    ep = session.get(Episode, episode_id)
    if ep is None:
        raise NotFound(f"no episode with id {episode_id}")
    ensure_access(session, principal, ep.person_id, Permission.PERSON_WRITE)
    weeks = monitoring_settings.load().reviews.weeks_for(ep.pathway)
    if week not in weeks:
        raise invalid("week", f"the {ep.pathway} pathway has reviews at weeks {', '.join(map(str, weeks))}")
    if visible_length(note) < 5:
        raise invalid("note", "record what the review found and decided (at least 5 characters)")
    if session.scalar(
        select(EpisodeReview.id).where(EpisodeReview.episode_id == episode_id, EpisodeReview.week == week)
    ):
        raise Conflict(f"the week {week} review of this episode is already recorded")
    rows = [r for r in _episode_rows(session, [ep], utcnow().date()) if r.slot.week == week]
    baseline = {b.instrument: {"intake": b.intake, "latest": b.latest} for b in rows[0].baselines} if rows else {}
    review = EpisodeReview(
        episode_id=episode_id,
        person_id=ep.person_id,
        week=week,
        completed_by=principal.username,
        completed_profession=profession_of(session, principal),
        note=note.strip(),
        baseline=baseline,
    )
    session.add(review)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # recorded by someone else at the same moment (one review per episode and week)
        raise Conflict(f"the week {week} review of this episode was recorded by someone else just now") from None
    audit.append(
        session, principal.actor, "create", "EpisodeReview", str(review.id), ep.person_id, detail={"week": week}
    )
    return review
