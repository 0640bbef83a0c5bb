"""Use cases for governed change: request a change (applied under delegated authority or escalated),
answer an escalation, and read a person's decisions and a senior clinician's queue."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.care import interventions
from idiograph.care.booking import booking_window
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, RiskAssessment
from idiograph.care.options import FORMAT_LABELS, FORMATS, FREQUENCY_LABELS, PLACE_LABELS, PLACES, coherent
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, invalid
from idiograph.governance import policy as policy_module
from idiograph.governance.model import Decision, Escalation
from idiograph.governed import governing
from idiograph.patients.access import ensure_access
from idiograph.patients.model import CaseloadAssignment, Episode
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import profession_of
from idiograph.text import visible_length


@lru_cache(maxsize=1)
def current_policy() -> policy_module.Policy:
    """The shipped policy, or the file named by IDIOGRAPH_POLICY (validated; a bad file stops startup)."""
    path = os.environ.get("IDIOGRAPH_POLICY")
    return policy_module.load(Path(path)) if path else policy_module.shipped()


def current_risk(session: Session, person_id: uuid.UUID) -> RiskAssessment | None:
    q = (
        select(RiskAssessment)
        .where(RiskAssessment.person_id == person_id)
        .order_by(RiskAssessment.assessed_at.desc())
        .limit(1)
    )
    return session.scalar(q)


def risk_for(session: Session, principal: Principal, person_id: uuid.UUID) -> RiskAssessment | None:
    """The person's latest risk assessment, for someone to read (an audited read; ``current_risk`` is the rules'
    own look, audited with the decision it informs)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    risk = current_risk(session, person_id)
    audit.append(
        session, principal.actor, "read", "RiskAssessment", str(risk.id) if risk else None, person_id, detail={}
    )
    return risk


def evidence(session: Session, person_id: uuid.UUID) -> dict[str, Any]:
    """What a decision rests on, captured when it is made: open alerts and the latest questionnaire totals."""
    from idiograph.alerts.kinds import OPEN
    from idiograph.alerts.model import Alert
    from idiograph.instruments.definitions import instruments
    from idiograph.observations.model import Observation

    alerts = session.scalars(select(Alert).where(Alert.person_id == person_id, Alert.status.in_(OPEN)))
    out: dict[str, Any] = {"alerts": [{"id": str(a.id), "kind": a.kind, "title": a.title} for a in alerts]}
    latest = []
    for inst in instruments().values():
        o = session.scalar(
            select(Observation)
            .where(
                Observation.person_id == person_id,
                Observation.code == inst.total.code,
                Observation.system == inst.total.system,
            )
            .order_by(Observation.effective_at.desc())
            .limit(1)
        )
        if o is not None:
            latest.append(
                {"id": str(o.id), "measure": inst.title, "value": o.value, "time": o.effective_at.isoformat()}
            )
    out["observations"] = latest
    return out


def open_episode(session: Session, person_id: uuid.UUID) -> Episode | None:
    q = (
        select(Episode)
        .where(Episode.person_id == person_id, Episode.discharge_date.is_(None))
        .order_by(Episode.referral_date.desc())
        .limit(1)
    )
    return session.scalar(q)


# -- what each change does -----------------------------------------------------------------------------------


def _appointment(session: Session, person_id: uuid.UUID, payload: dict[str, Any]) -> Appointment:
    raw = payload.get("appointment_id")
    try:
        appt = session.get(Appointment, uuid.UUID(str(raw)))
    except ValueError:
        appt = None
    if appt is None or appt.person_id != person_id:
        raise invalid("appointment_id", "no such appointment for this person")
    if appt.status != "booked":
        raise invalid("appointment_id", f"the appointment is {appt.status.replace('_', ' ')}, not booked")
    return appt


LONDON = ZoneInfo("Europe/London")
DISCHARGE_REASONS = ("completed", "recovered", "declined", "disengaged", "transferred", "moved_away", "died")


# Governed changes owned by a capability above this layer (matching's therapist allocation): it registers how to
# check a request and how to carry it out, so the one decision path (policy, rationale, escalation, audit) covers it.
Checker = Callable[[Session, uuid.UUID, dict[str, Any]], tuple[list[str], list[str], list[FieldProblem]]]
Applier = Callable[[Session, Decision], None]
EXTENSIONS: dict[str, tuple[Checker, Applier]] = {}
ON_DISCHARGE: list[Callable[[Session, Episode], None]] = []  # run inside apply when an episode is discharged


def extend(key: str, check: Checker, carry_out: Applier) -> None:
    """Register a governed change carried in ``payload[key]``: ``check`` returns (changes, summary parts, problems)
    and ``carry_out`` applies an allowed or approved decision inside ``governing``."""
    EXTENSIONS[key] = (check, carry_out)


def _freq(step: str) -> str:
    return FREQUENCY_LABELS.get(step, step)


def changes_in(session: Session, person_id: uuid.UUID, payload: dict[str, Any]) -> tuple[list[str], str]:
    """Which policy changes a request contains, validated, and a one-line summary of it."""
    problems: list[FieldProblem] = []
    changes: list[str] = []
    parts: list[str] = []
    if "appointment_id" in payload:
        appt = _appointment(session, person_id, payload)
        if "start" in payload:
            try:
                start = datetime.fromisoformat(str(payload["start"]))
            except ValueError:
                start = None
            if start is None or start.tzinfo is None:
                problems.append(FieldProblem("start", "must be an ISO 8601 time with an offset"))
            elif why_not := booking_window(start, utcnow()):
                problems.append(FieldProblem("start", why_not))
            else:
                changes.append("appointment.time")
                parts.append(f"move to {start.astimezone(LONDON):%d %b %Y %H:%M}")
        place, fmt = payload.get("place", appt.place), payload.get("format", appt.format)
        if "place" in payload:
            if place not in PLACES:
                problems.append(FieldProblem("place", f"must be one of {', '.join(PLACES)}"))
            elif place != appt.place:
                changes.append("appointment.place")
                parts.append(f"place {PLACE_LABELS[appt.place]} to {PLACE_LABELS[place]}")
        if "format" in payload:
            if fmt not in FORMATS:
                problems.append(FieldProblem("format", f"must be one of {', '.join(FORMATS)}"))
            elif fmt != appt.format:
                changes.append("appointment.format")
                parts.append(f"format {FORMAT_LABELS[appt.format]} to {FORMAT_LABELS[fmt]}")
        if place in PLACES and fmt in FORMATS and (why := coherent(place, fmt)):
            problems.append(FieldProblem("format", why))
    if "frequency" in payload:
        plan = session.get(AppointmentPlan, person_id)
        steps = current_policy().frequency_steps
        if plan is None:
            problems.append(FieldProblem("frequency", "the person has no appointment plan yet"))
        elif payload["frequency"] not in steps:
            problems.append(FieldProblem("frequency", f"must be one of {', '.join(steps)}"))
        elif payload["frequency"] != plan.frequency:
            changes.append("appointment.frequency")
            parts.append(f"frequency {_freq(plan.frequency)} to {_freq(str(payload['frequency']))}")
    if "intervention" in payload:
        ep = open_episode(session, person_id)
        r = interventions.rules()
        risk = current_risk(session, person_id)
        wanted = str(payload["intervention"])
        if ep is None:
            problems.append(FieldProblem("intervention", "the person has no open episode"))
        elif why := interventions.appropriate(r, wanted, ep.presenting_problem, risk.level if risk else None):
            problems.append(FieldProblem("intervention", "; ".join(why)))
        elif wanted != ep.pathway:
            changes.append("intervention")
            old = r.interventions[ep.pathway].label if ep.pathway in r.interventions else ep.pathway
            parts.append(f"intervention {old} to {r.interventions[wanted].label}")
            if payload.get("declined"):
                parts.append(f"declined {_option_words(r, str(payload['declined']))}")
        elif payload.get("confirm"):  # the option compared and chosen is the one already planned: a decision too
            changes.append("intervention")
            parts.append(f"intervention {r.interventions[wanted].label} chosen (as planned)")
            if payload.get("declined"):
                parts.append(f"declined {_option_words(r, str(payload['declined']))}")
    if "discharge" in payload:
        ep = open_episode(session, person_id)
        reason = str(payload["discharge"])
        if ep is None:
            problems.append(FieldProblem("discharge", "the person has no open episode"))
        elif reason not in DISCHARGE_REASONS:
            problems.append(FieldProblem("discharge", f"must be one of {', '.join(DISCHARGE_REASONS)}"))
        else:
            changes.append("discharge")
            parts.append(f"discharge ({reason.replace('_', ' ')})")
    for key, (check, _) in EXTENSIONS.items():
        if key in payload:
            more, words, wrong = check(session, person_id, payload)
            changes += more
            parts += words
            problems += wrong
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in the change; nothing was changed", problems)
    if not changes:
        raise invalid("change", "nothing would change")
    return changes, "; ".join(parts)


def _option_words(r: interventions.Rules, value: str) -> str:
    """An intervention's label for a summary ("Group CBT"), or the words given when it is not one."""
    found = r.interventions.get(value)
    return found.label if found else value.replace("_", " ")


def apply(session: Session, decision: Decision) -> None:
    """Carry out a decided change (only ever called for an allowed or approved decision). The only place the
    governed facts change: inside ``governing`` and flushed there, so the database guard lets these UPDATEs by."""
    with governing(f"decision {decision.id}"):
        p = decision.payload
        if "discharge" in p:
            ep = open_episode(session, decision.person_id)
            if ep is None:
                raise Conflict("the episode is already closed")
            ep.discharge_date, ep.discharge_reason = utcnow().date(), str(p["discharge"])
            for then in ON_DISCHARGE:
                then(session, ep)
        if "intervention" in p:
            ep = open_episode(session, decision.person_id)
            if ep is None:
                raise Conflict("the episode was closed; the intervention cannot be changed")
            ep.pathway = str(p["intervention"])
        if "appointment_id" in p:
            appt = session.get(Appointment, uuid.UUID(str(p["appointment_id"])))
            assert appt is not None
            if appt.status != "booked":
                raise Conflict(f"the appointment is now {appt.status.replace('_', ' ')}; the change cannot be applied")
            if "start" in p:
                appt.start = datetime.fromisoformat(str(p["start"]))
            appt.place = str(p.get("place", appt.place))
            appt.format = str(p.get("format", appt.format))
        if "frequency" in p:
            plan = session.get(AppointmentPlan, decision.person_id)
            assert plan is not None
            plan.frequency = str(p["frequency"])
            plan.updated_at = utcnow()
        for key, (_, carry_out) in EXTENSIONS.items():
            if key in p:
                carry_out(session, decision)
        session.flush()


# -- requesting and answering --------------------------------------------------------------------------------


def request_change(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    payload: dict[str, Any],
    rationale: str,
    based_on: dict[str, Any] | None = None,
    prediction: dict[str, Any] | None = None,
) -> Decision:
    """Judge a change against the policy: apply it now (delegated authority) or escalate it, recording a
    decision with its rationale either way - one transaction. ``prediction`` is what the treatment options showed
    for a chosen option (selection.choice); it cannot come in ``based_on``, so no client can forge one."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    if based_on and "prediction" in based_on:
        raise invalid("based_on.prediction", "a prediction is kept only when an option is chosen from the options")
    if visible_length(rationale) < 5:
        raise invalid("rationale", "say why, in words (at least 5 characters)")
    changes, summary = changes_in(session, person_id, payload)
    policy = current_policy()
    risk = current_risk(session, person_id)
    plan = session.get(AppointmentPlan, person_id)
    verdicts = [
        policy_module.evaluate(
            policy,
            policy_module.Request(
                principal.role,
                c,
                risk.level if risk else "low",  # type: ignore[arg-type]
                plan.default_frequency if plan else None,
                str(payload.get("frequency")) if "frequency" in payload else None,
            ),
        )
        for c in changes
    ]
    escalations = [v for v in verdicts if v.outcome == "escalate"]
    now = utcnow()
    links = {**evidence(session, person_id), **(based_on or {})}
    if prediction is not None:
        links["prediction"] = prediction
    if risk is not None:
        links["risk_assessment"] = {"id": str(risk.id), "level": risk.level, "at": risk.assessed_at.isoformat()}
    decision = Decision(
        person_id=person_id,
        change="+".join(changes),
        summary=summary[:300],
        payload=payload,
        rationale=rationale.strip(),
        based_on=links,
        requested_by=principal.username,
        requested_profession=profession_of(session, principal),
        requested_role=principal.role,
        decided_at=now,
        status="pending" if escalations else "applied",
        authority="pending" if escalations else "delegated",
        policy_version=policy.version,
        policy_reason="; ".join(v.reason for v in (escalations or verdicts)),
    )
    session.add(decision)
    session.flush()
    if escalations:
        hours = min(v.respond_within_hours or policy.respond_within_hours for v in escalations)
        session.add(
            Escalation(
                decision_id=decision.id,
                person_id=person_id,
                to_role=policy.escalate_to,
                reason=decision.policy_reason,
                raised_at=now,
                due_at=now + timedelta(hours=hours),
            )
        )
    else:
        apply(session, decision)
    audit.append(
        session,
        principal.actor,
        "decide" if not escalations else "escalate",
        "Decision",
        str(decision.id),
        person_id,
        detail={"change": decision.change, "status": decision.status, "policy": policy.version},
    )
    return decision


def answer(session: Session, principal: Principal, escalation_id: uuid.UUID, approve: bool, note: str) -> Escalation:
    """The named role approves (the change is applied) or rejects (nothing changes), with a note."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise NotFound(f"no escalation with id {escalation_id}")
    ensure_access(session, principal, esc.person_id, Permission.PERSON_WRITE)
    if principal.role != esc.to_role and not principal.is_system:
        raise Forbidden(f"this escalation is for a {esc.to_role.replace('_', ' ')}")
    if esc.status != "pending":
        raise Conflict(f"already {esc.status} by {esc.answered_by}")
    if visible_length(note) < 5:
        raise invalid("note", "say why, in words (at least 5 characters)")
    decision = session.get(Decision, esc.decision_id)
    assert decision is not None
    now = utcnow()
    # One conditional update decides the answer: of several seniors answering at once exactly one succeeds
    # (found: six simultaneous answers all succeeded, and a rejected change ended up applied).
    won = session.execute(
        update(Escalation)
        .where(Escalation.id == esc.id, Escalation.status == "pending")
        .values(
            status="approved" if approve else "rejected",
            answered_by=principal.username,
            answered_at=now,
            answer_note=note.strip(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(esc)
    if won != 1:
        raise Conflict(f"already {esc.status} by {esc.answered_by}: reload to see the answer")
    decision.status = "applied" if approve else "rejected"
    decision.authority = "approved" if approve else "rejected"
    if approve:
        apply(session, decision)
    audit.append(
        session,
        principal.actor,
        esc.status,
        "Escalation",
        str(esc.id),
        esc.person_id,
        detail={"decision": str(decision.id), "note": note.strip()},
    )
    return esc


def decisions_for(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> list[Decision]:
    """A person's decisions, oldest first (the story of their care), with their escalations loaded."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    rows = list(session.scalars(select(Decision).where(Decision.person_id == person_id).order_by(Decision.decided_at)))
    audit.append(session, principal.actor, "read", "Decision", None, person_id, detail={"via": via, "count": len(rows)})
    return rows


def escalations_by_decision(
    session: Session, principal: Principal, person_id: uuid.UUID, decision_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Escalation]:
    """The escalations of these decisions of one person (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    found = (
        {
            e.decision_id: e
            for e in session.scalars(
                select(Escalation).where(Escalation.decision_id.in_(decision_ids), Escalation.person_id == person_id)
            )
        }
        if decision_ids
        else {}
    )
    audit.append(session, principal.actor, "read", "Escalation", None, person_id, detail={"count": len(found)})
    return found


def queue(session: Session, principal: Principal, since: datetime | None = None) -> dict[str, list[Any]]:
    """For a senior clinician: pending escalations (soonest due first) and decisions taken under delegated
    authority since ``since`` (default: the start of this month), on their teams' caseloads."""
    principal.require(Permission.PERSON_READ)
    now = utcnow()
    since = since or now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    people = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(principal.team_ids))
    pending = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.status == "pending", Escalation.person_id.in_(people))
            .order_by(Escalation.due_at)
        )
    )
    delegated = list(
        session.scalars(
            select(Decision)
            .where(Decision.authority == "delegated", Decision.decided_at >= since, Decision.person_id.in_(people))
            .order_by(Decision.decided_at.desc())
        )
    )
    audit.append(
        session,
        principal.actor,
        "read",
        "Escalation",
        None,
        None,
        detail={
            "pending": len(pending),
            "delegated": len(delegated),
            "since": since.isoformat(),
            # who was shown: the audit page's person filter finds this read (as it does a caseload list)
            "people": sorted({str(x.person_id) for x in [*pending, *delegated]}),
        },
    )
    return {"pending": pending, "delegated": delegated}


def escalate_overdue(session: Session, principal: Principal, now: datetime | None = None) -> list[Escalation]:
    """Re-escalate, once, every pending escalation past its due time to the policy's ``overdue.escalate_to`` role,
    recording who, when and why on the escalation and in the audit trail. Idempotent: an escalation already
    re-escalated is left alone, so running it twice changes nothing the second time (a conditional update per
    escalation: two runs at once re-escalate each only once). The answering role is unchanged."""
    policy = current_policy()
    if policy.overdue is None:
        return []
    target = policy.overdue.escalate_to
    now = now or utcnow()
    late = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.status == "pending", Escalation.due_at < now, Escalation.level == 1)
            .order_by(Escalation.due_at)
        )
    )
    done: list[Escalation] = []
    for esc in late:
        why = (
            f"not answered by its due time {esc.due_at.astimezone(LONDON):%d %b %Y %H:%M}; "
            f"re-escalated to a {target.replace('_', ' ')} under policy {policy.version}"
        )
        won = session.execute(
            update(Escalation)
            .where(Escalation.id == esc.id, Escalation.status == "pending", Escalation.level == 1)
            .values(
                level=2, escalated_to=target, escalated_at=now, escalated_by=principal.username, escalated_reason=why
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(esc)
        if won != 1:
            continue
        audit.append(
            session,
            principal.actor,
            "re-escalate",
            "Escalation",
            str(esc.id),
            esc.person_id,
            detail={"to": target, "due": esc.due_at.isoformat(), "policy": policy.version, "why": why},
        )
        done.append(esc)
    return done


def waiting_count(session: Session, principal: Principal) -> tuple[int, int]:
    """(waiting, overdue) pending escalations on the principal's teams for their role: addressed to it, or
    re-escalated to it. One COUNT query; no patient data."""

    on_teams = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(principal.team_ids))
    q = select(func.count(), func.count().filter(Escalation.due_at < utcnow())).where(
        Escalation.status == "pending",
        or_(Escalation.to_role == principal.role, Escalation.escalated_to == principal.role),
        Escalation.person_id.in_(on_teams),
    )
    waiting, overdue = session.execute(q).one()
    return (int(waiting), int(overdue))


def answering_roles() -> frozenset[str]:
    """The roles told in the header how many escalations wait: the one that answers and the overdue one."""
    p = current_policy()
    return frozenset({p.escalate_to} | ({p.overdue.escalate_to} if p.overdue else set()))


@dataclass(frozen=True)
class QueueRow:
    """One waiting escalation as a senior needs to read it: for whom, what, who asked, at what risk, and why."""

    escalation: Escalation
    decision: Decision
    person_name: str
    asked_by: str  # display name (username if the account is gone)
    asked_role: str
    risk_level: str | None  # None: not assessed
    risk_at: datetime | None
    overdue: bool


def queue_rows(session: Session, escalations: list[Escalation]) -> list[QueueRow]:
    """The waiting escalations of ``queue`` (already audited there) described in full, in the same order."""
    from idiograph.patients.lookup import names
    from idiograph.security.model import User

    if not escalations:
        return []
    decisions = {
        d.id: d for d in session.scalars(select(Decision).where(Decision.id.in_([e.decision_id for e in escalations])))
    }
    people = names(session, [e.person_id for e in escalations])
    usernames = {d.requested_by for d in decisions.values()}
    users = {u.username: u.display_name for u in session.scalars(select(User).where(User.username.in_(usernames)))}
    now = utcnow()
    rows = []
    for e in escalations:
        d = decisions[e.decision_id]
        risk = current_risk(session, e.person_id)
        rows.append(
            QueueRow(
                escalation=e,
                decision=d,
                person_name=people[e.person_id].name if e.person_id in people else "unknown person",
                asked_by=users.get(d.requested_by, d.requested_by),
                asked_role=d.requested_role,
                risk_level=risk.level if risk else None,
                risk_at=risk.assessed_at if risk else None,
                overdue=e.due_at < now,
            )
        )
    return rows


def intervention_options(
    session: Session, principal: Principal, person_id: uuid.UUID, declined: set[str]
) -> tuple[str | None, str, list[interventions.Option]]:
    """(current pathway, the standard offer, the appropriate alternatives given what was declined). Risk not
    assessed is unknown, not low: only options offered at any risk level are given until it is assessed."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    ep = open_episode(session, person_id)
    risk = current_risk(session, person_id)
    r = interventions.rules()
    problem = ep.presenting_problem if ep else None
    standard = interventions.standard_for(r, problem)
    options = interventions.alternatives(r, problem, risk.level if risk else None, declined | {standard})
    audit.append(
        session,
        principal.actor,
        "read",
        "Intervention",
        None,
        person_id,
        detail={"declined": sorted(declined), "risk": risk.level if risk else "not assessed"},
    )
    return (ep.pathway if ep else None), standard, options


# -- the appointment plan and the crisis plan ----------------------------------------------------------------


def set_plan(
    session: Session, principal: Principal, person_id: uuid.UUID, default_frequency: str, place: str, format_: str
) -> AppointmentPlan:
    """Start the appointment plan at the pathway's default; later changes are decisions."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    if default_frequency not in current_policy().frequency_steps:
        raise invalid("default_frequency", f"must be one of {', '.join(current_policy().frequency_steps)}")
    if session.get(AppointmentPlan, person_id) is not None:
        raise Conflict("the person already has an appointment plan; change it through a decision")
    plan = AppointmentPlan(
        person_id=person_id,
        frequency=default_frequency,
        default_frequency=default_frequency,
        place=place,
        format=format_,
    )
    session.add(plan)
    audit.append(session, principal.actor, "create", "AppointmentPlan", str(person_id), person_id)
    return plan


def save_crisis_plan(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    content: dict[str, Any],
    expected_version: int,
    rationale: str,
) -> CrisisPlan:
    """A new version, only if nobody saved one since ``expected_version`` (0 for the first): the loser of
    two simultaneous edits is told, and nothing of the winner's is lost. Recorded as a decision."""
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    if visible_length(rationale) < 5:
        raise invalid("rationale", "say why the plan changes (at least 5 characters)")
    policy = current_policy()
    verdict = policy_module.evaluate(policy, policy_module.Request(principal.role, "crisis_plan"))
    if verdict.outcome != "allowed":
        raise invalid("crisis_plan", verdict.reason)
    if expected_version > 0:
        # one conditional update decides who wins: it succeeds for exactly one of two concurrent saves
        won = session.execute(
            update(CrisisPlan)
            .where(
                CrisisPlan.person_id == person_id,
                CrisisPlan.version == expected_version,
                CrisisPlan.current.is_(True),
            )
            .values(current=False)
        ).rowcount
        if won != 1:
            latest = session.scalar(
                select(CrisisPlan).where(CrisisPlan.person_id == person_id, CrisisPlan.current.is_(True))
            )
            who = (
                f" by {latest.updated_by} at {latest.updated_at:%d %b %Y %H:%M} UTC (version {latest.version})"
                if latest
                else ""
            )
            raise Conflict(
                f"the crisis plan was changed{who} since you opened it; reload it and apply your change again"
            )
    plan = CrisisPlan(
        person_id=person_id,
        version=expected_version + 1,
        current=True,
        content=content,
        updated_by=principal.username,
    )
    session.add(plan)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            "someone saved the crisis plan at the same moment; reload it and apply your change again"
        ) from None
    session.add(
        Decision(
            person_id=person_id,
            change="crisis_plan",
            summary=f"crisis plan version {plan.version}",
            payload={"crisis_plan_version": plan.version},
            rationale=rationale.strip(),
            based_on={},
            requested_by=principal.username,
            requested_profession=profession_of(session, principal),
            requested_role=principal.role,
            decided_at=utcnow(),
            status="applied",
            authority="delegated",
            policy_version=policy.version,
            policy_reason=verdict.reason,
        )
    )
    audit.append(
        session, principal.actor, "update", "CrisisPlan", str(plan.id), person_id, detail={"version": plan.version}
    )
    return plan
