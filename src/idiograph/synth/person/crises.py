"""Crises: personal triggers, crisis presentations during care and after a relapse, and admissions.

Crises have their own random stream (seed, 2, index), so that triggers leave every other draw as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from idiograph.synth.common import Generated, Ids, midnight
from idiograph.synth.params import Params

Crisis = tuple[datetime, str | None]  # when a presentation happens, and the trigger active at the time


@dataclass(frozen=True)
class Triggers:
    """The person's personal triggers and when each occurs over three years from referral."""

    names: list[str]
    events: list[tuple[datetime, str]]


def draw_triggers(params: Params, referral: date, crisis_rng: np.random.Generator) -> Triggers:
    """Which triggers apply to the person (by their shares), and a Poisson number of occurrences of each."""
    names = sorted(t for t, share in params.crisis.triggers.items() if crisis_rng.random() < share)
    events: list[tuple[datetime, str]] = []
    origin = midnight(referral)
    for t in names:
        n = int(crisis_rng.poisson(params.crisis.trigger_events_per_year * 3))
        events += [(origin + timedelta(days=int(d)), t) for d in crisis_rng.integers(0, 3 * 365, n)]
    events.sort()
    return Triggers(names, events)


def crisis_in_week(
    params: Params,
    slot: datetime,
    theta_d: float,
    risk: float,
    triggers: Triggers,
    rng: np.random.Generator,
    crisis_rng: np.random.Generator,
) -> Crisis | None:
    """A presentation in the days after this week's slot, more likely when severe, at risk or triggered."""
    c = params.crisis
    active = next((name for t, name in triggers.events if abs((slot - t).days) <= 7), None)
    crisis_p = np.exp(c.base + c.severity * theta_d + c.risk * risk)
    if rng.random() < crisis_p * (c.trigger_multiplier if active else 1.0):
        return slot + timedelta(days=int(crisis_rng.integers(1, 6))), active
    return None


def record_crises(
    g: Generated,
    ids: Ids,
    params: Params,
    crises: list[Crisis],
    relapse_at: datetime | None,
    risk: float,
    crisis_rng: np.random.Generator,
) -> None:
    """Crisis presentations during care (some leading to admission), then one that may follow a relapse."""
    for t, trigger in crises:
        g.add("events", _event(ids, "crisis_presentation", t, trigger))
        if crisis_rng.random() < params.crisis.admission:
            g.add("events", _event(ids, "admission", t + timedelta(hours=6), trigger))
    if relapse_at is not None and crisis_rng.random() < np.exp(
        params.crisis.base + 4 * params.crisis.severity + 2 * risk
    ):
        t = relapse_at + timedelta(days=int(crisis_rng.integers(7, 40)))
        g.add("events", _event(ids, "crisis_presentation", t, None))


def _event(ids: Ids, kind: str, time: datetime, trigger: str | None) -> dict[str, object]:
    """An ``events`` row."""
    return {"person_id": ids.person, "episode_id": ids.episode, "kind": kind, "time": time, "trigger": trigger}
