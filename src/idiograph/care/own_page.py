"""The person's own page, through the expiring link their team gave them (the same PlanLink that shows their
crisis plan): their scores over time in plain words, their goals, upcoming appointments and crisis plan; they
update their preferences and ask for changes, and each arrives as a task for their team - an ongoing dialogue.

No account: the link is the credential. Every read and write through it is audited as the person via that link
(``care.service.link_actor``); an expired or withdrawn link opens nothing and writes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.care import in_words, tasks
from idiograph.care import service as care
from idiograph.care.model import Appointment, CrisisPlan, PlanLink, Preferences, Task
from idiograph.care.options import FORMATS, PLACES
from idiograph.care.slots import DAYS, PERIODS
from idiograph.db import utcnow
from idiograph.errors import Conflict, DomainError, FieldProblem, InvalidInput
from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.patients.model import Person
from idiograph.security import audit
from idiograph.text import visible_length

THERAPIST_GENDERS = ("female", "male")  # a preference the match weighs, never a hard rule
# what the person can ask for, as they would say it and as their team reads it on a task
REQUEST_KINDS: dict[str, tuple[str, str]] = {
    "appointment-time": ("the time of my appointments", "the time of their appointments"),
    "appointment-format": ("how we meet (in person, video or phone)", "how they meet (in person, video or phone)"),
    "appointment-place": ("where we meet", "where they meet"),
    "more-sessions": ("more sessions", "more sessions"),
    "fewer-sessions": ("fewer sessions", "fewer sessions"),
    "something-else": ("something else", "something else"),
}
REQUEST_PREFIX = "The person asks about "
MAX_OPEN_REQUESTS = 5  # open requests at once: the team answers before more pile up
MAX_MESSAGES_PER_DAY = 10  # requests and preference changes in 24 hours, whatever the team has done
MAX_REQUEST_CHARS = 2000
MAX_GOAL_CHARS = 200
MESSAGES_SHOWN = 20
CONTACT = ("sms", "letter", "email", "phone")


class TooMany(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [FieldProblem("request", detail)], 429, "Too many requests")


@dataclass(frozen=True)
class Message:
    """One thing the person sent their team and where it is: received, or done with the team's note."""

    kind: str  # "request" | "preferences"
    about: str  # in the person's words
    text: str
    sent_at: datetime
    done: bool
    note: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class OwnPage:
    person: Person
    link: PlanLink
    plan: CrisisPlan | None
    upcoming: list[Appointment]
    scores: list[in_words.ScoreStory]
    preferences: Preferences | None
    preference_lines: list[tuple[str, str]]
    goals: list[str]
    messages: list[Message]
    open_requests: int
    today: date = field(default_factory=lambda: utcnow().astimezone(in_words.LONDON).date())

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.preferences.data) if self.preferences else {}

    @property
    def version(self) -> int:
        return self.preferences.version if self.preferences else 0

    @property
    def can_ask(self) -> bool:
        return self.open_requests < MAX_OPEN_REQUESTS


def _person(session: Session, link: PlanLink) -> Person:
    person = session.get(Person, link.person_id)
    assert person is not None  # the link is deleted with the person
    return person


def _latest_preferences(session: Session, person_id: uuid.UUID) -> Preferences | None:
    return session.scalar(
        select(Preferences).where(Preferences.person_id == person_id).order_by(Preferences.version.desc()).limit(1)
    )


def _scores(session: Session, person_id: uuid.UUID, today: date) -> list[in_words.ScoreStory]:
    by_total = {(i.total.system, i.total.code): i for i in instruments().values()}
    codes = {code for _, code in by_total}
    series: dict[str, list[tuple[datetime, float]]] = {}
    rows = session.execute(
        select(Observation.system, Observation.code, Observation.effective_at, Observation.value).where(
            Observation.person_id == person_id, Observation.code.in_(codes)
        )
    )
    for system, code, at, value in rows:
        inst = by_total.get((system, code))
        if inst is not None:
            series.setdefault(inst.id, []).append((at, value))
    out = [in_words.story(instruments()[k], pts, today) for k, pts in series.items()]
    # most recently answered first: what the person did last is what they look for
    return sorted((s for s in out if s), key=lambda s: s.points[-1][0], reverse=True)


def _message(t: Task) -> Message:
    if t.kind == "preferences-changed":
        return Message(
            "preferences", "your preferences", t.detail, t.created_at, t.status == "done", t.done_note, t.done_at
        )
    if t.kind == "therapy-plan-change":
        return Message(
            "request", "your therapy plan", t.detail, t.created_at, t.status == "done", t.done_note, t.done_at
        )
    about = "something else"
    for own, team in REQUEST_KINDS.values():
        if t.title == REQUEST_PREFIX + team:
            about = own.replace("my ", "your ").replace("we meet", "you meet")
    return Message("request", about, t.detail, t.created_at, t.status == "done", t.done_note, t.done_at)


def _messages(session: Session, person_id: uuid.UUID) -> tuple[list[Message], int]:
    rows = list(
        session.scalars(
            select(Task)
            .where(
                Task.person_id == person_id,
                Task.kind.in_(tasks.FROM_PERSON),
                Task.created_by.like("plan-link:%"),
            )
            .order_by(Task.created_at.desc())
            .limit(MESSAGES_SHOWN)
        )
    )
    return [_message(t) for t in rows], _open_requests(session, person_id)


def _open_requests(session: Session, person_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count(Task.id)).where(
                Task.person_id == person_id, Task.kind == "person-request", Task.status == "open"
            )
        )
        or 0
    )


def read(session: Session, token: str) -> OwnPage:
    """Everything on the person's page (one audited read per kind of record shown, as the person via link)."""
    link = care.open_plan_link(session, token)
    person = _person(session, link)
    today = utcnow().astimezone(in_words.LONDON).date()
    plan = care.current_crisis_plan(session, person.id)
    upcoming = care.upcoming_appointments(session, person.id)
    scores = _scores(session, person.id, today)
    prefs = _latest_preferences(session, person.id)
    messages, open_requests = _messages(session, person.id)
    via = {"via": "own-plan link"}
    audit.append_many(
        session,
        care.link_actor(link),
        [
            audit.Entry("read", "CrisisPlan", str(plan.id) if plan else None, person.id, None, via),
            audit.Entry("read", "Appointment", None, person.id, None, {**via, "count": len(upcoming)}),
            audit.Entry("read", "Observation", None, person.id, None, {**via, "questionnaires": len(scores)}),
            audit.Entry("read", "Preferences", str(prefs.id) if prefs else None, person.id, None, via),
            audit.Entry("read", "Task", None, person.id, None, {**via, "count": len(messages)}),
        ],
    )
    data: dict[str, Any] = dict(prefs.data) if prefs else {}
    return OwnPage(
        person,
        link,
        plan,
        upcoming,
        scores,
        prefs,
        in_words.preference_lines(data),
        [str(g) for g in data.get("goals") or []],
        messages,
        open_requests,
        today,
    )


# -- preferences ------------------------------------------------------------------------------------------------


def _text(value: Any, name: str, limit: int, problems: list[FieldProblem]) -> str | None:
    text = str(value or "").strip()
    if "\x00" in text:
        problems.append(FieldProblem(name, "contains a NUL character"))
        return None
    if len(text) > limit:
        problems.append(FieldProblem(name, f"at most {limit} characters (this has {len(text)})"))
        return None
    return text if visible_length(text) else None


def _chosen(values: list[str], allowed: tuple[str, ...], name: str, problems: list[FieldProblem]) -> list[str]:
    wrong = [v for v in values if v not in allowed]
    if wrong:
        problems.append(FieldProblem(name, f"not one of the choices: {', '.join(wrong)}"))
    return [v for v in allowed if v in values]  # in the choices' order, each once


def _lines(value: Any) -> list[str]:
    return [x.strip() for x in str(value or "").splitlines() if visible_length(x)]


def _goals(values: list[Any], problems: list[FieldProblem]) -> list[str]:
    goals = [g for g in (str(x or "").strip() for x in values) if visible_length(g)]
    if len(goals) > in_words.MAX_GOALS:
        problems.append(FieldProblem("goals", f"up to {in_words.MAX_GOALS} goals"))
    for i, g in enumerate(goals, 1):
        if len(g) > MAX_GOAL_CHARS or "\x00" in g:
            problems.append(FieldProblem(f"goal_{i}", f"a goal is at most {MAX_GOAL_CHARS} characters"))
    return goals


def clean_goals(values: list[Any]) -> list[str]:
    """Up to three goals in the person's own words (blank ones dropped), or InvalidInput naming the goal."""
    problems: list[FieldProblem] = []
    goals = _goals(values, problems)
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) with the goals; nothing was saved", problems)
    return goals


def _gender(value: Any, problems: list[FieldProblem]) -> str | None:
    text = str(value or "").strip()
    if text and text not in THERAPIST_GENDERS:
        problems.append(FieldProblem("therapist_gender", "choose a woman, a man or no preference"))
        return None
    return text or None


def clean_preferences(form: dict[str, Any]) -> dict[str, Any]:
    """The person's answers (lists for choices, text for the rest) checked and tidied, or InvalidInput naming
    each field that could not be used (nothing is saved then). These are all the person may change from their
    page; who to involve and what they declined stay as their team recorded them."""
    problems: list[FieldProblem] = []
    out: dict[str, Any] = {
        "days": _chosen(list(form.get("days") or []), DAYS, "days", problems),
        "periods": _chosen(list(form.get("periods") or []), tuple(PERIODS), "periods", problems),
        "places": _chosen(list(form.get("places") or []), PLACES, "places", problems),
        "formats": _chosen(list(form.get("formats") or []), FORMATS, "formats", problems),
        "communication": _chosen(list(form.get("communication") or []), CONTACT, "communication", problems),
        "accessible_format": _text(form.get("accessible_format"), "accessible_format", 200, problems),
        "language": _text(form.get("language"), "language", 35, problems),
        "interpreter": bool(form.get("interpreter")),
        "therapist_gender": _gender(form.get("therapist_gender"), problems),
    }
    times = _lines(form.get("times"))
    if len(times) > 20 or any(len(t) > 200 or "\x00" in t for t in times):
        problems.append(FieldProblem("times", "at most 20 lines of up to 200 characters"))
    out["times"] = times
    out["goals"] = _goals(list(form.get("goals") or []), problems)
    if problems:
        raise InvalidInput(f"{len(problems)} answer(s) could not be used; nothing was saved", problems)
    return out


def _sent_today(session: Session, person_id: uuid.UUID) -> int:
    since = utcnow() - timedelta(hours=24)
    return (
        session.scalar(
            select(func.count(Task.id)).where(
                Task.person_id == person_id, Task.created_by.like("plan-link:%"), Task.created_at >= since
            )
        )
        or 0
    )


def _not_too_many(session: Session, person_id: uuid.UUID) -> None:
    if _sent_today(session, person_id) >= MAX_MESSAGES_PER_DAY:
        raise TooMany(
            f"You have sent {MAX_MESSAGES_PER_DAY} messages in the last day, so this one was not sent. Your team "
            "will reply to the ones they have; if something is urgent, phone them."
        )


def update_preferences(
    session: Session, token: str, form: dict[str, Any], expected_version: int
) -> tuple[Preferences, Task] | None:
    """A new version of the person's preferences with what they changed (who to involve and what they declined
    are kept as their team recorded them), and a task for their team saying what changed, from and to, in
    words. None when nothing changed (nothing is saved and nobody is told). ``expected_version`` is the version
    the person's form showed: a version saved since (by their team) is not overwritten."""
    link = care.open_plan_link(session, token)
    person = _person(session, link)
    actor = care.link_actor(link)
    mine = clean_preferences(form)
    latest = _latest_preferences(session, person.id)
    now_version = latest.version if latest else 0
    if now_version != expected_version:
        raise Conflict(
            "Your team updated your preferences while you were editing. What they saved is shown; check it "
            "and save yours again.",
            [FieldProblem("expected_version", f"now version {now_version}")],
        )
    before: dict[str, Any] = dict(latest.data) if latest else {}
    after = {**before, **mine}
    changed = in_words.preference_changes(before, after)
    if not changed:
        return None
    _not_too_many(session, person.id)
    prefs = Preferences(person_id=person.id, version=now_version + 1, data=after, recorded_by=care.PERSON_VIA_LINK)
    session.add(prefs)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Your team saved your preferences at the same moment; check them and save again.") from None
    audit.append(
        session,
        actor,
        "update",
        "Preferences",
        str(prefs.id),
        person.id,
        detail={"version": prefs.version, "via": "own-plan link", "changed": len(changed)},
    )
    task = tasks.create(
        session,
        actor,
        "preferences-changed",
        f"The person changed their preferences (version {prefs.version})",
        "\n".join(changed),
        person_id=person.id,
        source_key=f"preferences:{person.id}:{prefs.version}",
    )
    return prefs, task


# -- requests ------------------------------------------------------------------------------------------------------


def ask_for_change(session: Session, token: str, kind: str, text: str) -> Task:
    """The person asks their team for a change: a task of kind person-request, in their words. At most
    MAX_OPEN_REQUESTS open at once and MAX_MESSAGES_PER_DAY messages a day (the link is not a way to flood a team's
    list); refused with the reason when over."""
    link = care.open_plan_link(session, token)
    person = _person(session, link)
    problems = []
    if kind not in REQUEST_KINDS:
        problems.append(FieldProblem("kind", "choose what your request is about"))
    if "\x00" in text:
        problems.append(FieldProblem("text", "contains a NUL character"))
    elif visible_length(text) < 5:
        problems.append(FieldProblem("text", "say what you would like to change (at least 5 characters)"))
    elif len(text.strip()) > MAX_REQUEST_CHARS:
        problems.append(FieldProblem("text", f"at most {MAX_REQUEST_CHARS} characters (this has {len(text.strip())})"))
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s); your request was not sent", problems)
    if _open_requests(session, person.id) >= MAX_OPEN_REQUESTS:
        raise TooMany(
            f"You have {MAX_OPEN_REQUESTS} requests waiting for your team, so this one was not sent. You can send "
            "another once they have answered one; if something is urgent, phone them."
        )
    _not_too_many(session, person.id)
    return tasks.create(
        session,
        care.link_actor(link),
        "person-request",
        REQUEST_PREFIX + REQUEST_KINDS[kind][1],
        text.strip(),
        person_id=person.id,
        source_key=f"person-request:{uuid.uuid4()}",
    )
