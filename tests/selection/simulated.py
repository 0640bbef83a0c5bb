"""Episodes from a known model (for the learner's tests): allocation confounded by severity as in stepped care,
each option's expected outcome a known function of the covariates, so every prediction can be checked against
the truth it estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

OPTIONS = ("cbt", "counselling", "gsh")


@dataclass(frozen=True)
class Episodes:
    data: dict[str, Any]
    received: list[str]
    outcome: np.ndarray
    expected: np.ndarray  # n x 3, E[Y(o) | x] in OPTIONS order
    potential: np.ndarray  # n x 3, one draw of every option's outcome (only one is ever observed)


def episodes(n: int, seed: int, confounding: float = 1.2) -> Episodes:
    rng = np.random.default_rng(seed)
    severity = rng.normal(0, 1, n)
    chronic = (rng.random(n) < 0.35).astype(float)
    age = rng.uniform(18, 80, n)
    group = rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1])
    duration = rng.gamma(2, 6, n)
    duration[rng.random(n) < 0.1] = np.nan
    logits = np.column_stack([confounding * severity, 0 * severity, -confounding * severity]) + np.array([0.2, 0, 0.3])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    t = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    base = 12 + 4 * severity + 1.5 * chronic + 0.02 * (age - 40) + 0.5 * (group == "b")
    effect = np.column_stack(
        [
            -4 - 1.0 * severity + 0.5 * np.sin(2 * severity),
            -3.5 + 0.03 * (age - 40),
            -3 + 2.0 * severity + 1.0 * chronic,
        ]
    )
    expected = base[:, None] + effect
    potential = expected + rng.normal(0, 3, (n, 1)) + rng.normal(0, 1.5, (n, 3))
    outcome = potential[np.arange(n), t]
    data = {"severity": severity, "chronic": chronic, "age": age, "group": list(group), "duration": duration}
    return Episodes(data, [OPTIONS[i] for i in t], outcome, expected, potential)
