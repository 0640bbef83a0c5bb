"""After discharge: monthly questionnaires from some people, and a relapse among those who left well."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from idiograph.synth.common import Generated, Ids, expected_below_caseness, midnight
from idiograph.synth.params import Params
from idiograph.synth.person.course import Contact


@dataclass(frozen=True)
class FollowUp:
    """Monthly contacts after discharge (latent values at each), and when a relapse began, if one did."""

    contacts: list[Contact]
    relapse_at: datetime | None


def follow_up(
    params: Params,
    discharge: date,
    horizon: datetime,
    final: tuple[float, float],
    rng: np.random.Generator,
) -> FollowUp:
    """Monthly contacts until the horizon for a share of people; the well may relapse, rising over four weeks."""
    s, rel = params.severity, params.relapse
    contacts: list[Contact] = []
    relapse_at: datetime | None = None
    if rng.random() < rel.follow_up_share:
        final_d, final_a = final
        t = midnight(discharge) + timedelta(days=30, hours=10)
        base_noise = 0.0
        well = expected_below_caseness(final_d, final_a)
        k = 0
        while t < horizon:
            if relapse_at is None and well and rng.random() < rel.monthly_hazard:
                relapse_at = t - timedelta(days=int(rng.integers(0, 30)))
            rise = 0.0
            if relapse_at is not None:
                rise = rel.rise * min(1.0, (t - relapse_at).days / 28)
            base_noise = s.noise_ar * base_noise + rng.normal(0, s.noise_sd)
            contacts.append((t, final_d + rise + base_noise, final_a + 0.8 * rise + base_noise, f"follow-up-{k}"))
            t += timedelta(days=30)
            k += 1
    return FollowUp(contacts, relapse_at)


def record_relapse(g: Generated, ids: Ids, relapse_at: datetime | None) -> None:
    """The ``truth_relapses`` row, when there was a relapse (kept apart: the observed data only show its signs)."""
    if relapse_at is not None:
        g.add("truth_relapses", {"person_id": ids.person, "episode_id": ids.episode, "onset": relapse_at})
