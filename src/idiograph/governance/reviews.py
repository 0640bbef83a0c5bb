"""The regular governance review: for one team and one period (its length is policy data), the decisions taken
under delegated authority and the escalations, signed off once by a senior clinician with notes; follow-ups
become tasks. A review not signed off ``overdue_after_days`` after its period ends is overdue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idiograph.care import tasks
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, Forbidden, InvalidInput
from idiograph.governance.model import Decision, Escalation, GovernanceReview
from idiograph.governance.service import LONDON, current_policy
from idiograph.patients import nhs_number
from idiograph.patients.model import CaseloadAssignment, Person
from idiograph.security import audit
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.text import visible_length


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def period_containing(day: date) -> tuple[date, date]:
    """(first day, last day) of the review period containing ``day`` (periods start in January)."""
    every = current_policy().review.every_months
    start = date(day.year, (day.month - 1) // every * every + 1, 1)
    return start, _add_months(start, every) - timedelta(days=1)


def last_period(today: date) -> tuple[date, date]:
    """The period that ended most recently before ``today``'s."""
    start, _ = period_containing(today)
    return period_containing(start - timedelta(days=1))


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    a = datetime.combine(start, time(), LONDON).astimezone(UTC)
    b = datetime.combine(end + timedelta(days=1), time(), LONDON).astimezone(UTC)
    return a, b


@dataclass
class ReviewView:
    team_id: uuid.UUID
    team_name: str
    start: date
    end: date
    decisions: list[Decision]
    escalations: list[Escalation]
    counts: dict[str, int]
    signed: GovernanceReview | None
    overdue: bool


def _team(session: Session, principal: Principal, team_id: uuid.UUID) -> Team:
    principal.require(Permission.PERSON_READ)
    team = session.get(Team, team_id)
    if team is None or (team_id not in principal.team_ids and not principal.is_system):
        raise Forbidden("you can review only your own teams")
    return team


def teams_of(session: Session, principal: Principal) -> list[tuple[uuid.UUID, str]]:
    """The principal's teams, by name (no patient data)."""
    rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(principal.team_ids)).order_by(Team.name))
    return [(r[0], r[1]) for r in rows]


def view(session: Session, principal: Principal, team_id: uuid.UUID, start: date, via: str = "api") -> ReviewView:
    """What the review of ``team_id`` for the period starting ``start`` covers, and its sign-off if any (audited)."""
    team = _team(session, principal, team_id)
    start, end = period_containing(start)
    a, b = _bounds(start, end)
    people = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == team_id)
    decisions = list(
        session.scalars(
            select(Decision)
            .where(
                Decision.authority == "delegated",
                Decision.decided_at >= a,
                Decision.decided_at < b,
                Decision.person_id.in_(people),
            )
            .order_by(Decision.decided_at)
        )
    )
    escalations = list(
        session.scalars(
            select(Escalation)
            .where(Escalation.raised_at >= a, Escalation.raised_at < b, Escalation.person_id.in_(people))
            .order_by(Escalation.raised_at)
        )
    )
    now = utcnow()
    counts = {
        "delegated": len(decisions),
        "escalations": len(escalations),
        "answered": sum(e.status != "pending" for e in escalations),
        "pending": sum(e.status == "pending" for e in escalations),
        "overdue": sum(e.status == "pending" and e.due_at < now for e in escalations),
        "answered late": sum(e.answered_at is not None and e.answered_at > e.due_at for e in escalations),
        "re-escalated": sum(e.level > 1 for e in escalations),
    }
    signed = session.scalar(
        select(GovernanceReview).where(GovernanceReview.team_id == team_id, GovernanceReview.period_start == start)
    )
    due = end + timedelta(days=current_policy().review.overdue_after_days)
    audit.append(
        session,
        principal.actor,
        "read",
        "GovernanceReview",
        str(signed.id) if signed else None,
        None,
        detail={
            "via": via,
            "team": team.name,
            "period": start.isoformat(),
            **counts,
            "people": sorted({str(x.person_id) for x in [*decisions, *escalations]}),
        },
    )
    return ReviewView(
        team.id, team.name, start, end, decisions, escalations, counts, signed, signed is None and now.date() > due
    )


def overdue_for(session: Session, principal: Principal, today: date | None = None) -> list[tuple[uuid.UUID, str, date]]:
    """(team id, team name, period start) of the last period's reviews not signed off in time, for the reviewer."""
    policy = current_policy()
    if principal.role != policy.review.by:
        return []
    today = today or utcnow().astimezone(LONDON).date()
    start, end = last_period(today)
    if today <= end + timedelta(days=policy.review.overdue_after_days):
        return []
    signed = set(
        session.scalars(
            select(GovernanceReview.team_id).where(
                GovernanceReview.period_start == start, GovernanceReview.team_id.in_(principal.team_ids)
            )
        )
    )
    teams = session.scalars(select(Team).where(Team.id.in_(principal.team_ids)).order_by(Team.name))
    return [(t.id, t.name, start) for t in teams if t.id not in signed]


def sign_off(
    session: Session,
    principal: Principal,
    team_id: uuid.UUID,
    start: date,
    notes: str,
    follow_ups: list[dict[str, Any]],
) -> GovernanceReview:
    """Sign the review off, once, with notes; each follow-up ({"text", "nhs_number"?}) becomes a task (idempotent
    on the review and line). Every problem is named before anything is stored."""
    policy = current_policy()
    if principal.role != policy.review.by and not principal.is_system:
        raise Forbidden(f"a governance review is signed off by a {policy.review.by.replace('_', ' ')}")
    v = view(session, principal, team_id, start, via="sign-off")
    today = utcnow().astimezone(LONDON).date()
    problems: list[FieldProblem] = []
    if v.end >= today:
        problems.append(FieldProblem("period", "the period has not ended yet; sign it off once it has"))
    if visible_length(notes) < 5:
        problems.append(FieldProblem("notes", "say what you found, in words (at least 5 characters)"))
    people = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == team_id)
    wanted: list[tuple[str, uuid.UUID | None]] = []
    for i, f in enumerate(follow_ups):
        text = str(f.get("text", "")).strip()
        if not 3 <= visible_length(text) <= 200:
            problems.append(FieldProblem(f"follow_ups.{i}.text", "must be 3 to 200 characters"))
        nhs = nhs_number.normalise(str(f.get("nhs_number") or ""))
        person_id = None
        if nhs:
            person_id = session.scalar(select(Person.id).where(Person.nhs_number == nhs, Person.id.in_(people)))
            if person_id is None:
                problems.append(
                    FieldProblem(
                        f"follow_ups.{i}.nhs_number", f"no one on {v.team_name}'s caseload has NHS number {nhs}"
                    )
                )
        wanted.append((text, person_id))
    if v.signed is not None:
        raise Conflict(
            f"already signed off by {v.signed.signed_by} on {v.signed.signed_at.astimezone(LONDON):%d %b %Y}"
        )
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s); the review was not signed off", problems)
    review = GovernanceReview(
        team_id=team_id,
        period_start=v.start,
        period_end=v.end,
        status="signed_off",
        signed_by=principal.username,
        signed_at=utcnow(),
        notes=notes.strip(),
        counts=v.counts,
    )
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:
        raise Conflict("someone signed this review off at the same moment; reload to see it") from None
    for i, (text, person_id) in enumerate(wanted):
        tasks.create(
            session,
            principal.actor,
            "governance-follow-up",
            text,
            detail=f"From the governance review of {v.team_name}, {v.start:%B %Y}",
            person_id=person_id,
            to_role=None if person_id else policy.review.by,
            team_id=v.team_id,
            source_key=f"governance-review|{review.id}|{i}",
        )
    audit.append(
        session,
        principal.actor,
        "sign-off",
        "GovernanceReview",
        str(review.id),
        None,
        detail={"team": v.team_name, "period": v.start.isoformat(), "follow_ups": len(wanted), **v.counts},
    )
    return review
