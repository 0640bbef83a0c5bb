"""Running and printing the not-on-track evaluation (``idiograph monitoring evaluate``).

Both models are fitted once on one half of the people; every held-out score's tail probability under each
model is computed once, so that every tail, and each rule's tail at the shipped rule's false alarms, is
judged on the same scores. The shipped rule and tail (``monitoring.yaml``) are the reference; each other
rule is also shown at the tail that gives it the reference's false alarms (improvers flagged), the fair
comparison of detection (DESIGN rule 9).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from scipy.stats import t as student_t

from idiograph.evaluation.not_on_track import Cohort, HeldOut, Probabilities, Tally, flags_at, tail_for_false_alarms
from idiograph.evaluation.not_on_track import tallies as tally_all
from idiograph.evaluation.placebo import PLACEBO_SEED
from idiograph.evaluation.rates import Share
from idiograph.evaluation.synthetic import held_out, held_out_half
from idiograph.instruments.definitions import instruments
from idiograph.measures.change import criterion
from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.recovery.courses import EpisodeScores
from idiograph.monitoring.recovery.expected import CurveModel, NeighbourModel

RULES = ("curve", "nn", "either", "both")


def _upper_tail(excess: float, half: float, quantile: float, sf: Callable[[float], float]) -> float:
    """The tail at which a score ``excess`` above the expected course lies on the boundary, from a boundary
    ``half`` above it at the model's own tail (whose quantile is ``quantile``)."""
    if half <= 0:
        return 0.0 if excess > 0 else 1.0
    return sf(excess / (half / quantile))


def curve_probabilities(model: CurveModel, course: HeldOut) -> list[float | None]:
    """Each score's tail probability under the curve's normal tolerance band (``expected + z * sd``)."""
    z = NormalDist().inv_cdf(1 - model.tail)
    sf = lambda x: 0.5 * math.erfc(x / math.sqrt(2))  # noqa: E731
    out: list[float | None] = []
    for s in range(2, len(course.scores) + 1):
        e = model.expectation(course.scores[0], s)
        out.append(_upper_tail(course.scores[s - 1] - e.expected, e.upper - e.expected, z, sf))
    return out


def neighbour_probabilities(model: NeighbourModel, course: HeldOut) -> list[float | None]:
    """Each score's tail probability under the neighbours' one-sided t prediction band; None without the
    intake variables the model needs."""
    if not course.features:
        return [None] * (len(course.scores) - 1)
    p = model.predict(course.features)
    q = float(student_t.ppf(1 - model.tail, p.dof))
    sf = lambda x: float(student_t.sf(x, p.dof))  # noqa: E731
    out: list[float | None] = []
    for s in range(2, len(course.scores) + 1):
        e = model.expectation(p, s)
        out.append(_upper_tail(course.scores[s - 1] - e.expected, e.upper - e.expected, q, sf))
    return out


def combine(rule: str, curve: Probabilities, nn: Probabilities) -> list[float | None]:
    """Tail probabilities of a rule, as the service decides (``recovery.not_on_track.decide``): ``nn`` falls
    back to the curve without intake variables; ``either`` flags when one does (the smaller probability);
    ``both`` only when both judge and both flag (the larger)."""
    out: list[float | None] = []
    for c, n in zip(curve, nn, strict=True):
        judged = [p for p in (c, n) if p is not None]
        if rule == "curve":
            out.append(c if c is not None else n)
        elif rule == "nn":
            out.append(n if n is not None else c)
        elif rule == "either":
            out.append(min(judged) if judged else None)
        elif rule == "both":
            out.append(max(judged) if len(judged) == 2 else (1.0 if judged else None))
        else:
            raise ValueError(f"unknown rule {rule!r}")
    return out


@dataclass(frozen=True)
class Result:
    model: str
    tail: float
    dimension: str
    group: str
    tally: Tally
    matched: bool = False  # the tail was set to give the reference rule's false alarms


@dataclass(frozen=True)
class Report:
    results: list[Result]
    n_train: int
    n_test: int
    reference: tuple[str, float]  # the shipped rule and tail
    placebo_seed: int


def run(
    episodes: Sequence[EpisodeScores],
    instrument: str,
    tails: Sequence[float],
    k: int,
    progress: Callable[[str], None] | None = None,
    placebo_seed: int = PLACEBO_SEED,
) -> Report:
    """Fit on one half of the people (fixed split), evaluate on the other: every rule at every tail, and every
    rule at the shipped rule's false alarms."""
    say = progress or (lambda _m: None)
    rule = criterion(instruments()[instrument])
    if rule is None:
        raise ValueError(f"{instrument} has no reliable-change inputs")
    cfg = monitoring_settings.load().not_on_track
    reference = (cfg.rule, cfg.tail)
    train = [e.course() for e in episodes if not held_out_half(e)]
    cohort = Cohort.of((held_out(e) for e in episodes if held_out_half(e)), rule, placebo_seed)
    say(f"fitting on {len(train):,} episodes")
    curve = CurveModel.fit(train, cfg.tail)
    nn = NeighbourModel.fit(train, k, cfg.tail)
    say(f"judging {len(cohort.courses):,} held-out episodes")
    pc = [curve_probabilities(curve, c) for c in cohort.courses]
    pn = [neighbour_probabilities(nn, c) for c in cohort.courses]
    probs = {r: [combine(r, c, n) for c, n in zip(pc, pn, strict=True)] for r in RULES}

    def judged(name: str, tail: float, matched: bool = False) -> list[Result]:
        groups = tally_all(cohort, [flags_at(p, tail) for p in probs[name]])
        ordered = sorted(groups.items(), key=lambda kv: (kv[0] != ("all", "all"), kv[0]))  # overall first
        return [Result(name, tail, d, g, t, matched) for (d, g), t in ordered]

    out: list[Result] = []
    for tail in tails:
        for name in RULES:
            out += judged(name, tail)
    ref = judged(*reference)
    if reference[1] not in tails:
        out += ref
    allowed = next(r.tally.improved_flagged for r in ref if r.dimension == "all")
    for name in RULES:
        if name != reference[0]:
            out += judged(name, tail_for_false_alarms(cohort, probs[name], allowed), matched=True)
    n_test = sum(1 for e in episodes if held_out_half(e))
    return Report(out, len(train), n_test, reference, placebo_seed)


def fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


COLUMNS = (
    "model",
    "tail",
    "dimension",
    "group",
    "episodes",
    "deteriorated flagged % (95% CI)",
    "placebo flagged % (95% CI)",
    "flagged ahead of deterioration %",
    "placebo flagged ahead %",
    "median weeks of warning",
    "non-responders flagged %",
    "false alarms % (improvers flagged)",
    "scores above boundary %",
)


def tail_label(r: Result) -> str:
    return f"{r.tail:.3f} (equal false alarms)" if r.matched else f"{r.tail:g}"


def row(r: Result) -> list[str]:
    t = r.tally
    weeks = "-" if t.deteriorators_detected.suppressed else fmt(t.median_warning_weeks)
    return [
        r.model,
        tail_label(r),
        r.dimension,
        r.group,
        f"{t.episodes:,}",
        t.deteriorators_detected.text(counts=True),
        t.placebo_detected.text(counts=True),
        t.deteriorators_ahead.text(),
        t.placebo_ahead_detected.text(),
        weeks,
        t.non_responders_detected.text(counts=True),
        t.false_alarms.text(counts=True),
        t.calibration.text(),
    ]


def _share(name: str, s: Share) -> dict[str, object]:
    j = s.as_json()
    return {f"{name}_rate": j["rate"], f"{name}_low": j["low"], f"{name}_high": j["high"]}


def as_json(r: Result) -> dict[str, object]:
    t = r.tally
    return {
        "model": r.model,
        "tail": r.tail,
        "matched_false_alarms": r.matched,
        "dimension": r.dimension,
        "group": r.group,
        "episodes": t.episodes,
        "deteriorated": t.deteriorated,
        "deteriorated_flagged": t.deteriorated_flagged,
        "deteriorated_ahead": t.deteriorated_ahead,
        "non_responders": t.non_responders,
        "non_responders_flagged": t.non_responders_flagged,
        "improved": t.improved,
        "improved_flagged": t.improved_flagged,
        "placebo": t.placebo,
        "placebo_flagged": t.placebo_flagged,
        "placebo_ahead": t.placebo_ahead,
        "median_warning_weeks": None if t.deteriorators_detected.suppressed else t.median_warning_weeks,
        "judged_scores": t.judged_scores,
        "scores_above": t.scores_above,
        **_share("deteriorated_flagged", t.deteriorators_detected),
        **_share("placebo_flagged", t.placebo_detected),
        **_share("deteriorated_ahead", t.deteriorators_ahead),
        **_share("placebo_ahead", t.placebo_ahead_detected),
        **_share("non_responders_flagged", t.non_responders_detected),
        **_share("false_alarm", t.false_alarms),
        **_share("above_boundary", t.calibration),
        "suppressed": [
            name
            for name, s in (
                ("deteriorated_flagged", t.deteriorators_detected),
                ("placebo_flagged", t.placebo_detected),
                ("deteriorated_ahead", t.deteriorators_ahead),
                ("placebo_ahead", t.placebo_ahead_detected),
                ("non_responders_flagged", t.non_responders_detected),
                ("false_alarm", t.false_alarms),
                ("above_boundary", t.calibration),
            )
            if s.suppressed
        ],
    }
