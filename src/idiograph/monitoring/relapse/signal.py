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
from datetime import UTC, date, datetime, timedelta

from idiograph.methods.change_detection import cusum_signals, design_cusum


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


def split_at_discharge(
    scores: Sequence[tuple[datetime, float]], discharged_on: date, follow_up_days: int
) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
    """Scores up to the end of the discharge day, and follow-up scores within ``follow_up_days`` of it."""
    end = datetime.combine(discharged_on + timedelta(days=1), datetime.min.time(), UTC)
    ordered = sorted(scores)
    before = [(t, v) for t, v in ordered if t < end]
    after = [(t, v) for t, v in ordered if end <= t <= end + timedelta(days=follow_up_days)]
    return before, after


def after_discharge(
    scores: Sequence[tuple[datetime, float]],
    discharged_on: date,
    sigma: float,
    baseline_scores: int,
    k: float,
    arl0: float,
    follow_up_days: int,
) -> RelapseSignal | None:
    """The relapse signal for one discharged episode from all of the person's scores on the instrument."""
    before, after = split_at_discharge(scores, discharged_on, follow_up_days)
    base = recovered_baseline(before, baseline_scores)
    if base is None or not after:
        return None
    return first_signal(base, after, sigma, k, arl0)
