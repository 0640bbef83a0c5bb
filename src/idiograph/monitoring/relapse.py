"""Early relapse signal after discharge: a rise away from the person's recovered baseline (pure).

The recovered baseline is the mean of the person's last scores up to discharge. Each follow-up score is
standardised by the instrument's standard error of measurement (``SD * sqrt(1 - r)``, the reliable-change
inputs in the instrument file) and fed to an upper CUSUM (CLINICAL.md §6) whose decision interval ``h`` is
solved for a stated in-control run length. The first crossing is the signal; nothing more is decided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from idiograph.monitoring.change_detection import cusum_signals, design_cusum


@dataclass(frozen=True)
class RelapseSignal:
    time: datetime
    score: float
    baseline: float
    sigma: float
    statistic: float
    h: float
    k: float
    arl0: float


def recovered_baseline(scores_to_discharge: Sequence[tuple[datetime, float]], last: int) -> float | None:
    """Mean of the last ``last`` scores up to discharge (by time), or None without any."""
    ordered = sorted(scores_to_discharge)[-last:]
    return math.fsum(v for _, v in ordered) / len(ordered) if ordered else None


def first_signal(
    baseline: float,
    follow_up: Sequence[tuple[datetime, float]],
    sigma: float,
    k: float,
    arl0: float,
) -> RelapseSignal | None:
    """The first follow-up score at which the upper CUSUM crosses ``h``, or None."""
    if sigma <= 0:
        raise ValueError("sigma must be above 0")
    ordered = sorted(follow_up)
    h = design_cusum(k, arl0, "upper")
    hits = cusum_signals([(v - baseline) / sigma for _, v in ordered], k, h, "upper")
    if not hits:
        return None
    i = hits[0].index
    return RelapseSignal(ordered[i][0], ordered[i][1], baseline, sigma, hits[0].statistic, h, k, arl0)
