"""The therapy plan the person reads before their first session: the option chosen, the therapist, how, where,
when and how often, their goals from intake, the review points and what to expect. One version per allocation (or
redraft); only the newest is current, and the person's answer (accepted, or a change asked for, which arrives as a
task for their team in the same transaction) belongs to the version they read (H-098, H-099)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from idiograph import languages
from idiograph.care import interventions, slots, tasks
from idiograph.care import service as care
from idiograph.care.model import Appointment, AppointmentPlan, Preferences
from idiograph.care.options import coherent
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, InvalidInput
from idiograph.governance.model import Decision
from idiograph.intake.definition import definition as intake_definition
from idiograph.intake.model import IntakeRecord
from idiograph.intake.service import view as intake_view
from idiograph.matching import settings as matching_settings
from idiograph.matching.model import Allocation, Therapist, TherapyPlan
from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.reviews.schedule import schedule
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode, Person
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.model import User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection.choice import prediction_of
from idiograph.text import visible_length

STATUSES = ("proposed", "accepted", "change_requested")
TASK_KIND = "therapy-plan-change"
MAX_ANSWER_CHARS = 2000
SLOT_DAYS = 14  # how far ahead a first time is suggested when none is booked


class _Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: tuple[str, ...] = Field(min_length=1)
    interventions: dict[str, tuple[str, ...]] = {}

    @model_validator(mode="after")
    def _known(self) -> _Expect:
        offered = interventions.rules().interventions
        for key, lines in self.interventions.items():
            if key not in offered:
                raise ValueError(f"interventions.{key}: not an intervention this service offers")
            if not lines:
                raise ValueError(f"interventions.{key}: give at least one line")
        return self


@lru_cache(maxsize=1)
def expectations() -> _Expect:
    """What to expect, by intervention (``expect.yaml``, validated on load)."""
    text = Path(__file__).with_name("expect.yaml").read_text(encoding="utf-8")
    return _Expect.model_validate(yaml.safe_load(text))


def expect_lines(intervention: str) -> list[str]:
    e = expectations()
    return list(e.interventions.get(intervention, e.default))


# -- drafting ----------------------------------------------------------------------------------------------------


def actor_of(session: Session, by: str) -> Actor:
    """Who ``by`` (a username) is, for the audit trail."""
    user = session.scalar(select(User).where(User.username == by))
    return Actor(user.id, user.username, user.role) if user else Actor(None, by, "system")


def _chosen(session: Session, person_id: uuid.UUID, option: str) -> Decision | None:
    """The decision that set the person's current intervention, when it was chosen from the treatment options (the
    newest applied decision about the intervention; None when that one was not a choice between options)."""
    q = (
        select(Decision)
        .where(Decision.person_id == person_id, Decision.status == "applied")
        .order_by(Decision.decided_at.desc())
    )
    for d in session.scalars(q):
        if "intervention" in (d.payload or {}):
            pred = prediction_of(d)
            return d if pred and pred.get("option") == option and d.payload.get("intervention") == option else None
    return None


def _intervention(session: Session, ep: Episode) -> dict[str, Any]:
    spec = interventions.rules().interventions.get(ep.pathway)
    d = _chosen(session, ep.person_id, ep.pathway)
    return {
        "id": ep.pathway,
        "label": spec.label if spec else ep.pathway.replace("_", " "),
        "chosen_from_options": d is not None,
        "decision_id": str(d.id) if d else None,
        "chosen_on": d.decided_at.date().isoformat() if d else None,
    }


def _therapist(t: Therapist) -> dict[str, Any]:
    label = intake_definition().professions.get(t.profession or "")
    return {"id": str(t.id), "name": t.name, "profession": t.profession, "profession_label": label}


def _first_offered(wanted: list[Any], offered: list[str]) -> str | None:
    return next((str(w) for w in wanted if not offered or w in offered), None)


def _arrangement(session: Session, person_id: uuid.UUID, t: Therapist, prefs: dict[str, Any]) -> dict[str, Any]:
    """How, where and how often: the appointment plan when there is one and the therapist offers its format and
    place, else the person's preferences the therapist offers, else what the therapist offers first."""
    ap = session.get(AppointmentPlan, person_id)
    offers = (not t.formats or ap is None or ap.format in t.formats) and (
        not t.places or ap is None or ap.place in t.places
    )
    if ap is not None and offers:
        return {"format": ap.format, "place": ap.place, "frequency": ap.frequency, "from": "appointment plan"}
    fmt = _first_offered(list(prefs.get("formats") or []), t.formats)
    place = _first_offered(list(prefs.get("places") or []), t.places)
    source = "preferences" if fmt or place else "therapist"
    fmt = fmt or (t.formats[0] if t.formats else None)
    place = place or (t.places[0] if t.places else None)
    if place is not None and fmt is not None and coherent(place, fmt) is not None:
        place = "remote" if fmt in ("video", "phone") else next((x for x in t.places if x != "remote"), place)
    return {"format": fmt, "place": place, "frequency": ap.frequency if ap else None, "from": source}


def _first_time(
    session: Session, person_id: uuid.UUID, t: Therapist, how: dict[str, Any], prefs: dict[str, Any]
) -> dict[str, Any]:
    """The first appointment booked with this therapist, else the best-fitting hour in the next two weeks on the
    service's working days for the arranged format and place, clear of the therapist's and the person's bookings
    (a suggestion the team confirms: the therapist's diary is their booked appointments, nothing more)."""
    booked = care.upcoming_appointments(session, person_id)
    mine = [a for a in booked if a.with_whom == t.name]
    if mine:
        a = mine[0]
        return {"start": a.start.isoformat(), "booked": True, "format": a.format, "place": a.place}
    first = (utcnow().astimezone(slots.LONDON) + timedelta(days=1)).date()
    start = datetime.combine(first, datetime.min.time(), slots.LONDON)
    theirs = session.scalars(
        select(Appointment.start).where(
            Appointment.with_whom == t.name,
            Appointment.status == "booked",
            Appointment.start >= start,
            Appointment.start < start + timedelta(days=SLOT_DAYS),
        )
    ).all()
    days = matching_settings.settings().working_days
    fits = [
        s
        for s in slots.candidates(first, SLOT_DAYS, [*theirs, *(a.start for a in booked)])
        if (how["format"] is None or s.format == how["format"])
        and (how["place"] is None or s.place == how["place"])
        and slots.DAYS[s.start.weekday()] in days
    ]
    best = slots.rank(fits, prefs, 1)
    if not best:
        return {"start": None, "booked": False, "format": how["format"], "place": how["place"]}
    return {"start": best[0].start.isoformat(), "booked": False, "format": best[0].format, "place": best[0].place}


def _goals(session: Session, ep: Episode) -> dict[str, Any]:
    rec = session.scalar(select(IntakeRecord).where(IntakeRecord.episode_id == ep.id))
    if rec is None:
        return {"intake_record_id": None, "items": []}
    return {"intake_record_id": str(rec.id), "items": [g.goal for g in intake_view(rec).goals]}


def _reviews(pathway: str, first: str | None) -> list[dict[str, Any]]:
    """The formal review points (weeks after the first session; monitoring.yaml, by default weeks 4 and 8), dated
    from the first session when its date is known."""
    cfg = monitoring_settings.load().reviews
    weeks = cfg.weeks_for(pathway)
    if first is None:
        return [{"week": w, "around": None} for w in weeks]
    start = datetime.fromisoformat(first).astimezone(slots.LONDON).date()
    return [{"week": s.week, "around": s.due.isoformat()} for s in schedule(start, weeks, date.min)]


def _latest_preferences(session: Session, person_id: uuid.UUID) -> Preferences | None:
    return session.scalar(
        select(Preferences).where(Preferences.person_id == person_id).order_by(Preferences.version.desc()).limit(1)
    )


def build_content(session: Session, allocation: Allocation, interpreter: bool = False) -> dict[str, Any]:
    """The plan's content from the records as they are now (unaudited: ``draft`` audits what it read)."""
    ep = session.get(Episode, allocation.episode_id)
    t = session.get(Therapist, allocation.therapist_id)
    if ep is None or t is None:
        raise Conflict("the allocation's episode or therapist no longer exists; no therapy plan was drafted")
    p = _latest_preferences(session, allocation.person_id)
    prefs: dict[str, Any] = dict(p.data) if p else {}
    person = session.get(Person, allocation.person_id)
    how = _arrangement(session, allocation.person_id, t, prefs)
    first = _first_time(session, allocation.person_id, t, how, prefs)
    return {
        "intervention": _intervention(session, ep),
        "therapist": _therapist(t),
        # the interpreter booked with the allocation, in words ('a Polish interpreter'; its booking is a task)
        "interpreter": languages.interpreter(person.preferred_language) if interpreter and person else None,
        **how,
        "days": [d for d in prefs.get("days") or [] if d in slots.DAYS],
        "periods": [x for x in prefs.get("periods") or [] if x in slots.PERIODS],
        "times": [str(x) for x in prefs.get("times") or []],
        "preferences_version": p.version if p else None,
        "first": first,
        "goals": _goals(session, ep),
        "reviews": _reviews(ep.pathway, first["start"]),
        "expect": expect_lines(ep.pathway),
    }


def draft(session: Session, allocation: Allocation, by: str, interpreter: bool = False) -> TherapyPlan:
    """A new version of the person's therapy plan for this allocation (called when the allocation decision is
    applied, inside its transaction): any earlier current plan stops being current, so the person only ever answers
    the newest (H-098). Audited as ``by`` (the username of whoever the decision is applied for)."""
    ep = session.get(Episode, allocation.episode_id)
    if ep is not None and ep.discharge_date is not None:
        raise Conflict("the episode is closed; no therapy plan was drafted")
    content = build_content(session, allocation, interpreter)
    pid = allocation.person_id
    session.execute(
        update(TherapyPlan)
        .where(TherapyPlan.person_id == pid, TherapyPlan.current.is_(True))
        .values(current=False)
        .execution_options(synchronize_session="fetch")
    )
    latest = session.scalar(select(func.max(TherapyPlan.version)).where(TherapyPlan.person_id == pid)) or 0
    plan = TherapyPlan(
        person_id=pid,
        episode_id=allocation.episode_id,
        allocation_id=allocation.id,
        version=latest + 1,
        current=True,
        content=content,
        status="proposed",
        created_by=by,
    )
    session.add(plan)
    session.flush()
    via = {"via": "therapy plan"}
    intake_id = content["goals"]["intake_record_id"]
    audit.append_many(
        session,
        actor_of(session, by),
        [
            audit.Entry("read", "IntakeRecord", intake_id, pid, None, via),
            audit.Entry("read", "Preferences", None, pid, None, via),
            audit.Entry("read", "Appointment", None, pid, None, via),
            audit.Entry(
                "create",
                "TherapyPlan",
                str(plan.id),
                pid,
                None,
                {"version": plan.version, "allocation_id": str(allocation.id)},
            ),
        ],
    )
    return plan


# -- reading -----------------------------------------------------------------------------------------------------


def current(session: Session, person_id: uuid.UUID) -> TherapyPlan | None:
    """The current plan, unaudited: for use cases that audit the read themselves."""
    return session.scalar(select(TherapyPlan).where(TherapyPlan.person_id == person_id, TherapyPlan.current.is_(True)))


def read(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> TherapyPlan | None:
    """The person's current therapy plan for staff with access (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    plan = current(session, person_id)
    audit.append(
        session, principal.actor, "read", "TherapyPlan", str(plan.id) if plan else None, person_id, detail={"via": via}
    )
    return plan


def read_by_link(session: Session, token: str) -> TherapyPlan | None:
    """The person's current therapy plan through their link (audited as the person via the link)."""
    link = care.open_plan_link(session, token)
    plan = current(session, link.person_id)
    audit.append(
        session,
        care.link_actor(link),
        "read",
        "TherapyPlan",
        str(plan.id) if plan else None,
        link.person_id,
        detail={"via": "own-plan link"},
    )
    return plan


@dataclass(frozen=True)
class Shown:
    """The dates in a plan's content as values a page formats (the content keeps them as ISO text)."""

    first: datetime | None
    first_booked: bool
    reviews: tuple[tuple[int, date | None], ...]


def shown(plan: TherapyPlan) -> Shown:
    c: dict[str, Any] = dict(plan.content or {})
    first: dict[str, Any] = dict(c.get("first") or {})
    start = datetime.fromisoformat(str(first["start"])) if first.get("start") else None
    reviews = tuple(
        (int(r["week"]), date.fromisoformat(r["around"]) if r.get("around") else None) for r in c.get("reviews") or []
    )
    return Shown(start, bool(first.get("booked")), reviews)


# -- the person's answer ------------------------------------------------------------------------------------------


def _answer_text(accept: bool, text: str) -> str | None:
    problems = []
    if "\x00" in text:
        problems.append(FieldProblem("text", "contains a NUL character"))
    elif len(text.strip()) > MAX_ANSWER_CHARS:
        problems.append(FieldProblem("text", f"at most {MAX_ANSWER_CHARS} characters (this has {len(text.strip())})"))
    elif not accept and visible_length(text) < 5:
        problems.append(FieldProblem("text", "say what you would like to change (at least 5 characters)"))
    if problems:
        raise InvalidInput("your answer was not sent", problems)
    return text.strip() if visible_length(text) else None


def answer_by_link(
    session: Session, token: str, accept: bool, text: str = "", version: int | None = None
) -> TherapyPlan:
    """The person accepts their current plan, or asks for a change in their words: the plan's status changes and,
    for a change, a task for their team is opened in the same transaction (H-099). ``version`` is the version the
    person read: an answer to a plan that is no longer current, or already answered, is refused (Conflict) and
    nothing is stored."""
    link = care.open_plan_link(session, token)
    note = _answer_text(accept, text)
    plan = current(session, link.person_id)
    if plan is None:
        raise Conflict("There is no therapy plan waiting for your answer. Your team will tell you when there is.")
    if version is not None and version != plan.version:
        raise Conflict(
            "Your team changed your therapy plan since you opened this page, so your answer was not sent. Read the "
            "plan as it is now and answer again.",
            [FieldProblem("version", f"now version {plan.version}")],
        )
    status = "accepted" if accept else "change_requested"
    now = utcnow()
    # one conditional update: a plan redrafted (no longer current) or already answered meanwhile is not touched
    result = session.execute(
        update(TherapyPlan)
        .where(TherapyPlan.id == plan.id, TherapyPlan.current.is_(True), TherapyPlan.status == "proposed")
        .values(status=status, answered_at=now, answer_note=note)
        .execution_options(synchronize_session="fetch")
    )
    won = cast(CursorResult[Any], result).rowcount
    if won != 1:
        session.refresh(plan)
        said = "accepted it" if plan.status == "accepted" else "asked for a change"
        raise Conflict(
            f"You already answered this plan (you {said}). To change anything, ask your team below.",
            [FieldProblem("version", f"version {plan.version} is {plan.status.replace('_', ' ')}")],
        )
    actor = care.link_actor(link)
    audit.append(
        session,
        actor,
        "update",
        "TherapyPlan",
        str(plan.id),
        link.person_id,
        detail={"status": status, "version": plan.version, "via": "own-plan link"},
    )
    if not accept:
        tasks.create(
            session,
            actor,
            TASK_KIND,
            f"The person asks for a change to their therapy plan (version {plan.version})",
            note or "",
            person_id=link.person_id,
            source_key=f"{TASK_KIND}:{plan.id}",
        )
    return plan
