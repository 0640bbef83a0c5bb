"""Community outcome measures with paired-score coverage (issue 19; pure, mypy --strict).

For the referrals of **community** teams (every team kind that is not a talking-therapies kind in ``kpis.yaml``;
each team kind is reported apart) that **ended** in the period:

* **DIALOG** (Priebe et al. 2007; ``instruments/dialog.yaml``): a referral has a *paired score* when it has a
  first and a last DIALOG subjective-quality-of-life mean taken during the referral (from its referral date to its
  end date, both included: follow-up scores after discharge do not count), i.e. two or more such scores - the rule
  the talking-therapies KPIs use for PHQ-9 and GAD-7 (``reporting.referrals_db``). Among the paired: the mean
  change (last minus first) on the 1-7 mean, higher is better, with a 95% t interval. No reliable-change share is
  given: no published criterion for the DIALOG mean could be verified (see ``dialog.yaml``).
* **Goal-Based Outcomes** (Law & Jacob 2015; ``intake.goal_outcomes``): paired when at least one of the
  referral's intake goals has two or more ratings in the same window. Among the paired: the share of people with
  at least one goal reliably improved (3 or more points, Edbrooke-Childs et al. 2015), with its Wilson 95%
  interval, and the mean of each person's mean goal change (0-10 scale) with a 95% t interval.

Coverage = paired / ended, with a Wilson 95% interval. Disclosure control (``reporting.disclosure``, NHS
England's rule below national level): counts 1-7 are withheld and the others rounded to the nearest 5; a rate
is computed from the unrounded counts and withheld when either of its counts is, and a mean change is withheld
when the number of people it is taken over is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scipy.stats import t as student_t

from idiograph.intake.goal_outcomes import from_intake
from idiograph.reporting.disclosure import DEFAULT, DisclosureConfig, primary, shown
from idiograph.reporting.kpis import Definitions, definitions
from idiograph.reporting.personalisation import rate

VERSION = "community-outcomes/2026-12.1"
DIALOG_MIN, DIALOG_MAX = 1.0, 7.0
PAIRED_RULE = (
    "a first and a last score of the same measure taken during the referral (from its referral date to its end "
    "date, both included); scores after discharge do not count"
)


@dataclass(frozen=True)
class CommunityReferral:
    """One referral (episode) with what its person recorded: every DIALOG subjective-quality-of-life mean of the
    person, (day, mean) in the order taken, and the referral's intake goals ([{"goal", "ratings": [{"date",
    "rating"}]}], as the intake keeps them)."""

    referral_id: str
    team_kind: str
    referral_date: date
    end_date: date | None
    dialog: tuple[tuple[date, float], ...] = ()
    goals: tuple[dict[str, Any], ...] = ()


def _during(r: CommunityReferral, day: date) -> bool:
    return r.referral_date <= day and (r.end_date is None or day <= r.end_date)


def dialog_pair(r: CommunityReferral) -> tuple[float, float] | None:
    """The referral's first and last DIALOG mean during it (days in order, same-day ones as given), or None
    without two."""
    for day, value in r.dialog:
        if not DIALOG_MIN <= value <= DIALOG_MAX:
            raise ValueError(f"{r.referral_id}: dialog: {value} on {day} is outside {DIALOG_MIN:g}-{DIALOG_MAX:g}")
    own = sorted(((d, v) for d, v in r.dialog if _during(r, d)), key=lambda s: s[0])
    return (own[0][1], own[-1][1]) if len(own) > 1 else None


def _mean_with_interval(values: Sequence[float], decimals: int) -> dict[str, Any] | None:
    """The mean and its 95% t interval (Student 1908): mean +/- t(0.975, n-1) * sd / sqrt(n); no interval with one."""
    if not values:
        return None
    mean = statistics.fmean(values)
    out: dict[str, Any] = {"value": round(mean, decimals), "ci": None}
    if len(values) > 1:
        half = float(student_t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
        out["ci"] = [round(mean - half, decimals), round(mean + half, decimals)]
    return out


def _published_rate(numerator: int, denominator: int, config: DisclosureConfig) -> dict[str, Any]:
    """A rate with its Wilson interval from the unrounded counts, the counts as published; withheld with either."""
    pk, pn = shown(numerator, config), shown(denominator, config)
    # the exact rate pins the counts, so the complement (denominator - numerator) is protected too (review)
    withheld = pk is None or pn is None or primary(denominator - numerator, config)
    if withheld or denominator == 0:
        return {"numerator": pk, "denominator": pn, "rate": None, "ci": None, "suppressed": withheld}
    return {**rate(numerator, denominator), "numerator": pk, "denominator": pn, "suppressed": False}


def _measure(
    title: str, ended: int, paired: int, change: dict[str, Any] | None, config: DisclosureConfig
) -> dict[str, Any]:
    coverage = _published_rate(paired, ended, config)
    return {
        "title": title,
        "ended": coverage["denominator"],
        "paired": coverage["numerator"],
        "coverage": None if coverage["rate"] is None else {"rate": coverage["rate"], "ci": coverage["ci"]},
        "suppressed": coverage["suppressed"],
        "mean_change": change if shown(paired, config) not in (None, 0) else None,
    }


def summary(
    referrals: Sequence[CommunityReferral],
    start: date,
    end: date,
    defs: Definitions | None = None,
    config: DisclosureConfig = DEFAULT,
) -> dict[str, Any]:
    """DIALOG and GBO paired-score coverage and change for the community referrals that ended in ``start``..``end``."""
    if end < start:
        raise ValueError(f"to: {end} is before from: {start}")
    talking = set((defs or definitions()).talking_therapies_kinds)
    ended = [
        r for r in referrals if r.team_kind not in talking and r.end_date is not None and start <= r.end_date <= end
    ]
    dialog_changes = [b - a for a, b in (p for p in map(dialog_pair, ended) if p is not None)]
    goals = [from_intake(r.goals, r.referral_date, r.end_date) for r in ended]
    paired_goals = [g for g in goals if g.paired]
    improved = sum(1 for g in paired_goals if g.any_reliably_improved)
    gbo = _measure(
        "Goal-Based Outcomes (0-10 per goal, higher is nearer the goal)",
        len(ended),
        len(paired_goals),
        _mean_with_interval([g.mean_change for g in paired_goals if g.mean_change is not None], 2),
        config,
    )
    gbo["reliably_improved"] = {
        "meaning": "people with at least one goal reliably improved (3 or more points), among the paired",
        **_published_rate(improved, len(paired_goals), config),
    }
    dialog = _measure(
        "DIALOG subjective quality of life (mean of 8 life domains, 1-7, higher is better)",
        len(ended),
        len(dialog_changes),
        _mean_with_interval(dialog_changes, 2),
        config,
    )
    dialog["reliable_change"] = None
    dialog["note"] = "no published reliable-change criterion for the DIALOG mean could be verified: mean change only"
    return {
        "version": VERSION,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "scope": "referrals of community teams (team kinds other than "
        + ", ".join(sorted(talking))
        + ") that ended in the period",
        "paired_rule": PAIRED_RULE,
        "ended": shown(len(ended), config),
        "dialog": dialog,
        "gbo": gbo,
    }
