"""Outcome rates for the service summary: the NHS Talking Therapies measures over finished courses of treatment,
with 95% intervals and small numbers suppressed.

A course counts as finished when its episode is discharged and the person attended at least two treatment
appointments (or, where the service records no appointments for them, had at least two paired PHQ-9 and GAD-7
scores); paired scores are a PHQ-9 and a GAD-7 total on the same day within the episode. The rates are the
national definitions (``monitoring.outcomes.nhs_talking_therapies``, CLINICAL.md §4)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.db import chunked
from idiograph.instruments.definitions import instruments
from idiograph.methods.proportions import wilson
from idiograph.monitoring.outcomes.nhs_talking_therapies import EpisodeOutcome, Rate, classify, service_rates
from idiograph.observations.model import Observation
from idiograph.patients.model import Episode
from idiograph.reporting.disclosure import SUPPRESSED, safe_count

SMALL = 7  # counts 1-7 are suppressed, and so is any rate that would let one be worked out


@dataclass(frozen=True)
class ShownRate:
    """A rate as published: suppressed counts, and the percentage with its 95% interval unless that would
    disclose a small number."""

    name: str
    meaning: str
    numerator: int | str
    denominator: int | str
    percent: float | None
    low: float | None
    high: float | None

    @property
    def suppressed(self) -> bool:
        return self.percent is None


def shown(name: str, meaning: str, r: Rate) -> ShownRate:
    n, d = r.numerator, r.denominator
    small = d <= SMALL or 0 < n <= SMALL or 0 < d - n <= SMALL
    if small:
        return ShownRate(name, meaning, safe_count(n), safe_count(d) if d > SMALL else SUPPRESSED, None, None, None)
    lo, hi = wilson(n, d)
    return ShownRate(name, meaning, safe_count(n), safe_count(d), 100.0 * n / d, 100.0 * lo, 100.0 * hi)


def episode_outcomes(session: Session) -> list[EpisodeOutcome]:
    """Each discharged episode's outcome from its stored scores and attended appointments."""
    insts = instruments()
    phq9, gad7 = insts["phq-9"].total, insts["gad-7"].total
    codes = {(phq9.system, phq9.code): "phq-9", (gad7.system, gad7.code): "gad-7"}
    episodes = list(
        session.execute(
            select(Episode.person_id, Episode.referral_date, Episode.discharge_date).where(
                Episode.discharge_date.is_not(None)
            )
        )
    )
    people = sorted({e.person_id for e in episodes})
    scores: dict[uuid.UUID, dict[date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    visits: dict[uuid.UUID, list[date]] = defaultdict(list)
    booked: set[uuid.UUID] = set()
    for part in chunked(people):
        q = select(
            Observation.person_id, Observation.system, Observation.code, Observation.effective_at, Observation.value
        )
        q = q.where(Observation.person_id.in_(part), Observation.code.in_([phq9.code, gad7.code]))
        for pid, system, code, at, value in session.execute(q):
            inst = codes.get((system, code))
            if inst:
                scores[pid][at.date()][inst] = value
        for pid, start, status in session.execute(
            select(Appointment.person_id, Appointment.start, Appointment.status).where(Appointment.person_id.in_(part))
        ):
            booked.add(pid)
            if status == "attended":
                visits[pid].append(start.date())
    out = []
    for pid, referred, discharged in episodes:
        days = sorted(d for d in scores[pid] if referred <= d <= discharged and len(scores[pid][d]) == 2)
        paired = [(scores[pid][d]["phq-9"], scores[pid][d]["gad-7"]) for d in days]
        attended = sum(referred <= d <= discharged for d in visits[pid]) if pid in booked else len(paired)
        out.append(classify(paired, attended))
    return out


def service_outcomes(session: Session) -> tuple[int | str, list[ShownRate]]:
    """(finished courses, the four national rates as published)."""
    rates = service_rates(episode_outcomes(session))
    return safe_count(rates.finished), [
        shown(
            "Recovery", "moved from clinical to non-clinical range (of those who started at caseness)", rates.recovery
        ),
        shown(
            "Reliable improvement",
            "improved by more than measurement error on PHQ-9 or GAD-7",
            rates.reliable_improvement,
        ),
        shown(
            "Reliable recovery",
            "recovered and reliably improved (of those who started at caseness)",
            rates.reliable_recovery,
        ),
        shown("Reliable deterioration", "worsened by more than measurement error", rates.reliable_deterioration),
    ]
