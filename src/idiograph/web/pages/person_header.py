"""The summary at the top of a person's record: what a clinician needs before anything else, in one place.

Current risk with its date, open alerts by severity, the next appointment, the next review, the crisis plan and
the care coordinator (with who else may take it on)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from idiograph.alerts.kinds import SEVERITY
from idiograph.alerts.service import AlertGroup
from idiograph.care import service as care
from idiograph.care.model import Appointment, CrisisPlan, RiskAssessment
from idiograph.db import utcnow
from idiograph.governance import service as governance
from idiograph.monitoring.reviews.service import ReviewRow
from idiograph.patients import coordinator
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

ALERT_WORDS = {
    "safety": ("safety answer", "safety answers"),
    "relapse": ("relapse signal", "relapse signals"),
    "safety-unanswered": ("safety question not answered", "safety questions not answered"),
    "not-on-track": ("not on track", "not on track"),
    "deviation": ("result outside usual range", "results outside usual range"),
}


@dataclass(frozen=True)
class Header:
    risk: RiskAssessment | None
    alerts: list[tuple[str, str, int]]  # (kind, words, count), most severe first
    next_appointment: Appointment | None
    review: ReviewRow | None  # the most pressing due or overdue review, else the next upcoming
    plan: CrisisPlan | None
    coordinator: coordinator.Coordinator | None
    candidates: list[coordinator.Coordinator]

    @property
    def review_due(self) -> date | None:
        return self.review.slot.due if self.review else None


def for_person(
    db: Session, p: Principal, person_id: uuid.UUID, alerts: Sequence[AlertGroup], reviews: Sequence[ReviewRow]
) -> Header:
    counts = Counter(g.lead.kind for g in alerts)
    words = [
        (k.value, ALERT_WORDS[k.value][counts[k.value] != 1], counts[k.value]) for k in SEVERITY if counts[k.value]
    ]
    now = utcnow()
    upcoming = [
        a for a in care.appointments_for(db, p, person_id, via="web") if a.start >= now and a.status == "booked"
    ]
    order = {"overdue": 0, "due": 1, "upcoming": 2}
    pending = sorted((r for r in reviews if r.slot.status in order), key=lambda r: (order[r.slot.status], r.slot.due))
    return Header(
        risk=governance.risk_for(db, p, person_id),
        alerts=words,
        next_appointment=upcoming[0] if upcoming else None,
        review=pending[0] if pending else None,
        plan=care.crisis_plan(db, p, person_id, via="web"),
        coordinator=coordinator.current(db, person_id),
        candidates=coordinator.candidates(db, p, person_id) if p.can(Permission.PERSON_WRITE) else [],
    )
