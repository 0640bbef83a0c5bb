"""Running and printing the not-on-track evaluation (``idiograph monitoring evaluate``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from idiograph.evaluation.not_on_track import Tally, evaluate
from idiograph.evaluation.synthetic import held_out, held_out_half
from idiograph.measures.definitions import instruments
from idiograph.methods import reliable_change as jt
from idiograph.monitoring.recovery.courses import EpisodeScores
from idiograph.monitoring.recovery.expected import CurveModel, Judgement, NeighbourModel


class Combined:
    """Two models under a rule: ``either`` flags when one does, ``both`` when both do."""

    def __init__(self, curve: CurveModel, nn: NeighbourModel, rule: str) -> None:
        self.curve, self.nn, self.rule, self.tail = curve, nn, rule, curve.tail

    def judge(self, scores: Sequence[float], features: Sequence[float]) -> Judgement | None:
        c = self.curve.judge(scores, features)
        n = self.nn.judge(scores, features) if features else None
        if c is None:
            return None
        if n is None:
            return c if self.rule == "either" else Judgement(c.session, c.score, c.expected, math.inf)
        upper = min(c.upper, n.upper) if self.rule == "either" else max(c.upper, n.upper)
        return Judgement(c.session, c.score, c.expected, upper)


@dataclass(frozen=True)
class Result:
    model: str
    tail: float
    dimension: str
    group: str
    tally: Tally


def run(
    episodes: Sequence[EpisodeScores],
    instrument: str,
    tails: Sequence[float],
    k: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Result], int, int]:
    """Fit on one half of the people (fixed split), evaluate on the other; every model, rule and tail."""
    inst = instruments()[instrument]
    rc = inst.reliable_change
    if rc is None:
        raise ValueError(f"{instrument} has no reliable-change inputs")
    reliable = jt.threshold(rc.sd, rc.reliability)
    train = [e.course() for e in episodes if not held_out_half(e)]
    test = [held_out(e) for e in episodes if held_out_half(e)]
    out = []
    for tail in tails:
        if progress:
            progress(f"fitting on {len(train):,} episodes (tail {tail:g})")
        curve = CurveModel.fit(train, tail)
        nn = NeighbourModel.fit(train, k, tail)
        models = {
            "curve": curve,
            "nn": nn,
            "either": Combined(curve, nn, "either"),
            "both": Combined(curve, nn, "both"),
        }
        for name, model in models.items():
            if progress:
                progress(f"judging {len(test):,} held-out episodes with {name} (tail {tail:g})")
            for (dim, group), tally in sorted(evaluate(model, test, reliable).items()):
                out.append(Result(name, tail, dim, group, tally))
    return out, len(train), len(test)


def fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


COLUMNS = (
    "model",
    "tail",
    "dimension",
    "group",
    "episodes",
    "deteriorated flagged %",
    "non-responders flagged %",
    "median weeks of warning",
    "false alarms % (improvers flagged)",
    "scores above boundary %",
)


def row(r: Result) -> list[str]:
    t = r.tally
    return [
        r.model,
        f"{r.tail:g}",
        r.dimension,
        r.group,
        str(t.episodes),
        f"{fmt(t.detection_deteriorated)} ({t.deteriorated_flagged}/{t.deteriorated})",
        f"{fmt(t.detection_non_responders)} ({t.non_responders_flagged}/{t.non_responders})",
        fmt(t.median_warning_weeks),
        f"{fmt(t.false_alarm)} ({t.improved_flagged}/{t.improved})",
        fmt(t.above_boundary),
    ]


def as_json(r: Result) -> dict[str, object]:
    t = r.tally
    return {
        "model": r.model,
        "tail": r.tail,
        "dimension": r.dimension,
        "group": r.group,
        "episodes": t.episodes,
        "deteriorated": t.deteriorated,
        "deteriorated_flagged": t.deteriorated_flagged,
        "non_responders": t.non_responders,
        "non_responders_flagged": t.non_responders_flagged,
        "improved": t.improved,
        "improved_flagged": t.improved_flagged,
        "median_warning_weeks": t.median_warning_weeks,
        "judged_scores": t.judged_scores,
        "scores_above": t.scores_above,
    }
