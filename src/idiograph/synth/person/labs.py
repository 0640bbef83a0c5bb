"""Laboratory results scattered around personal setpoints, some of which truly shift once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from idiograph.synth.common import Generated, Ids, dt64, midnight, observe
from idiograph.synth.params import Lab, Params


def record_lab(
    g: Generated, ids: Ids, params: Params, lab: Lab, first_day: datetime, span: int, rng: np.random.Generator
) -> None:
    """One test's results at its usual interval, with biological and analytical noise, and its true setpoint."""
    setpoint = lab.mean * float(np.exp(rng.normal(0, lab.between_cv)))
    n = max(1, span // lab.every_days)
    days = np.sort(rng.integers(0, span, n))
    # two draws on one day are a repeat sample, an hour after the first (they once shared 09:00 and so one
    # identity: a FHIR import refused the bundle holding both)
    repeat = np.zeros(n, dtype=int)
    for i in range(1, n):
        repeat[i] = repeat[i - 1] + 1 if days[i] == days[i - 1] else 0
    times = np.array(
        [dt64(first_day + timedelta(days=int(x), hours=9 + int(r))) for x, r in zip(days, repeat, strict=True)]
    )
    level = np.full(n, setpoint)
    shift_at, shift = None, 0.0
    if rng.random() < params.lab_shift_share and n >= 4:
        k = int(rng.integers(n // 2, n))
        shift = float(rng.choice([-1, 1])) * params.lab_shift_size * lab.cvi * setpoint
        level[k:] += shift
        shift_at = first_day + timedelta(days=int(days[k]) - 1)
    values = level * (1 + rng.normal(0, lab.cvi, n)) * (1 + rng.normal(0, lab.cva, n))
    observe(g, ids.person, None, None, lab.code, np.round(values, 3), lab.unit, times, "lab")
    g.add(
        "truth_setpoints",
        {
            "person_id": ids.person,
            "code": lab.code,
            "setpoint": setpoint,
            "within_cv": lab.cvi,
            "shift_at": shift_at,
            "shift": shift,
        },
    )


def record_labs(
    g: Generated, ids: Ids, params: Params, referral: date, horizon: datetime, cmht: bool, rng: np.random.Generator
) -> None:
    """Each test for a share of people (three times as many in a CMHT), from a year before referral to the horizon."""
    first_day = midnight(referral) - timedelta(days=365)
    span = (horizon - first_day).days
    for lab in params.labs.values():
        if rng.random() >= lab.share * (3 if cmht else 1):
            continue
        record_lab(g, ids, params, lab, first_day, span, rng)
