"""Use cases for the intake record: save one section (validated whole, audited, marked with who contributed it in
which profession), read the record for the page and the API, re-rate the goals, and every recorded answer by
episode for the service's models."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.db import chunked, new_id, utcnow
from idiograph.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, invalid
from idiograph.intake import sections as pure
from idiograph.intake.definition import definition
from idiograph.intake.model import IntakeRecord
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode
from idiograph.security import audit
from idiograph.security.model import User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


@dataclass(frozen=True)
class Contributor:
    """Who recorded a section, in which profession (None when their account has none), and when."""

    by: str
    name: str
    profession: str | None
    at: datetime


def contributor(session: Session, principal: Principal, at: datetime | None = None) -> Contributor:
    user = session.get(User, principal.user_id) if principal.user_id else None
    name = user.display_name if user else principal.username
    return Contributor(principal.username, name, user.profession if user else None, at or utcnow())


def _episode(session: Session, person_id: uuid.UUID, episode_id: uuid.UUID | None) -> Episode:
    """The named episode of this person, else their open one (else their latest)."""
    if episode_id is not None:
        ep = session.get(Episode, episode_id)
        if ep is None or ep.person_id != person_id:
            raise invalid("episode_id", "is not an episode of this person")
        return ep
    eps = list(session.scalars(select(Episode).where(Episode.person_id == person_id)))
    if not eps:
        raise invalid("episode_id", "this person has no episode: add the referral before the intake assessment")
    open_ = [e for e in eps if e.discharge_date is None]
    return max(open_ or eps, key=lambda e: (e.referral_date, str(e.id)))


def _record(session: Session, episode_id: uuid.UUID, lock: bool = False) -> IntakeRecord | None:
    """The episode's record; ``lock`` for a write: two clinicians saving different sections at once each keep
    theirs (the row is read and rewritten under its lock, not from a stale read)."""
    q = select(IntakeRecord).where(IntakeRecord.episode_id == episode_id)
    return session.scalar(q.with_for_update().execution_options(populate_existing=True) if lock else q)


def save_section(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    section_id: str,
    answers: Mapping[str, Any],
    episode_id: uuid.UUID | None = None,
    who: Contributor | None = None,
    source: tuple[str, str] | None = None,
) -> IntakeRecord:
    """Record (or replace) one section of the episode's intake; refused whole, naming every field, when any
    answer cannot be stored (psychosocial context without the person's agreement among them, H-092)."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    spec = definition()
    found = pure.section_problems(section_id, answers, spec)
    if found:
        raise InvalidInput(f"the intake section {section_id!r} was not saved", found)
    ep = _episode(session, person_id, episode_id)
    who = who or contributor(session, principal)
    rec = _record(session, ep.id, lock=True)
    created = rec is None
    if rec is None:
        rec = IntakeRecord(
            person_id=person_id,
            episode_id=ep.id,
            definition_id=spec.id,
            definition_version=spec.version,
            answers={},
            contributions={},
            goals=[],
            created_at=who.at,
        )
        if source is not None:
            rec.source, rec.source_id = source
        session.add(rec)
    elif rec.definition_version != spec.version:
        rec.definition_version = spec.version  # the record now holds answers made under this version
    kept = pure.kept_answers(section_id, answers, spec)
    if section_id == pure.GOALS:
        rec.goals = pure.merged_goals(rec.goals, kept.get(pure.GOALS, []), who.at.date(), who.by)
    else:
        rec.answers = {**rec.answers, section_id: kept}
    section = pure.section_of(section_id, spec)
    if section is not None and section.consent:
        rec.psychosocial_consent = bool(kept.get(section.consent))
    rec.contributions = {
        **rec.contributions,
        section_id: {"by": who.by, "name": who.name, "profession": who.profession, "at": who.at.isoformat()},
    }
    rec.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same episode's intake begun by someone else at the same moment
        raise Conflict("someone else started this episode's intake just now: reload and try again") from None
    audit.append(
        session,
        principal.actor,
        "create" if created else "update",
        "IntakeRecord",
        str(rec.id),
        person_id,
        detail={"section": section_id, "fields": sorted(kept), "profession": who.profession},
    )
    return rec


def build_record(
    person_id: uuid.UUID,
    episode_id: uuid.UUID,
    answers: Mapping[str, Mapping[str, Any]],
    who: Mapping[str, Contributor],
    source: tuple[str, str] | None = None,
    goal_ratings: Sequence[Sequence[Mapping[str, Any]]] | None = None,
) -> IntakeRecord:
    """A whole intake record from every section's answers (for loads and imports; not stored, not audited),
    refused whole naming ``section.field`` when any answer cannot be stored. ``goal_ratings``: each goal's later
    ratings [{"date", "rating", "by"}] after the intake one, when carried over from elsewhere."""
    spec = definition()
    found = [
        FieldProblem(f"{section_id}.{p.field}", p.reason)
        for section_id, given in answers.items()
        for p in pure.section_problems(section_id, given, spec)
    ]
    for n, later in enumerate(goal_ratings or [], start=1):
        for r in later:
            rating = r.get("rating")
            if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
                found.append(FieldProblem(f"goals.{n}", "a later rating must be a whole number from 0 to 10"))
            try:
                date.fromisoformat(str(r.get("date")))
            except ValueError:
                found.append(FieldProblem(f"goals.{n}", "a later rating needs its date (YYYY-MM-DD)"))
    missing = [s for s in answers if s not in who]
    found += [FieldProblem(f"{s}", "who recorded this section is not given") for s in missing]
    if found:
        raise InvalidInput("the intake record was not stored", found)
    rec = IntakeRecord(
        id=new_id(),
        person_id=person_id,
        episode_id=episode_id,
        definition_id=spec.id,
        definition_version=spec.version,
        answers={},
        contributions={},
        goals=[],
        created_at=min(w.at for w in who.values()) if who else utcnow(),
        updated_at=utcnow(),
    )
    if source is not None:
        rec.source, rec.source_id = source
    for section_id, given in answers.items():
        w = who[section_id]
        kept = pure.kept_answers(section_id, given, spec)
        if section_id == pure.GOALS:
            rec.goals = pure.merged_goals([], kept.get(pure.GOALS, []), w.at.date(), w.by)
            for goal, later in zip(rec.goals, goal_ratings or [], strict=False):
                goal["ratings"] += [dict(r) for r in later]
        else:
            rec.answers[section_id] = kept
        section = pure.section_of(section_id, spec)
        if section is not None and section.consent:
            rec.psychosocial_consent = bool(kept.get(section.consent))
        rec.contributions[section_id] = {"by": w.by, "name": w.name, "profession": w.profession, "at": w.at.isoformat()}
    return rec


def upsert_built(session: Session, rec: IntakeRecord) -> tuple[IntakeRecord, str]:
    """Store a built record, idempotently: the record with its id, else its source identifier, else its episode's
    record is replaced by it. Returns the stored record and ``created``, ``updated`` or ``unchanged``. No access
    check or audit here: the caller's (``store_record``, or an import's own rule)."""
    ep = session.get(Episode, rec.episode_id)
    if ep is None or ep.person_id != rec.person_id:
        raise invalid("episode_id", "is not an episode of this person")
    old = (
        (session.get(IntakeRecord, rec.id) if rec.id else None)
        or session.scalar(
            select(IntakeRecord).where(IntakeRecord.source == rec.source, IntakeRecord.source_id == rec.source_id)
        )
        or _record(session, rec.episode_id)
    )
    fields = ("answers", "contributions", "psychosocial_consent", "goals", "definition_id", "definition_version")
    if old is None:
        session.add(rec)
        session.flush()
        return rec, "created"
    if old.episode_id != rec.episode_id or old.person_id != rec.person_id:
        raise Conflict("this intake's identifier belongs to another episode's intake")
    if all(getattr(old, f) == getattr(rec, f) for f in fields):
        return old, "unchanged"
    for f in fields:
        setattr(old, f, getattr(rec, f))
    old.updated_at = utcnow()
    session.flush()
    return old, "updated"


def store_record(
    session: Session, principal: Principal, rec: IntakeRecord, via: str = "import"
) -> tuple[IntakeRecord, str]:
    """``upsert_built`` for a user: access checked, the write audited."""
    ensure_access(session, principal, rec.person_id, Permission.PERSON_WRITE)
    stored, status = upsert_built(session, rec)
    if status != "unchanged":
        audit.append(
            session,
            principal.actor,
            "create" if status == "created" else "update",
            "IntakeRecord",
            str(stored.id),
            stored.person_id,
            detail={"via": via, "sections": sorted(stored.contributions)},
        )
    return stored, status


def rerate_goals(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    ratings: Mapping[int, Any],
    on: date | None = None,
    episode_id: uuid.UUID | None = None,
) -> IntakeRecord:
    """Add ratings (goal number from 1 -> 0-10) given on ``on`` (today by default) to the intake's goals."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    ep = _episode(session, person_id, episode_id)
    rec = _record(session, ep.id, lock=True)
    if rec is None or not rec.goals:
        raise invalid("ratings", "no goals are recorded at intake for this episode: record them first")
    today = utcnow().date()
    on = on or today
    if on > today:
        raise invalid("on", "is in the future")
    intake_on = date.fromisoformat(rec.goals[0]["ratings"][0]["date"])
    goals, found = pure.rerated(rec.goals, ratings, on, principal.username, intake_on)
    if found:
        raise InvalidInput("the goal ratings were not saved", found)
    rec.goals = goals
    rec.updated_at = utcnow()
    session.flush()
    audit.append(
        session,
        principal.actor,
        "update",
        "IntakeRecord",
        str(rec.id),
        person_id,
        detail={"goals_rerated": sorted(ratings), "on": on.isoformat()},
    )
    return rec


# -- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    label: str
    text: str


@dataclass(frozen=True)
class SectionView:
    id: str
    title: str
    recorded: bool
    answers: dict[str, Any]
    shown: tuple[Shown, ...]
    contributor: dict[str, Any] | None  # by, name, profession, at (ISO)
    profession_label: str | None

    @property
    def at(self) -> datetime | None:
        return datetime.fromisoformat(self.contributor["at"]) if self.contributor else None


@dataclass(frozen=True)
class GoalView:
    number: int
    goal: str
    first: int
    latest: int
    ratings: tuple[dict[str, Any], ...]

    @property
    def latest_on(self) -> date:
        return date.fromisoformat(self.ratings[-1]["date"])


@dataclass(frozen=True)
class IntakeView:
    id: uuid.UUID
    person_id: uuid.UUID
    episode_id: uuid.UUID
    definition_id: str
    definition_version: int
    psychosocial_consent: bool | None
    sections: tuple[SectionView, ...]
    goals: tuple[GoalView, ...]

    def section(self, section_id: str) -> SectionView | None:
        return next((s for s in self.sections if s.id == section_id), None)


def _text(value: Any, choices: Mapping[str, str]) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if choices:
        return choices.get(str(value), str(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def view(rec: IntakeRecord) -> IntakeView:
    spec = definition()
    out = []
    for s in spec.sections:
        answers = dict(rec.answers.get(s.id, {}))
        shown = tuple(
            Shown(f.label, _text(answers[f.id], f.choices)) for f in s.fields if answers.get(f.id) is not None
        )
        who = rec.contributions.get(s.id)
        label = spec.professions.get(who["profession"]) if who and who.get("profession") else None
        out.append(SectionView(s.id, s.title, s.id in rec.contributions, answers, shown, who, label))
    goals = tuple(
        GoalView(i, g["goal"], g["ratings"][0]["rating"], g["ratings"][-1]["rating"], tuple(g["ratings"]))
        for i, g in enumerate(rec.goals, start=1)
    )
    return IntakeView(
        rec.id,
        rec.person_id,
        rec.episode_id,
        rec.definition_id,
        rec.definition_version,
        rec.psychosocial_consent,
        tuple(out),
        goals,
    )


def read(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    episode_id: uuid.UUID | None = None,
    via: str = "api",
) -> IntakeView | None:
    """The intake of the named episode (else the open, else the latest one); None when none is recorded."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    try:
        ep = _episode(session, person_id, episode_id)
    except InvalidInput:
        if episode_id is not None:
            raise NotFound(f"no episode {episode_id} of this person") from None
        ep = None
    rec = _record(session, ep.id) if ep is not None else None
    audit.append(
        session,
        principal.actor,
        "read",
        "IntakeRecord",
        str(rec.id) if rec else None,
        person_id,
        detail={"via": via, "found": rec is not None},
    )
    return view(rec) if rec is not None else None


def for_episodes(
    session: Session, principal: Principal, episode_ids: Sequence[uuid.UUID], via: str = "api"
) -> dict[uuid.UUID, IntakeView]:
    """The intake of each of these episodes that has one (one audit record for the lot)."""
    out: dict[uuid.UUID, IntakeView] = {}
    for chunk in chunked(list(episode_ids)):
        for rec in session.scalars(select(IntakeRecord).where(IntakeRecord.episode_id.in_(chunk))):
            if not principal.is_system:
                ensure_access(session, principal, rec.person_id, Permission.PERSON_READ)
            out[rec.episode_id] = view(rec)
    audit.append(session, principal.actor, "read", "IntakeRecord", None, None, detail={"via": via, "count": len(out)})
    return out


def answers_by_episode(
    session: Session, principal: Principal, episode_ids: Sequence[uuid.UUID] | None = None, via: str = "selection"
) -> dict[uuid.UUID, dict[str, Any]]:
    """Every recorded intake answer by episode, as one flat mapping by intake.yaml's field ids (``goals`` and
    ``goals_latest`` as [{"goal", "rating"}]); an episode without an intake is absent, a field not recorded is
    absent from its mapping. ``episode_ids`` None: every episode's (the operator only, for the service's models,
    one query). One audit record for the lot."""
    if episode_ids is None:
        if not principal.is_system:
            raise Forbidden("only the operator reads every intake at once")
        chunks: list[Sequence[uuid.UUID] | None] = [None]
    else:
        chunks = list(chunked(list(episode_ids), 2000))
    out: dict[uuid.UUID, dict[str, Any]] = {}
    people: set[uuid.UUID] = set()
    q = select(IntakeRecord.episode_id, IntakeRecord.person_id, IntakeRecord.answers, IntakeRecord.goals)
    for chunk in chunks:
        rows = session.execute(q if chunk is None else q.where(IntakeRecord.episode_id.in_(chunk)))
        for eid, pid, answers, goals in rows:
            if not principal.is_system:
                ensure_access(session, principal, pid, Permission.PERSON_READ)
            out[eid] = pure.flat_answers(answers, goals)
            people.add(pid)
    one = next(iter(people)) if len(people) == 1 else None  # one person's read goes in their access trail
    audit.append(session, principal.actor, "read", "IntakeRecord", None, one, detail={"via": via, "count": len(out)})
    return out
