"""Clinical priority of a person on a caseload: what needs attention today, in which order, and why in words.

The order is the service's written rule (issue 14; hazard log H-056): safety answers, then high risk, first; then
relapse after discharge and an unasked safety question; then not on track; then a result outside the person's
own range; then overdue, then due reviews; then changes waiting for a senior; then the person's own requests.
Within a tier, more open items first, then the one waiting longest. Pure: facts in, reasons out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum


class Tier(IntEnum):
    SAFETY = 1  # an open safety alert, or current risk assessed as high
    RELAPSE = 2  # relapse after discharge, or a safety question left unanswered
    NOT_ON_TRACK = 3  # scores above the expected course of recovery
    DEVIATION = 4  # a result outside the person's own usual range
    REVIEW_OVERDUE = 5
    REVIEW_DUE = 6
    ESCALATION = 7  # a change to their care waiting for a senior clinician
    REQUEST = 8  # something the person asked for, or another open task
    NONE = 9  # nothing to act on today


TIER_LABELS: Mapping[Tier, str] = {
    Tier.SAFETY: "Safety",
    Tier.RELAPSE: "Relapse or unasked safety question",
    Tier.NOT_ON_TRACK: "Not on track",
    Tier.DEVIATION: "Outside their usual range",
    Tier.REVIEW_OVERDUE: "Review overdue",
    Tier.REVIEW_DUE: "Review due",
    Tier.ESCALATION: "Waiting for a senior",
    Tier.REQUEST: "Request or task",
    Tier.NONE: "Nothing due",
}

# the alert kinds (alerts.kinds.Kind values) and the tier each puts a person in
ALERT_TIERS: Mapping[str, Tier] = {
    "safety": Tier.SAFETY,
    "relapse": Tier.RELAPSE,
    "safety-unanswered": Tier.RELAPSE,
    "not-on-track": Tier.NOT_ON_TRACK,
    "deviation": Tier.DEVIATION,
}


@dataclass(frozen=True)
class OpenAlert:
    kind: str
    title: str
    raised_at: datetime


@dataclass(frozen=True)
class Facts:
    """What is known about one person today (gathered by worklist.service)."""

    alerts: Sequence[OpenAlert] = ()
    risk: str | None = None  # low | medium | high, None when never assessed
    risk_at: datetime | None = None
    reviews_overdue: Sequence[date] = ()  # due dates of overdue reviews
    reviews_due: Sequence[date] = ()
    escalations: int = 0
    tasks: Sequence[str] = ()  # titles of open tasks about the person


@dataclass(frozen=True)
class Reason:
    tier: Tier
    text: str
    since: datetime | date | None = None  # the oldest item behind it
    count: int = 1
    kind: str | None = None  # the alert kind behind it, if an alert


@dataclass(frozen=True)
class Priority:
    tier: Tier
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def label(self) -> str:
        return TIER_LABELS[self.tier]

    def sort_key(self) -> tuple[int, int, int, str]:
        """Tier; within Safety, an open safety answer before a high risk rating alone (found by a new user: a
        positive item 9 given minutes earlier sat behind a hundred standing high-risk ratings, on page 2); then more
        items in that tier first, then the oldest first (ISO text sorts as time)."""
        top = [r for r in self.reasons if r.tier == self.tier]
        oldest = min((_iso(r.since) for r in top if r.since is not None), default="9999")
        answered = 0 if any(r.kind == "safety" for r in top) else 1
        return (int(self.tier), answered, -sum(r.count for r in top), oldest)


def _iso(value: datetime | date) -> str:
    return value.isoformat()


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def assess(facts: Facts) -> Priority:
    """The person's tier and every reason for attention, most urgent first."""
    reasons: list[Reason] = []
    by_kind: dict[str, list[OpenAlert]] = {}
    for a in facts.alerts:
        by_kind.setdefault(a.kind, []).append(a)
    for kind, alerts in by_kind.items():
        tier = ALERT_TIERS.get(kind, Tier.DEVIATION)
        alerts = sorted(alerts, key=lambda a: a.raised_at)
        more = f" (and {_count(len(alerts) - 1, 'other open alert', 'other open alerts')})" if len(alerts) > 1 else ""
        reasons.append(Reason(tier, alerts[-1].title + more, alerts[0].raised_at, len(alerts), kind))
    if facts.risk == "high":
        reasons.append(Reason(Tier.SAFETY, "Current risk assessed as high", facts.risk_at))
    if facts.reviews_overdue:
        n, oldest = len(facts.reviews_overdue), min(facts.reviews_overdue)
        text = (
            f"Review overdue (was due {oldest:%d %b %Y})"
            if n == 1
            else f"{n} reviews overdue (the first was due {oldest:%d %b %Y})"
        )
        reasons.append(Reason(Tier.REVIEW_OVERDUE, text, oldest, n))
    if facts.reviews_due:
        n, soonest = len(facts.reviews_due), min(facts.reviews_due)
        text = f"Review due by {soonest:%d %b %Y}" if n == 1 else f"{n} reviews due (the first by {soonest:%d %b %Y})"
        reasons.append(Reason(Tier.REVIEW_DUE, text, soonest, n))
    if facts.escalations:
        reasons.append(
            Reason(Tier.ESCALATION, _count(facts.escalations, "change waits", "changes wait") + " for a senior")
        )
    for title in facts.tasks:
        reasons.append(Reason(Tier.REQUEST, title))
    reasons.sort(key=lambda r: r.tier)
    tier = reasons[0].tier if reasons else Tier.NONE
    return Priority(tier, tuple(reasons))


def words(priority: Priority) -> list[str]:
    """The reasons as a clinician reads them, most urgent first."""
    return [r.text for r in priority.reasons]
