"""Judging matching on synthetic truth (DESIGN rule 9).

Strengths are estimated from the earlier referrals' finished episodes only (the first ``HISTORY`` of referrals by
date; the expected-recovery curve is fitted on the same episodes). The later referrals are then allocated four ways
within their team, each under the same capacity - every therapist takes as many later referrals as they were in
fact allocated - and the same hard constraint (a person's language, when someone in the team speaks it):

* **as allocated**: what the service did (the generator: a clinician of the team, a speaker of the person's language
  when there is one, otherwise at random);
* **random**: a random assignment under capacity (the optimum for random strengths, seeded);
* **matched**: ``matching.solve`` on the estimated strengths;
* **oracle**: ``matching.solve`` on the true strengths.

Each is scored by the true strength of the assigned therapist in the person's domain (latent improvement on the
PHQ-9 item bank's scale, population SDs; the generator adds it to the treatment effect). Differences are paired by
person, with percentile bootstrap 95% intervals over people (``BOOT`` resamples, seeded); the share of the oracle's
gain is the ratio of the two mean gains, with its interval from the same resamples. Groups of fewer than
``SUPPRESS`` people are suppressed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from idiograph.evaluation.matching_data import Referral, Staff
from idiograph.matching import solve as solver
from idiograph.matching.settings import Settings
from idiograph.matching.strengths import Outcome, benefit, estimate
from idiograph.monitoring.recovery.expected import Course, CurveModel

HISTORY = 2 / 3  # share of referrals (by date) the strengths are estimated from, chosen before looking at results
BOOT = 1000
SUPPRESS = 10
POLICIES = ("as allocated", "random", "matched", "oracle")


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float

    def text(self, digits: int = 3) -> str:
        return f"{self.estimate:+.{digits}f} ({self.lower:+.{digits}f} to {self.upper:+.{digits}f})"


@dataclass
class Report:
    history: int  # referrals the strengths came from
    finished: int  # of which finished episodes used
    later: int  # referrals matched
    policies: dict[str, Interval] = field(default_factory=dict)  # mean true strength
    gains: dict[str, Interval] = field(default_factory=dict)  # over as allocated
    waitlisted: dict[str, float] = field(default_factory=dict)  # share
    share_of_oracle: Interval | None = None
    groups: list[tuple[str, str, int, Interval | None]] = field(default_factory=list)  # (by, group, n, gain)
    classes: dict[str, int] = field(default_factory=dict)
    correlation: float = float("nan")  # estimated vs true strength, therapist x domain with any cases


def outcomes(refs: Sequence[Referral], model: CurveModel) -> list[Outcome]:
    """One benefit per finished episode with an intake and a later score: expected end score minus observed."""
    return [
        Outcome(r.clinician_id, r.domain, benefit(model.expectation(r.scores[0], len(r.scores)).expected, r.scores[-1]))
        for r in refs
        if r.finished and len(r.scores) >= 2
    ]


def fit_curve(refs: Sequence[Referral]) -> CurveModel:
    return CurveModel.fit([Course(r.scores) for r in refs if r.finished and len(r.scores) >= 2])


def run(
    refs: Sequence[Referral],
    staff: Sequence[Staff],
    truth: dict[tuple[str, str], float],
    settings: Settings,
    seed: int,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    cut = int(len(refs) * HISTORY)
    earlier, later = list(refs[:cut]), list(refs[cut:])
    progress(f"estimating strengths from {len(earlier):,} earlier referrals")
    found = outcomes(earlier, fit_curve(earlier))
    strengths, _ = estimate(found, settings.strengths.min_cases, settings.strengths.level)
    est = {(s.clinician_id, s.domain): s.strength for s in strengths}
    report = Report(len(earlier), len(found), len(later))
    for s in strengths:
        report.classes[s.klass] = report.classes.get(s.klass, 0) + 1
    pairs = [(s.strength, truth[(s.clinician_id, s.domain)]) for s in strengths if (s.clinician_id, s.domain) in truth]
    if len(pairs) > 2:
        report.correlation = float(np.corrcoef(np.array(pairs).T)[0, 1])
    rng = np.random.default_rng([seed, 17])
    progress(f"matching {len(later):,} later referrals four ways")
    value: dict[str, np.ndarray] = {}
    for policy in POLICIES:
        value[policy] = np.full(len(later), np.nan)
    by_team: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(later):
        by_team[r.team_id].append(i)
    team_staff: dict[str, list[Staff]] = defaultdict(list)
    for member in staff:
        if member.role == "clinician":
            team_staff[member.team_id].append(member)
    for team, idx in by_team.items():
        members = team_staff[team]
        load: dict[str, int] = defaultdict(int)
        for i in idx:
            load[later[i].clinician_id] += 1
        spoken = {lang for s in members for lang in s.languages}
        people = [
            solver.Person(
                later[i].episode_id, later[i].domain, later[i].language if later[i].language in spoken else None
            )
            for i in idx
        ]
        domains = sorted({p.domain for p in people})
        for i in idx:
            value["as allocated"][i] = truth[(later[i].clinician_id, later[i].domain)]
        random_strength = {(s.clinician_id, d): float(rng.random()) for s in members for d in domains}
        for policy, source in (("random", random_strength), ("matched", est), ("oracle", truth)):
            therapists = [
                solver.Therapist(
                    s.clinician_id,
                    load.get(s.clinician_id, 0),
                    {d: float(source.get((s.clinician_id, d), 0.0)) for d in domains},
                    frozenset(s.languages),
                )
                for s in members
            ]
            result = solver.solve(people, therapists)
            for i, a in zip(idx, result.assignments, strict=True):
                if a.clinician_id is not None:
                    value[policy][i] = truth[(a.clinician_id, later[i].domain)]
    for policy in POLICIES:
        v = value[policy]
        report.waitlisted[policy] = float(np.isnan(v).mean()) if v.size else 0.0
    _summarise(report, later, value, rng)
    return report


def _summarise(
    report: Report, later: Sequence[Referral], value: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    n = len(later)
    if n == 0:
        return
    boot = rng.integers(0, n, size=(BOOT, n))

    def interval(x: np.ndarray, rows: np.ndarray | None = None) -> Interval:
        x = x if rows is None else x[rows]
        ok = ~np.isnan(x)
        means = np.array([np.nanmean(x[b]) for b in (boot if rows is None else _boot(rng, x.size))])
        return Interval(float(x[ok].mean()), *map(float, np.nanpercentile(means, [2.5, 97.5])))

    base = value["as allocated"]
    for policy in POLICIES:
        report.policies[policy] = interval(value[policy])
        if policy != "as allocated":
            report.gains[policy] = interval(value[policy] - base)
    got, best = value["matched"] - base, value["oracle"] - base
    ratio = [np.nanmean(got[b]) / np.nanmean(best[b]) for b in boot]
    report.share_of_oracle = Interval(
        float(np.nanmean(got) / np.nanmean(best)), *map(float, np.nanpercentile(ratio, [2.5, 97.5]))
    )
    for by in ("ethnic group", "sex", "age band", "language"):
        members: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(later):
            members[r.groups[by]].append(i)
        for g in sorted(members):
            rows = np.array(members[g])
            gain = None if rows.size < SUPPRESS else interval(got, rows)
            report.groups.append((by, g, int(rows.size), gain))


def _boot(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, n, size=(BOOT, n))


POLICY_COLUMNS = ["allocation", "mean true strength (95% CI)", "gain over as allocated (95% CI)", "waitlisted"]
GROUP_COLUMNS = ["group", "people", "gain of matching over as allocated (95% CI)"]


def policy_rows(r: Report) -> list[list[str]]:
    return [
        [
            p,
            r.policies[p].text(),
            "-" if p == "as allocated" else r.gains[p].text(),
            f"{100 * r.waitlisted[p]:.1f}%",
        ]
        for p in POLICIES
        if p in r.policies
    ]


def group_rows(r: Report) -> list[list[str]]:
    return [
        [f"{by}: {g}", f"{n:,}", "* (fewer than 10)" if gain is None else gain.text()] for by, g, n, gain in r.groups
    ]


def verdict(r: Report) -> str:
    if r.share_of_oracle is None or "matched" not in r.gains:
        return "Nothing to judge: no later referrals."
    g, share = r.gains["matched"], r.share_of_oracle
    better = "better than" if g.lower > 0 else ("worse than" if g.upper < 0 else "not distinguishable from")
    return (
        f"Matching was {better} the service's own allocation: {g.text()} in true strength per person, "
        f"{100 * share.estimate:.0f}% (95% CI {100 * share.lower:.0f}% to {100 * share.upper:.0f}%) of the gain an "
        "oracle knowing the true strengths would reach."
    )


def notes(r: Report) -> list[str]:
    classes = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(r.classes.items()))
    return [
        verdict(r),
        "Scored by the generator's true strength of the assigned therapist in the person's problem domain (latent "
        "improvement on the PHQ-9 item bank's scale, population SDs; higher is better). Every allocation has the "
        "same capacity (each therapist takes as many later referrals as the service gave them) and keeps to the "
        "person's language when someone in the team speaks it.",
        f"Estimated against true strengths (therapist x domain): correlation {r.correlation:.2f}; classes: {classes}.",
        "How much of the oracle's gain matching reaches rests on how many finished episodes each therapist has in "
        "each domain: the more history, the closer.",
        "Intervals: percentile bootstrap over people (1,000 resamples). Groups of fewer than 10 people are "
        "suppressed (*). Seed 1 was looked at while building; report other seeds. Synthetic: rerun on your data.",
    ]


def as_json(r: Report) -> dict[str, object]:
    def iv(x: Interval | None) -> dict[str, float] | None:
        return None if x is None else {"estimate": x.estimate, "lower": x.lower, "upper": x.upper}

    return {
        "history_referrals": r.history,
        "finished_episodes": r.finished,
        "later_referrals": r.later,
        "policies": {
            p: {"mean_true_strength": iv(r.policies[p]), "gain": iv(r.gains.get(p)), "waitlisted": r.waitlisted[p]}
            for p in r.policies
        },
        "share_of_oracle_gain": iv(r.share_of_oracle),
        "correlation": r.correlation,
        "classes": r.classes,
        "groups": [{"by": by, "group": g, "people": n, "gain": iv(gain)} for by, g, n, gain in r.groups],
    }
