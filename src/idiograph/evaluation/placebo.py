"""Placebo onsets: fake changes drawn in series that never changed, to measure what chance alone detects (pure).

A detection rate means little without the rate at which the same rule "detects" a change that never
happened (DESIGN rule 9). Each fake onset sits at the same relative position in its series as a true change
does in its own (a position drawn, with a seeded generator, from the true changes' positions), so the
placebo rate and the detection rate are measured over comparable stretches of observation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

PLACEBO_SEED = 1


def positions(true: Sequence[float], count: int, seed: int = PLACEBO_SEED) -> list[float]:
    """``count`` relative positions in [0, 1], each one of the true changes' positions drawn at random (uniform
    when there are none), reproducibly from ``seed``."""
    rng = random.Random(seed)
    clipped = [min(max(f, 0.0), 1.0) for f in true]
    return [rng.choice(clipped) if clipped else rng.random() for _ in range(count)]
