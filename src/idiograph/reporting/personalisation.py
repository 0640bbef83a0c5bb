"""Personalisation made visible (issue 19): how often care follows what a person asked for, who gets that
flexibility, and what goes with it (pure; mypy --strict).

* **Share at the preferred time, place and format**: appointments with an attendance outcome whose time, place
  or format matched the person's stated preference, over those where the person stated one (an appointment
  with no stated preference for an aspect is not in that aspect's denominator). Wilson 95% intervals.
* **Changes under delegated authority** over all governance decisions, and **escalations** with the hours
  from raising to answer (median; pending ones counted apart).
* **Observational comparisons, adjusted for intake severity**: DNA and disengagement for people whose
  preferences were met against those whose were not; crisis admissions for people with against without a
  personalised crisis plan. The adjustment is a **Mantel-Haenszel risk difference** across strata of
  baseline PHQ-9 severity band (weights ``n1*n0/N`` per stratum; Greenland S, Robins JM. Estimation of a
  common effect parameter from sparse follow-up data. Biometrics 1985;41:55-68, whose variance gives the 95%
  interval). A stratum with nobody in one arm adds nothing. These are associations in routine data, not
  effects: people whose preferences are met may differ in ways severity does not capture.
* **Equity of flexibility**: the same shares by ethnic group, IMD quintile, age band and sex, under the
  service's disclosure control (``reporting.disclosure.protect``: counts 1-7 suppressed, others rounded to 5,
  secondary suppression against each breakdown's total; a rate is withheld when either count is).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from idiograph.methods.proportions import wilson
from idiograph.reporting.disclosure import DEFAULT, DisclosureConfig, Margin, Rate, protect, shown

ASPECTS = ("time", "place", "format")
BREAKDOWNS = ("ethnic_group", "imd_quintile", "age_band", "sex")
Z95 = 1.959963984540054
NOTE = (
    "Observational comparisons: people whose preferences were met, or who had a personalised crisis plan, may "
    "differ from the others in ways the adjustment for intake severity (Mantel-Haenszel risk difference across "
    "baseline PHQ-9 severity bands) does not capture. They show an association, not an effect."
)


@dataclass(frozen=True)
class Visit:
    """One appointment with an attendance outcome. ``met`` is, per aspect, whether it matched the person's
    preference (None: no preference stated for that aspect)."""

    person: str
    status: str  # attended | did_not_attend | cancelled_by_person | cancelled_by_service
    met: Mapping[str, bool | None]


@dataclass(frozen=True)
class Person:
    """One person in the period. ``band`` is the baseline PHQ-9 severity band (the stratum);
    ``preferences_met`` is None when they stated no preference or had no appointment."""

    id: str
    band: str
    groups: Mapping[str, str] = field(default_factory=dict)
    preferences_met: bool | None = None
    disengaged: bool = False
    crisis_plan: bool = False
    crisis_admission: bool = False


@dataclass(frozen=True)
class Change:
    person: str
    authority: str  # delegated | pending | approved | rejected
    escalated: bool = False
    hours_to_answer: float | None = None  # None while an escalation is pending


def _pct(x: float) -> float:
    return float(Decimal(100 * x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    """A rate as in the KPI document, with its Wilson 95% interval in percent (None when nothing counted)."""
    if denominator == 0:
        return {"numerator": numerator, "denominator": 0, "rate": None, "ci": None}
    lo, hi = wilson(numerator, denominator)
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": _pct(numerator / denominator),
        "ci": [_pct(lo), _pct(hi)],
    }


def _validate(visits: Sequence[Visit]) -> None:
    for v in visits:
        if v.status not in ("attended", "did_not_attend", "cancelled_by_person", "cancelled_by_service"):
            raise ValueError(f"visit.status: {v.status!r} is not an attendance outcome")
        for aspect in v.met:
            if aspect not in ASPECTS:
                raise ValueError(f"visit.met: {aspect!r} is not one of {', '.join(ASPECTS)}")


def _preferred_counts(visits: Sequence[Visit]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for aspect in ASPECTS:
        stated = [v.met[aspect] for v in visits if v.met.get(aspect) is not None]
        out[aspect] = (sum(1 for m in stated if m), len(stated))
    return out


def preferred_share(visits: Sequence[Visit]) -> dict[str, dict[str, Any]]:
    """Per aspect, appointments at the preferred time/place/format over those with a stated preference."""
    _validate(visits)
    return {a: rate(k, n) for a, (k, n) in _preferred_counts(visits).items()}


def governance(changes: Sequence[Change]) -> dict[str, Any]:
    for c in changes:
        if c.authority not in ("delegated", "pending", "approved", "rejected"):
            raise ValueError(f"change.authority: {c.authority!r} is not delegated, pending, approved or rejected")
        if c.hours_to_answer is not None and c.hours_to_answer < 0:
            raise ValueError("change.hours_to_answer: negative (answered before it was raised)")
    delegated = sum(1 for c in changes if c.authority == "delegated")
    escalated = [c for c in changes if c.escalated]
    hours = sorted(c.hours_to_answer for c in escalated if c.hours_to_answer is not None)
    return {
        "delegated": rate(delegated, len(changes)),
        "escalations": len(escalated),
        "escalations_answered": len(hours),
        "escalations_pending": len(escalated) - len(hours),
        "median_hours_to_answer": round(statistics.median(hours), 1) if hours else None,
    }


@dataclass(frozen=True)
class Stratum:
    """Events and totals in the exposed (1) and unexposed (0) arms of one stratum."""

    events1: int
    n1: int
    events0: int
    n0: int


def mantel_haenszel_rd(strata: Mapping[str, Stratum]) -> dict[str, Any]:
    """The Mantel-Haenszel risk difference (exposed minus unexposed) with the Greenland-Robins (1985) 95%
    interval, in percentage points; None when no stratum has both arms. Crude rates come with it."""
    num = den = var_num = 0.0
    for name, s in strata.items():
        if not (0 <= s.events1 <= s.n1 and 0 <= s.events0 <= s.n0):
            raise ValueError(f"stratum {name}: events must be between 0 and the arm's total")
        big_n = s.n1 + s.n0
        if s.n1 == 0 or s.n0 == 0:
            continue
        num += (s.events1 * s.n0 - s.events0 * s.n1) / big_n
        den += s.n1 * s.n0 / big_n
        var_num += (s.events1 * (s.n1 - s.events1) * s.n0**3 + s.events0 * (s.n0 - s.events0) * s.n1**3) / (
            s.n1 * s.n0 * big_n**2
        )
    k1 = sum(s.events1 for s in strata.values())
    n1 = sum(s.n1 for s in strata.values())
    k0 = sum(s.events0 for s in strata.values())
    n0 = sum(s.n0 for s in strata.values())
    out: dict[str, Any] = {"with": rate(k1, n1), "without": rate(k0, n0), "difference": None, "ci": None}
    if den:
        rd = num / den
        se = math.sqrt(var_num) / den
        out["difference"] = _pct(rd)
        out["ci"] = [_pct(rd - Z95 * se), _pct(rd + Z95 * se)]
    return out


def _strata(pairs: Sequence[tuple[str, bool, bool]]) -> dict[str, Stratum]:
    """(band, exposed, event) triples to strata."""
    cells: dict[str, list[int]] = {}
    for band, exposed, event in pairs:
        c = cells.setdefault(band, [0, 0, 0, 0])
        i = 0 if exposed else 2
        c[i] += int(event)
        c[i + 1] += 1
    return {b: Stratum(*c) for b, c in sorted(cells.items())}


def controlled(result: dict[str, Any], config: DisclosureConfig = DEFAULT) -> dict[str, Any]:
    """A comparison as published: each arm's counts under disclosure control (rates from the unrounded counts);
    an arm with a suppressed count has no rate, and then the difference and its interval are withheld too."""
    out = dict(result)
    hidden = False
    for arm in ("with", "without"):
        r = result[arm]
        k, n = shown(r["numerator"], config), shown(r["denominator"], config)
        out[arm] = _shown_rate(k, n, r["numerator"], r["denominator"])
        hidden = hidden or out[arm]["suppressed"]
    if hidden:
        out["difference"] = out["ci"] = None
        out["suppressed"] = True
    return out


def comparisons(
    people: Sequence[Person], visits: Sequence[Visit], config: DisclosureConfig | None = None
) -> dict[str, Any]:
    """DNA (appointment level), disengagement (person level) by preferences met, and crisis admission by
    personalised crisis plan, each a Mantel-Haenszel risk difference across baseline severity bands."""
    _validate(visits)
    by_id = {p.id: p for p in people}
    dna: list[tuple[str, bool, bool]] = []
    for v in visits:
        p = by_id.get(v.person)
        if p is None:
            raise ValueError(f"visit.person: {v.person!r} is not among the people")
        if p.preferences_met is not None:
            dna.append((p.band, p.preferences_met, v.status == "did_not_attend"))
    met = [(p.band, p.preferences_met, p.disengaged) for p in people if p.preferences_met is not None]
    crisis = [(p.band, p.crisis_plan, p.crisis_admission) for p in people]
    found = {
        "dna_by_preferences_met": mantel_haenszel_rd(_strata(dna)),
        "disengagement_by_preferences_met": mantel_haenszel_rd(_strata(met)),
        "crisis_admission_by_crisis_plan": mantel_haenszel_rd(_strata(crisis)),
    }
    if config is not None:
        found = {k: controlled(v, config) for k, v in found.items()}
    return {
        **found,
        "adjustment": "Mantel-Haenszel risk difference across baseline PHQ-9 severity bands (Greenland and "
        "Robins 1985)",
        "note": NOTE,
    }


def _shown_rate(k: int | None, n: int | None, true_k: int, true_n: int) -> dict[str, Any]:
    if k is None or n is None or true_n == 0:
        return {"numerator": k, "denominator": n, "rate": None, "ci": None, "suppressed": k is None or n is None}
    r = rate(true_k, true_n)  # rates from unrounded counts (the national convention)
    return {"numerator": k, "denominator": n, "rate": r["rate"], "ci": r["ci"], "suppressed": False}


def equity(
    people: Sequence[Person],
    visits: Sequence[Visit],
    changes: Sequence[Change],
    config: DisclosureConfig = DEFAULT,
) -> dict[str, list[dict[str, Any]]]:
    """Who gets flexibility: per breakdown and group, appointments at the preferred time/place/format and
    changes under delegated authority, with disclosure control against each breakdown's total."""
    _validate(visits)
    by_id = {p.id: p for p in people}
    for who in [*(v.person for v in visits), *(c.person for c in changes)]:
        if who not in by_id:
            raise ValueError(f"person: {who!r} has appointments or changes but is not among the people")
    series = [*ASPECTS, "delegated"]
    totals: dict[str, tuple[int, int]] = dict(_preferred_counts(visits))
    totals["delegated"] = (sum(1 for c in changes if c.authority == "delegated"), len(changes))
    out: dict[str, list[dict[str, Any]]] = {}
    for b in BREAKDOWNS:
        groups = sorted(
            {
                by_id[w].groups.get(b, "not recorded")
                for w in [*(v.person for v in visits), *(c.person for c in changes)]
            }
        )
        counts: dict[str, int] = {}
        for g in groups:
            gv = [v for v in visits if by_id[v.person].groups.get(b, "not recorded") == g]
            gc = [c for c in changes if by_id[c.person].groups.get(b, "not recorded") == g]
            for a, (k, n) in _preferred_counts(gv).items():
                counts[f"{g}|{a}|k"], counts[f"{g}|{a}|n"] = k, n
            counts[f"{g}|delegated|k"] = sum(1 for c in gc if c.authority == "delegated")
            counts[f"{g}|delegated|n"] = len(gc)
        margins = [
            Margin(tuple(f"{g}|{s}|{part}" for g in groups), totals[s][0 if part == "k" else 1])
            for s in series
            for part in ("k", "n")
        ]
        rates = [Rate(f"{g}|{s}|k", f"{g}|{s}|n") for g in groups for s in series]
        published = protect(counts, margins, rates, config)
        out[b] = [
            {
                "group": g,
                **{
                    s: _shown_rate(
                        published[f"{g}|{s}|k"],
                        published[f"{g}|{s}|n"],
                        counts[f"{g}|{s}|k"],
                        counts[f"{g}|{s}|n"],
                    )
                    for s in series
                },
            }
            for g in groups
        ]
    return out


def report(
    people: Sequence[Person],
    visits: Sequence[Visit],
    changes: Sequence[Change],
    config: DisclosureConfig = DEFAULT,
) -> dict[str, Any]:
    """The ``personalisation`` section of the KPI document."""
    return {
        "preferred": preferred_share(visits),
        "governance": governance(changes),
        "comparisons": comparisons(people, visits, config),
        "by": equity(people, visits, changes, config),
    }
