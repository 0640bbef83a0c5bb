"""A person's running baseline for one measure, updated result by result (pure; lifelines' contract: ``update``).

It holds the sums that the empirical-Bayes interval needs (CLINICAL.md §4.1) and, for dense device series, the
state of a person-specific EWMA (Smit et al. 2022; ``methods.change_detection``). Each new result is judged
against the state built from the person's *earlier* results, then added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from idiograph.baselines.intervals import Interval, Scale, to_model
from idiograph.baselines.measure import bounds_of, scale_of
from idiograph.baselines.normal_normal import PersonSums, Prior, interval_from_sums
from idiograph.baselines.settings import BaselineSettings
from idiograph.methods import change_detection
from idiograph.observations import display
from idiograph.observations.catalogue import CodeDef

TITLES = {
    "point": "Result outside the usual range for this person",
    "ewma": "Sustained change from what is usual for this person",
}


@dataclass(frozen=True)
class Departure:
    """A result that departed from the person's own baseline: which rule, when, and the numbers behind it."""

    rule: str  # point | ewma
    time: datetime
    value: float
    detail: dict[str, object]


@dataclass
class RunningBaseline:
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    latest_at: datetime | None = None
    latest_value: float | None = None
    ewma_mu0: float | None = None
    ewma_sigma: float | None = None
    ewma_z: float = 0.0
    ewma_v: float = 0.0

    def sums(self) -> PersonSums:
        return PersonSums(self.n, self.total, self.total_sq)

    def update(
        self, c: CodeDef, prior: Prior | None, time: datetime, value: float, judge: str, cfg: BaselineSettings
    ) -> Departure | None:
        """Judge one new result against the state so far (``point``: outside the person's own interval;
        ``ewma``: the chart beyond its limit), then add it."""
        scale = scale_of(c)
        x = to_model(value, scale)
        found: Departure | None = None
        if judge == "point" and prior is not None:
            iv = interval_from_sums(prior, self.sums(), cfg.alert_coverage, bounds_of(c))
            if iv.outside(value):
                found = Departure("point", time, value, interval_detail(iv, value, c, prior, time))
                found.detail["workings"] = workings(found)
        elif judge == "ewma" and self.ewma_mu0 is not None and self.ewma_sigma:
            found = self._ewma(c, scale, x, time, value, cfg)
        self.n += 1
        self.total += x
        self.total_sq += x * x
        self.latest_at, self.latest_value = time, value
        if judge == "ewma" and self.ewma_mu0 is None and self.n >= cfg.ewma.baseline_results:
            var = self.sums().variance()
            if var > 0:
                self.ewma_mu0, self.ewma_sigma = self.total / self.n, math.sqrt(var)
        return found

    def _ewma(
        self, c: CodeDef, scale: Scale, x: float, time: datetime, value: float, cfg: BaselineSettings
    ) -> Departure | None:
        assert self.ewma_mu0 is not None and self.ewma_sigma
        gap = 1.0
        if self.latest_at is not None:
            gap = (time - self.latest_at).total_seconds() / 86400 / cfg.ewma.spacing_days
        lam = cfg.ewma.lam
        self.ewma_z, self.ewma_v = change_detection.ewma_step(
            self.ewma_z, self.ewma_v, (x - self.ewma_mu0) / self.ewma_sigma, lam, gap
        )
        limit = ewma_limit(cfg)
        if abs(self.ewma_z) <= limit * math.sqrt(self.ewma_v):
            return None
        detail: dict[str, object] = {
            "value": value,
            "unit": c.unit,
            "measure": c.name,
            "baseline_mean": round(_back(self.ewma_mu0, scale), 4),
            "ewma": round(self.ewma_z, 3),
            "limit": round(limit * math.sqrt(self.ewma_v), 3),
            "direction": "up" if self.ewma_z > 0 else "down",
            "lambda": lam,
            "arl0": cfg.ewma.arl0,
            "method": f"person-specific EWMA (λ {lam}, L {limit:.3f}, in-control ARL {cfg.ewma.arl0:g} results)",
            "time": time.isoformat(),
        }
        self.ewma_z, self.ewma_v = 0.0, 0.0  # restart the chart so one shift raises one alert
        found = Departure("ewma", time, value, detail)
        detail["workings"] = workings(found)
        return found


STATE_FIELDS = tuple(f.name for f in fields(RunningBaseline))


def ewma_limit(cfg: BaselineSettings) -> float:
    """L for the configured in-control run length (solved by Markov chain; cached in change_detection)."""
    return change_detection.design_ewma(cfg.ewma.lam, cfg.ewma.arl0, "both")


def _back(x: float, scale: Scale) -> float:
    return math.exp(x) if scale == "log" else x


def interval_detail(iv: Interval, value: float, c: CodeDef, prior: Prior, time: datetime) -> dict[str, object]:
    return {
        "value": value,
        "unit": c.unit,
        "measure": c.name,
        "setpoint": round(iv.setpoint, 4),
        "lower": round(iv.lower, 4),
        "upper": round(iv.upper, 4),
        "coverage": iv.coverage,
        "n_earlier": iv.n,
        "method": iv.method,
        "side": iv.side(value),
        "prior_people": prior.people,
        "time": time.isoformat(),
    }


def reason(d: Departure) -> str:
    """The alert's reason in plain clinical words; the method's numbers are in ``workings(d)`` and the detail."""
    x = d.detail
    unit = str(x["unit"])
    if d.rule == "point":
        lo, hi = float(str(x["lower"])), float(str(x["upper"]))
        n = int(str(x["n_earlier"]))
        own = "the usual range for this person" if n else "the usual range for people like them (no earlier results)"
        dp = display.decimals_apart(d.value, (lo, hi), unit)
        value, low, high = (display.number(v, unit, dp) for v in (d.value, lo, hi))
        return (
            f"{x['measure']} {display.with_unit(value, unit)} on {display.day(d.time)} is {x['side']} {own} "
            f"({low} to {display.with_unit(high, unit)}"
            f"{f', from {n} earlier result' + ('s' if n != 1 else '') if n else ''})."
        )
    if d.rule == "ewma":
        moved = "risen" if x["direction"] == "up" else "fallen"
        return (
            f"{x['measure']} has {moved} steadily over recent results, {'above' if moved == 'risen' else 'below'} "
            f"what is usual for this person (usually about "
            f"{display.quantity(float(str(x['baseline_mean'])), unit)}; latest {display.quantity(d.value, unit)} "
            f"on {display.day(d.time)})."
        )
    raise ValueError(f"no reason text for rule {d.rule!r}")


def workings(d: Departure) -> str:
    """How the alert was worked out, with the method's own numbers (shown one click away, never the headline)."""
    x = d.detail
    if d.rule == "point":
        return (
            f"The result was judged against the person's own {float(str(x['coverage'])):.0%} interval "
            f"{float(str(x['lower'])):.4g} to {float(str(x['upper'])):.4g} (setpoint {float(str(x['setpoint'])):.4g}) "
            f"built from {x['n_earlier']} earlier results and a prior from {x['prior_people']} people; "
            f"method: {x['method']}."
        )
    if d.rule == "ewma":
        return (
            f"An exponentially weighted moving average (EWMA) of the person's standardised results reached "
            f"{x['ewma']}, beyond its limit {x['limit']}; method: {x['method']}. The chart restarts after an alert, "
            "so one change raises one alert."
        )
    raise ValueError(f"no workings for rule {d.rule!r}")
