"""A wearable's daily sleep and step counts around personal setpoints, which fall before a relapse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from idiograph.synth.common import Generated, Ids, midnight, observe
from idiograph.synth.params import Devices, Params


@dataclass
class Levels:
    """True daily sleep and step levels: the person's setpoints, less any shift and any fall before relapse."""

    sleep_set: float
    steps_set: float
    sleep: NDArray[np.float64]
    steps: NDArray[np.float64]
    shift_day: int | None


def device_levels(
    dev: Devices, days: int, referral: date, relapse_at: datetime | None, rng: np.random.Generator
) -> Levels:
    """Setpoints, a lasting fall for some people, and less sleep and fewer steps from two weeks before a relapse."""
    sleep_set = dev.sleep.mean + rng.normal(0, dev.sleep.between_sd)
    steps_set = dev.steps.mean * float(np.exp(rng.normal(0, dev.steps.between_cv)))
    sleep_level = np.full(days, sleep_set)
    steps_level = np.full(days, steps_set)
    shift_day = None
    if rng.random() < dev.device_shift_share and days > 60:
        shift_day = int(rng.integers(30, days - 14))
        sleep_level[shift_day:] -= 1.0
        steps_level[shift_day:] *= 0.7
    if relapse_at is not None:
        r = int((relapse_at.date() - referral).days) - 14
        if 0 <= r < days:
            sleep_level[r:] -= 0.8
            steps_level[r:] *= 0.75
    return Levels(sleep_set, steps_set, sleep_level, steps_level, shift_day)


def record_readings(
    g: Generated, ids: Ids, dev: Devices, levels: Levels, referral: date, days: int, rng: np.random.Generator
) -> None:
    """Readings on the days the device is worn (85%), with day-to-day variation: sleep at 07:00, steps at 23:00."""
    t0 = np.datetime64(referral, "D")
    day_index = np.arange(days)
    worn = rng.random(days) < 0.85
    sleep = np.clip(levels.sleep + rng.normal(0, dev.sleep.within_sd, days), 0, 16)[worn]
    steps = np.round(levels.steps * np.exp(rng.normal(0, dev.steps.within_cv, days)))[worn]
    base = (t0 + day_index.astype("timedelta64[D]"))[worn].astype("datetime64[us]")
    observe(
        g,
        ids.person,
        None,
        None,
        dev.sleep.code,
        np.round(sleep, 2),
        dev.sleep.unit,
        base + np.timedelta64(7, "h"),
        "device",
    )
    observe(g, ids.person, None, None, dev.steps.code, steps, dev.steps.unit, base + np.timedelta64(23, "h"), "device")


def record_device_truth(g: Generated, ids: Ids, dev: Devices, levels: Levels, referral: date) -> None:
    """The ``truth_setpoints`` rows for sleep and steps: the setpoints, and the shift if there was one."""
    shift_day = levels.shift_day
    steps = levels.steps_set
    for code, setpoint, shift in ((dev.sleep.code, levels.sleep_set, -1.0), (dev.steps.code, steps, -0.3 * steps)):
        g.add(
            "truth_setpoints",
            {
                "person_id": ids.person,
                "code": code,
                "setpoint": setpoint,
                "within_cv": None,
                "shift_at": (midnight(referral) + timedelta(days=shift_day)) if shift_day else None,
                "shift": shift if shift_day else 0.0,
            },
        )


def record_wearable(
    g: Generated,
    ids: Ids,
    params: Params,
    referral: date,
    horizon: datetime,
    relapse_at: datetime | None,
    rng: np.random.Generator,
) -> None:
    """For the share of people who share a wearable: daily sleep and steps from referral to the horizon."""
    if rng.random() >= params.demographics.device_share:
        return
    dev = params.devices
    days = int((horizon - midnight(referral)).days)
    levels = device_levels(dev, days, referral, relapse_at, rng)
    record_readings(g, ids, dev, levels, referral, days, rng)
    record_device_truth(g, ids, dev, levels, referral)
