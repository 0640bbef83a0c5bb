"""The demo's care as delivered: risk assessments, preferences, appointment plans, care coordinators, crisis plans,
decisions under delegated authority, escalations waiting for a senior clinician and recorded reviews.

Each is written through its service as one of the demo's staff would write it (governed facts through the
governance service, their one writer; the policy decides what is delegated and what waits), from a random stream
of the demo's own (``person.care``), so the generated service itself is unchanged. The services stamp the clock's
time; each record is then dated where it belongs in the demo's past (a risk assessment at the assessment
appointment, a review near its due date), never after the demo's "now". The audit trail keeps when and as whom
each was really written."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care import service as care
from idiograph.governance import service as governance
from idiograph.governance.model import Decision, Escalation
from idiograph.intake import service as intake
from idiograph.intake.model import IntakeRecord
from idiograph.measures import experience_service as experience
from idiograph.measures import service as measures
from idiograph.measures.experience import forms as experience_forms
from idiograph.monitoring.reviews import service as reviews
from idiograph.patients import coordinator
from idiograph.pipeline import record
from idiograph.reporting.kpis import definitions as kpi_definitions
from idiograph.security.principal import Principal
from idiograph.synth.person import care as draw
from idiograph.synth.person import dialog

RECENT_ALERT_DAYS = 14  # the demo leaves safety alerts about answers this recent open: not yet reassessed
MAX_PENDING = 6


@dataclass(frozen=True)
class Visit:
    """One appointment as loaded (``status`` in the appointment table's words)."""

    id: uuid.UUID
    start: datetime
    status: str
    place: str
    format: str


@dataclass(frozen=True)
class DemoPerson:
    """What a generated person's care records are drawn from: who they are with, their episode, appointments and
    PHQ-9 answers as loaded (nothing of the generator's ground truth)."""

    index: int
    person_id: uuid.UUID
    episode_id: uuid.UUID
    team: str
    team_kind: str
    discharged: date | None  # None: the episode is open
    language: str | None
    prefers: tuple[str, str, str]  # format, place, time of day, as the person would say
    visits: tuple[Visit, ...]
    phq9: tuple[tuple[datetime, float], ...]  # totals, oldest first
    item9: tuple[tuple[datetime, int], ...]  # answers to item 9, oldest first

    def last_seen(self, now: datetime) -> datetime | None:
        seen = [v.start for v in self.visits if v.status == "attended" and v.start <= now]
        return seen[-1] if seen else None


@dataclass(frozen=True)
class Staff:
    principal: Principal
    name: str


@dataclass
class _State:
    """One person after their own records: what the service-wide choices (escalations) need."""

    person: DemoPerson
    level: str
    lead: Staff


def write_care(
    session: Session,
    team_staff: Mapping[str, Sequence[Staff]],
    senior: Staff | None,
    people: Sequence[DemoPerson],
    seed: int,
    now: datetime,
    progress: Progress | None = None,
) -> Counter[str]:
    """Every person's care records, then a few changes waiting for a senior clinician; returns what was written.
    People on a team with no demo staff get none (nobody there to write them)."""
    done: Counter[str] = Counter()
    states: list[_State] = []
    task = progress.add_task("writing their care records", total=len(people)) if progress else None
    for p in sorted(people, key=lambda p: p.index):
        staff = team_staff.get(p.team)
        if staff:
            state = _person(session, np.random.default_rng([seed, 3, p.index]), staff, p, now, done)
            if state is not None:
                states.append(state)
            _experience(session, np.random.default_rng([seed, 5, p.index]), staff, p, now, done)
            _goals_at_discharge(session, np.random.default_rng([seed, 7, p.index]), staff, p, now, done)
            if _community(p.team_kind):
                _dialog(session, np.random.default_rng([seed, 6, p.index]), staff, p, now, done)
        if progress and task is not None:
            progress.advance(task)
    if senior is not None:
        _escalations(session, np.random.default_rng([seed, 4]), senior, states, now, done)
    session.flush()
    return done


# Experience of choice: about a third answer after the assessment and a quarter at discharge (national PEQ
# returns are of this order); per question the chance of each answer, skipped now and then
EXPERIENCE_ANSWERED = {"assessment": 0.35, "discharge": 0.25}
EXPERIENCE_CHANCES: dict[str, dict[str, float]] = {
    "747861000000100": {"Y": 0.82, "N": 0.15, "NA": 0.03},
    "747871000000107": {"Y": 0.55, "N": 0.43, "NA": 0.02},
    "747921000000103": {"0": 0.03, "1": 0.05, "2": 0.14, "3": 0.36, "4": 0.40, "NA": 0.02},
    "choice-time": {"Y": 0.72, "N": 0.28},
    "choice-place": {"Y": 0.48, "N": 0.52},
    "choice-format": {"Y": 0.63, "N": 0.37},
}


def _experience(
    session: Session, rng: np.random.Generator, staff: Sequence[Staff], p: DemoPerson, now: datetime, done: Counter[str]
) -> None:
    """Some people answer the experience-of-choice form after their assessment and at discharge, each through a
    link their clinician sent (the real use cases), dated a few days after the event."""
    attended = [v for v in p.visits if v.status == "attended" and v.start <= now]
    if not attended:
        return
    who = staff[int(rng.integers(len(staff)))].principal
    events = [("peq-assessment", "assessment", attended[0].start)]
    if p.discharged is not None:
        events.append(("peq-discharge", "discharge", datetime.combine(p.discharged, attended[-1].start.timetz())))
    for form_id, when, at in events:
        answered_at = at + timedelta(days=int(rng.integers(1, 8)))
        if rng.random() >= EXPERIENCE_ANSWERED[when] or answered_at > now:
            continue
        form = experience_forms().form(form_id)
        assert form is not None
        answers: dict[str, str | None] = {}
        for item in form.items:
            if item.only_if:  # offered the preference: asked of people who had one
                had = all(answers.get(k) == v for k, v in item.only_if.items())
                answers[item.code] = ("Y" if rng.random() < 0.8 else "N") if had else "NA"
                continue
            chances = EXPERIENCE_CHANCES[item.code]
            pick = str(rng.choice(list(chances), p=list(chances.values())))
            answers[item.code] = None if rng.random() < 0.04 else pick
        if not any(answers.values()):
            continue
        link, token = measures.create_link(session, who, p.person_id, form_id, mode="experience")
        response = experience.submit(session, token, answers)
        link.created_at, link.used_at, response.authored_at = at, answered_at, answered_at
        link.expires_at = at + timedelta(days=14)
        done["experience-of-choice answers"] += 1


def _community(team_kind: str) -> bool:
    """Whether a team of this kind is a community team: not a talking-therapies kind (``kpis.yaml``
    ``talking_therapies_kinds``), as the community outcomes report reads it. The demo's teams carry the
    generator's kinds (``params.yaml``: talking_therapies, cmht)."""
    return team_kind not in kpi_definitions().talking_therapies_kinds


def _dialog(
    session: Session, rng: np.random.Generator, staff: Sequence[Staff], p: DemoPerson, now: datetime, done: Counter[str]
) -> None:
    """DIALOG rated with the person at the start of care and, for most, at a review or their last appointment,
    entered by a member of their team in the session (the clinician-entry use case, safety and statistical rules
    run as for any score)."""
    attended = [v.start for v in p.visits if v.status == "attended" and v.start <= now]
    when = dialog.times(rng, attended, p.discharged is not None, now)
    if not any(when):
        return
    who = staff[int(rng.integers(len(staff)))].principal
    for rating in dialog.ratings(rng, when, p.phq9):
        measures.enter(session, who, p.person_id, "dialog", rating.answers, rating.at, p.episode_id, record=record)
        done["DIALOG ratings"] += 1


def _decisions(session: Session, person_id: uuid.UUID) -> set[uuid.UUID]:
    return set(session.scalars(select(Decision.id).where(Decision.person_id == person_id)))


def _between(rng: np.random.Generator, start: datetime, end: datetime) -> datetime:
    """A time in [start, end] (end when the span is empty), to the minute."""
    if end <= start:
        return end
    t = start + (end - start) * float(rng.random())
    return t.replace(second=0, microsecond=0)


def _person(
    session: Session, rng: np.random.Generator, staff: Sequence[Staff], p: DemoPerson, now: datetime, done: Counter[str]
) -> _State | None:
    attended = [v for v in p.visits if v.status == "attended" and v.start <= now]
    if not attended:
        return None  # never seen: not assessed, nothing planned
    lead = staff[int(rng.integers(len(staff)))]
    who = lead.principal
    assessed = attended[0].start + timedelta(minutes=55)
    intake = [v for t, v in p.item9 if t <= assessed]
    levels = [(assessed, draw.level_at_assessment(rng, p.team_kind, intake[-1] if intake else None))]
    risk = care.record_risk(
        session,
        who,
        p.person_id,
        levels[0][1],
        draw.risk_summary(rng, levels[0][1], intake[-1] if intake else None, False),
    )
    risk.assessed_at = assessed
    done["risk assessments"] += 1
    positive = [(t, v) for t, v in p.item9 if v > 0 and assessed < t < now - timedelta(days=RECENT_ALERT_DAYS)]
    if positive:
        t, v = positive[-1]
        levels.append((t + timedelta(days=1), draw.level_after(rng, v)))
        again = care.record_risk(
            session, who, p.person_id, levels[-1][1], draw.risk_summary(rng, levels[-1][1], v, True)
        )
        again.assessed_at = levels[-1][0]
        done["risk assessments"] += 1

    version = 0
    for at, level in levels:
        if level == "high":
            version = _crisis_plan(session, rng, lead, p, at + timedelta(hours=1), version, done)
    current = levels[-1][1]
    medium_plan = 0.5 if p.team_kind == "cmht" else 0.2  # some people at medium risk have a plan too
    if version == 0 and current == "medium" and p.discharged is None and rng.random() < medium_plan:
        version = _crisis_plan(session, rng, lead, p, levels[-1][0] + timedelta(hours=1), version, done)

    if p.discharged is not None:
        return None
    coordinator.assign(session, who, p.person_id, who.user_id)
    done["care coordinators named"] += 1
    prefs = None
    if rng.random() < 0.75:
        prefs = draw.preferences(rng, p.prefers, p.language)
        saved = care.save_preferences(session, who, p.person_id, prefs, 0)
        saved.recorded_at = assessed + timedelta(minutes=5)
        done["preferences"] += 1
        if len(attended) > 3 and rng.random() < 0.2:
            prefs = draw.changed_preferences(rng, prefs)
            saved = care.save_preferences(session, who, p.person_id, prefs, 1)
            saved.recorded_at = attended[-2].start + timedelta(minutes=50)
            done["preferences"] += 1
    place, fmt = Counter((v.place, v.format) for v in p.visits).most_common(1)[0][0]
    plan = governance.set_plan(session, who, p.person_id, "weekly", place, fmt)
    plan.updated_at = assessed
    done["appointment plans"] += 1
    booked = [v for v in p.visits if v.status == "booked"]
    if prefs and booked and current != "high" and rng.random() < 0.4:
        change = draw.change_towards(prefs, booked[0].place, booked[0].format)
        if change is not None:
            payload, why = change
            decision = governance.request_change(
                session, who, p.person_id, {"appointment_id": str(booked[0].id), **payload}, why
            )
            assert decision.status == "applied", decision.policy_reason
            earliest = max(attended[-1].start + timedelta(hours=1), now - timedelta(days=7))
            decision.decided_at = _between(rng, earliest, now)
            done["decisions under delegated authority"] += 1
    _reviews(session, rng, who, p, now, done)
    return _State(p, current, lead)


def _crisis_plan(
    session: Session,
    rng: np.random.Generator,
    lead: Staff,
    p: DemoPerson,
    at: datetime,
    version: int,
    done: Counter[str],
) -> int:
    content = draw.crisis_plan(rng, p.team, lead.name, version + 1)
    why = (
        f"Written with them after the risk assessment on {at:%d %b %Y}"
        if version == 0
        else f"Updated with them after the reassessment on {at:%d %b %Y}"
    )
    before = _decisions(session, p.person_id)
    plan = governance.save_crisis_plan(session, lead.principal, p.person_id, content, version, why)
    plan.updated_at = at
    session.flush()
    (new,) = session.scalars(select(Decision).where(Decision.person_id == p.person_id, Decision.id.not_in(before)))
    new.decided_at = at
    done["crisis plans"] += 1
    return plan.version


def _reviews(
    session: Session, rng: np.random.Generator, who: Principal, p: DemoPerson, now: datetime, done: Counter[str]
) -> None:
    """Most reviews that fell due were recorded near their date; some recent ones are still due or overdue."""
    today = now.date()
    for row in reviews.for_person(session, who, p.person_id):
        slot = row.slot
        if row.episode_id != p.episode_id or slot.status not in ("due", "overdue") or slot.due > today:
            continue
        long_ago = slot.due < today - timedelta(days=14)
        if rng.random() >= (0.85 if long_ago else 0.5):
            continue
        due = datetime.combine(slot.due, datetime.min.time(), now.tzinfo) + timedelta(hours=11)
        when = min(due + timedelta(days=int(rng.integers(0, 6))), now) if long_ago else _between(rng, due, now)
        review = reviews.record(session, who, p.episode_id, slot.week, draw.review_note(slot.week, p.phq9, when))
        review.completed_at = when
        done["reviews recorded"] += 1
        if _rerate_goals(session, who, p, when):
            done["goal re-ratings"] += 1


GOALS_RATED_AT_DISCHARGE = 0.6  # the share of people leaving care who re-rate their intake goals at the last session


def _goals_at_discharge(
    session: Session, rng: np.random.Generator, staff: Sequence[Staff], p: DemoPerson, now: datetime, done: Counter[str]
) -> None:
    """Some people re-rate their intake goals at their last attended session before discharge (Goal-Based
    Outcomes), from a random stream of their own so the demo's other records are unchanged."""
    if p.discharged is None or rng.random() >= GOALS_RATED_AT_DISCHARGE:
        return
    seen = [v.start for v in p.visits if v.status == "attended" and v.start.date() <= p.discharged]
    if len(seen) < 2:
        return
    who = staff[int(rng.integers(len(staff)))].principal
    if _rerate_goals(session, who, p, seen[-1] + timedelta(minutes=45)):
        done["goal ratings at discharge"] += 1


def _rerate_goals(session: Session, who: Principal, p: DemoPerson, when: datetime) -> bool:
    """At a recorded review the person re-rates their intake goals: up by a point for every three PHQ-9 points
    improved since the first score, down likewise (no random draw: the demo's other records stay as they were)."""
    goals = session.scalar(select(IntakeRecord.goals).where(IntakeRecord.episode_id == p.episode_id))
    scores = [v for t, v in p.phq9 if t <= when]
    if not goals or not scores:
        return False
    shift = round((scores[0] - scores[-1]) / 3)
    ratings = {n: min(10, max(0, g["ratings"][-1]["rating"] + shift)) for n, g in enumerate(goals, start=1)}
    intake.rerate_goals(session, who, p.person_id, ratings, when.date(), p.episode_id)
    return True


def _escalations(
    session: Session,
    rng: np.random.Generator,
    senior: Staff,
    states: Sequence[_State],
    now: datetime,
    done: Counter[str],
) -> None:
    """A few changes beyond delegated authority, waiting for the senior clinician (raised in the last two days,
    some may be overdue), and, in a larger service, one approved and one refused earlier in the week."""
    candidates: dict[str, list[_State]] = {
        # two steps from the pathway's weekly: beyond a clinician's or care coordinator's one step
        "monthly": [
            s
            for s in states
            if s.level != "high" and len(s.person.phq9) >= 2 and s.person.phq9[-1][1] < s.person.phq9[0][1]
        ],
        # any change of the appointment at high risk needs approval, whoever asks
        "home visit": [
            s
            for s in states
            if s.level == "high" and any(v.status == "booked" and v.place != "home" for v in s.person.visits)
        ],
        # only a senior clinician discharges
        "discharge": [s for s in states if len(s.person.phq9) >= 2 and max(v for _, v in s.person.phq9[-2:]) < 10],
    }
    pending = min(MAX_PENDING, max(1, round(len(states) / 30)))
    kinds = list(candidates)
    wanted: list[tuple[bool | None, list[str]]] = [(None, kinds[k % 3 :] + kinds[: k % 3]) for k in range(pending)]
    if pending >= 3:
        wanted += [(True, ["home visit", "monthly"]), (False, ["discharge", "monthly"])]
    used: set[int] = set()
    for answer, order in wanted:
        for kind in order:
            left = [s for s in candidates[kind] if s.person.index not in used]
            if left:
                s = left[int(rng.integers(len(left)))]
                used.add(s.person.index)
                _escalate(session, rng, senior, s, kind, answer, now, done)
                break


def _escalate(
    session: Session,
    rng: np.random.Generator,
    senior: Staff,
    s: _State,
    kind: str,
    answer: bool | None,
    now: datetime,
    done: Counter[str],
) -> None:
    p = s.person
    phq9 = [int(v) for _, v in p.phq9]
    if kind == "monthly":
        payload: dict[str, Any] = {"frequency": "monthly"}
        why = f"Much better (PHQ-9 {phq9[0]} at the start, {phq9[-1]} now) and back at work; asks to come monthly"
    elif kind == "home visit":
        visit = next(v for v in p.visits if v.status == "booked" and v.place != "home")
        payload = {"appointment_id": str(visit.id), "place": "home", "format": "in_person"}
        why = "Has not left the house since the weekend; a home visit instead, with a colleague"
    else:
        payload = {"discharge": "recovered"}
        why = f"PHQ-9 below 10 at the last two sessions ({phq9[-2]}, {phq9[-1]}); agreed with them to finish"
    decision = governance.request_change(session, s.lead.principal, p.person_id, payload, why)
    escalation = session.scalar(select(Escalation).where(Escalation.decision_id == decision.id))
    assert escalation is not None, f"{kind} was within delegated authority"
    seen = p.last_seen(now) or now - timedelta(days=7)
    back = timedelta(hours=float(rng.uniform(2, 40))) if answer is None else timedelta(days=float(rng.uniform(3, 6)))
    raised = max(seen + timedelta(hours=1), now - back).replace(second=0, microsecond=0)
    window = escalation.due_at - escalation.raised_at
    if answer is not None:
        governance.answer(
            session,
            senior.principal,
            escalation.id,
            answer,
            "Agreed; review at the next supervision" if answer else "Not yet: talk it through at the next review",
        )
        escalation.answered_at = _between(rng, raised + timedelta(hours=3), min(raised + window, now))
        done[f"escalations {'approved' if answer else 'refused'}"] += 1
    else:
        done["escalations waiting"] += 1
    decision.decided_at = escalation.raised_at = raised
    escalation.due_at = raised + window
