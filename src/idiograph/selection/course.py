"""Each option's expected course week by week, with a 95% band, and the chance of recovery and of reliable
deterioration at its end (pure: numpy).

Built beside the end-of-treatment learners (learner.py), one per measure (PHQ-9, GAD-7), from the same finished
episodes:

- **Shape.** Among the episodes that received an option, the share of the change from intake to the end that had
  happened by each week: sum over episodes of (score at week w - intake) / sum of (end - intake), weighted to the
  service's whole population by 1/e (the chance of receiving the option). A score at week w is interpolated between
  the scores given either side of it and held at the last score once the episode had ended. A person's expected
  course under the option is their intake score plus that share of their own expected change (their expected end
  score from the learner). One shape per option: a person's course differs from another's by where it starts and
  where it is expected to end, not by how fast it gets there.
- **Band.** At each week, split-conformal: the weighted 95% quantile (with the finite-sample step) of how far the
  episodes' observed scores lay from their own expected course, computed with out-of-fold end predictions, so the
  band is for this person's observed score, not for the mean. Marginal coverage over the people the model is for,
  like the end interval.
- **Chances.** The end scores are the expected ends plus the out-of-fold (PHQ-9, GAD-7) residual pairs of the
  episodes that received the option, taken together so that the two measures' correlation is kept, rounded and
  held to each scale; recovery and reliable deterioration are then counted as NHS Talking Therapies does (caseness
  PHQ-9 >= 10 or GAD-7 >= 8 at the start and below both at the end; a reliable increase, PHQ-9 >= 6 or GAD-7 >= 4
  points, on either), weighted by 1/e. The residuals' spread is the option's, the same for everyone given it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from idiograph.instruments.definitions import instruments
from idiograph.monitoring.outcomes import nhs_talking_therapies

MEASURES = ("phq-9", "gad-7")
MAX_PAIRS = 4000  # residual pairs kept per option (a seeded sample when more)
MIN_EPISODES = 20  # per option and measure, for a shape and a band; per severity group, for its own band and chances
MIN_GAPS = 30  # scores in a week (and the weeks either side, if needed) for that week's band
SEVERITY = {"phq-9": (10.0, 15.0, 20.0), "gad-7": (10.0, 15.0)}  # intake severity groups (Mondrian conformal)


@dataclass(frozen=True)
class Trajectory:
    """One episode's scores on one measure: days since its first score (0 first), in time order."""

    days: np.ndarray
    scores: np.ndarray

    def at_weeks(self, weeks: np.ndarray) -> np.ndarray:
        """The score at each week: interpolated between scores, the last held after the end."""
        return np.asarray(np.interp(weeks * 7.0, self.days, self.scores), dtype=float)


@dataclass(frozen=True)
class Rules:
    """The national definitions the chances count by (from the instrument files)."""

    caseness: Mapping[str, float]  # at caseness when the score is at least this
    reliable: Mapping[str, float]  # a reliable change is at least this many points
    scale: Mapping[str, tuple[float, float]]  # each measure's possible range


@dataclass(frozen=True)
class OptionCourse:
    """A person's course under one option, per measure: weeks, expected score, band."""

    weeks: list[int]
    expected: dict[str, list[float]]
    lower: dict[str, list[float]]
    upper: dict[str, list[float]]
    recovery: float | None  # None: not at caseness at the start (recovery does not apply) or a measure missing
    deterioration: float | None
    episodes: dict[str, int]  # finished episodes each measure's shape and band rest on


class CourseModel:
    """Fitted per option from finished episodes: see the module's description."""

    def __init__(self, weeks: int, coverage: float = 0.95, seed: int = 0) -> None:
        self.weeks, self.coverage, self.seed = int(weeks), coverage, seed

    def fit(
        self,
        options: Sequence[str],
        treatment: np.ndarray,
        propensity: np.ndarray,
        trajectories: Mapping[str, Sequence[Trajectory | None]],
        expected_end: Mapping[str, np.ndarray],
    ) -> CourseModel:
        """``treatment``: each episode's option index; ``propensity``: (n, options) chance of each option;
        ``trajectories[m]``: each episode's scores on measure m (None when it has none); ``expected_end[m]``: each
        episode's out-of-fold expected end score under the option it received (NaN when unknown)."""
        grid = np.arange(self.weeks + 1, dtype=float)
        n = treatment.size
        weight = 1 / np.clip(propensity[np.arange(n), treatment], 1e-6, None)
        self.options_ = tuple(options)
        self.shape_: dict[str, dict[str, list[float]]] = {m: {} for m in trajectories}
        self.half_: dict[str, dict[str, dict[str, list[float]]]] = {m: {} for m in trajectories}
        self.n_: dict[str, dict[str, int]] = {m: {} for m in trajectories}
        residual: dict[str, np.ndarray] = {}
        starts: dict[str, np.ndarray] = {}
        for m, traj in trajectories.items():
            pred = expected_end[m]
            usable = np.array([t is not None for t in traj]) & ~np.isnan(pred)
            at = np.full((n, grid.size), np.nan)
            for i in np.flatnonzero(usable).tolist():
                one = traj[i]
                if one is not None:
                    at[i] = one.at_weeks(grid)
            # the last score given, as the learner's outcome is (not the course's last week: some run longer)
            last = np.array([t.scores[-1] if t is not None else np.nan for t in traj], dtype=float)
            residual[m], starts[m] = np.full(n, np.nan), at[:, 0]
            residual[m][usable] = last[usable] - pred[usable]
            for j, o in enumerate(options):
                rows = np.flatnonzero(usable & (treatment == j))
                self.n_[m][o] = int(rows.size)
                if rows.size < MIN_EPISODES:
                    continue
                start, end, w = at[rows, 0], at[rows, -1], weight[rows]
                change = float(np.sum(w * (end - start)))
                share = (
                    np.sum(w[:, None] * (at[rows] - start[:, None]), axis=0) / change
                    if abs(change) > 1e-9
                    else np.ones(grid.size)
                )
                share[0] = 0.0
                self.shape_[m][o] = [round(float(v), 4) for v in share]
                gaps = _gaps(share, [traj[i] for i in rows.tolist()], pred[rows], w, self.weeks)
                ends = np.abs(last[rows] - pred[rows])
                widest = float(np.nanmax(at[rows]) - np.nanmin(at[rows]))  # beyond every score: the whole range seen
                groups = severity_groups(m, start)
                self.half_[m][o] = {
                    g: self._bands(gaps, ends, w, groups, g, widest) for g in ("all", *sorted(set(groups.tolist())))
                }
        self.pairs_: dict[str, dict[str, list[list[float]]]] = {}
        rng = np.random.default_rng(self.seed)
        both = ~np.isnan(residual[MEASURES[0]]) & ~np.isnan(residual[MEASURES[1]]) if len(residual) == 2 else None
        for j, o in enumerate(options):
            if both is None:
                break
            rows = np.flatnonzero(both & (treatment == j))
            if rows.size < MIN_EPISODES:
                continue
            groups = severity_groups(MEASURES[0], starts[MEASURES[0]][rows])
            self.pairs_[o] = {}
            for g in ("all", *sorted(set(groups.tolist()))):
                kept = rows if g == "all" else rows[groups == g]
                if kept.size < MIN_EPISODES:
                    continue
                if kept.size > MAX_PAIRS:
                    kept = np.sort(rng.choice(kept, MAX_PAIRS, replace=False))
                self.pairs_[o][g] = [
                    [
                        round(float(residual[MEASURES[0]][i]), 3),
                        round(float(residual[MEASURES[1]][i]), 3),
                        float(weight[i]),
                    ]
                    for i in kept.tolist()
                ]
        return self

    def _bands(
        self,
        gaps: Gaps,
        ends: np.ndarray,
        weights: np.ndarray,
        groups: np.ndarray,
        group: str,
        widest: float,
    ) -> list[float]:
        """The half-width at each week for one severity group: the weighted quantile of the gaps between scores
        given in that week (widened a week either side at a time, up to three, until at least ``MIN_GAPS``) and the
        expected course; where too few scores were given (late weeks, after most had ended), the gap at the end."""
        rows = np.arange(groups.size) if group == "all" else np.flatnonzero(groups == group)
        mine = gaps if group == "all" else gaps.where(groups[gaps.row] == group)
        at_end = min(_quantile(ends[rows], weights[rows], self.coverage), widest) if rows.size else widest
        counts = np.bincount(mine.week, minlength=self.weeks + 1)
        out = [0.0]
        for k in range(1, self.weeks + 1):
            q = at_end
            for h in range(4):
                lo, hi = max(k - h, 0), min(k + h, self.weeks)
                if counts[lo : hi + 1].sum() >= MIN_GAPS:
                    sel = (mine.week >= lo) & (mine.week <= hi)
                    q = min(_quantile(mine.gap[sel], mine.weight[sel], self.coverage), widest)
                    break
            out.append(round(float(q), 3))
        return out

    def predict(
        self, option: str, intake: Mapping[str, float | None], expected_end: Mapping[str, float], rules: Rules
    ) -> OptionCourse | None:
        """This person's course under ``option`` from their intake scores and expected end scores (None when the
        option has too few finished episodes for a shape)."""
        grid = list(range(self.weeks + 1))
        expected: dict[str, list[float]] = {}
        lower: dict[str, list[float]] = {}
        upper: dict[str, list[float]] = {}
        for m, shapes in self.shape_.items():
            start, end = intake.get(m), expected_end.get(m)
            if option not in shapes or start is None or end is None or np.isnan(end):
                continue
            low, high = rules.scale[m]
            bands = self.half_[m][option]
            group = str(severity_groups(m, np.array([start]))[0])
            share, half = np.array(shapes[option]), np.array(bands.get(group, bands["all"]))
            course = np.clip(start + share * (end - start), low, high)
            expected[m] = [round(float(v), 1) for v in course]
            lower[m] = [round(float(v), 1) for v in np.clip(course - half, low, high)]
            upper[m] = [round(float(v), 1) for v in np.clip(course + half, low, high)]
        if not expected:
            return None
        recovery, deterioration = self._chances(option, intake, expected_end, rules)
        episodes = {m: self.n_[m].get(option, 0) for m in expected}
        return OptionCourse(grid, expected, lower, upper, recovery, deterioration, episodes)

    def _chances(
        self, option: str, intake: Mapping[str, float | None], end: Mapping[str, float], rules: Rules
    ) -> tuple[float | None, float | None]:
        by_group = self.pairs_.get(option) or {}
        starts = [intake.get(m) for m in MEASURES]
        first = starts[0]
        group = str(severity_groups(MEASURES[0], np.array([first]))[0]) if first is not None else "all"
        pairs = by_group.get(group, by_group.get("all"))
        ends = [end.get(m) for m in MEASURES]
        if not pairs or any(v is None for v in starts) or any(v is None or np.isnan(v) for v in ends):
            return None, None
        r = np.array(pairs)
        w = r[:, 2] / r[:, 2].sum()
        finals = []
        for k, m in enumerate(MEASURES):
            low, high = rules.scale[m]
            finals.append(np.clip(np.round(float(ends[k]) + r[:, k]), low, high))  # type: ignore[arg-type]
        s = [float(v) for v in starts]  # type: ignore[arg-type]
        case = [rules.caseness[m] for m in MEASURES]
        up = np.zeros(len(w), dtype=bool)
        for k, m in enumerate(MEASURES):
            up |= finals[k] - s[k] >= rules.reliable[m]
        deterioration = float(np.sum(w * up))
        if not (s[0] >= case[0] or s[1] >= case[1]):
            return None, round(deterioration, 3)
        recovered = (finals[0] < case[0]) & (finals[1] < case[1])
        return round(float(np.sum(w * recovered)), 3), round(deterioration, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": self.weeks,
            "coverage": self.coverage,
            "options": list(self.options_),
            "shape": self.shape_,
            "half": self.half_,
            "n": self.n_,
            "pairs": self.pairs_,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> CourseModel:
        model = cls(int(body["weeks"]), float(body["coverage"]))
        model.options_ = tuple(body["options"])
        model.shape_, model.half_, model.n_ = body["shape"], body["half"], body["n"]
        model.pairs_ = body["pairs"]
        return model


@lru_cache(maxsize=1)
def national_rules() -> Rules:
    """NHS Talking Therapies caseness and reliable change, and each scale's range, from the instrument files."""
    phq9, gad7 = nhs_talking_therapies.criteria()
    case = nhs_talking_therapies.caseness()
    inst = instruments()
    return Rules(
        caseness={MEASURES[0]: case[0], MEASURES[1]: case[1]},
        reliable={MEASURES[0]: float(phq9.threshold), MEASURES[1]: float(gad7.threshold)},
        scale={m: (float(inst[m].min_total), float(inst[m].max_total)) for m in MEASURES},
    )


def fit_beside(
    learners: Mapping[str, Any],
    data: Mapping[str, Any],
    treatment: Sequence[str | None],
    trajectories: Mapping[str, Sequence[Trajectory | None]],
    seed: int = 0,
) -> CourseModel:
    """The course model for end-of-treatment learners (``OptionsLearner``, by measure; PHQ-9 required) fitted on
    the rows of ``data``: each episode's expected end under the option it received is the learner's out-of-fold
    prediction, its weight the PHQ-9 learner's allocation model."""
    main = learners[MEASURES[0]]
    options = main.options_
    t = np.array([options.index(o) if o in options else -1 for o in treatment])
    keep = np.flatnonzero(t >= 0)
    own: dict[str, np.ndarray] = {}
    for m in MEASURES:
        own[m] = np.full(len(treatment), np.nan)
        model = learners.get(m)
        if model is None:
            continue
        cols = np.array([model.options_.index(options[t[i]]) if t[i] >= 0 else 0 for i in model.rows_])
        own[m][model.rows_] = model.out_of_fold_[np.arange(model.rows_.size), cols]
    kept = {name: _take(col, keep) for name, col in data.items()}
    weeks = weeks_for(trajectories[MEASURES[0]])
    return CourseModel(weeks, coverage=main.coverage, seed=seed).fit(
        options,
        t[keep],
        main.propensity(kept),
        {m: [trajectories[m][i] for i in keep.tolist()] for m in MEASURES if m in trajectories},
        {m: own[m][keep] for m in MEASURES},
    )


def _take(column: Any, rows: np.ndarray) -> Any:
    return column[rows] if isinstance(column, np.ndarray) else [column[i] for i in rows.tolist()]


def severity_groups(measure: str, intake: np.ndarray) -> np.ndarray:
    """Each intake score's severity group on ``measure`` as text ("0" the mildest): bands and chances are calibrated
    within groups (Mondrian conformal; Vovk et al. 2005), since how far scores stray differs with severity."""
    return np.searchsorted(np.array(SEVERITY[measure]), intake, side="right").astype(str)


@dataclass(frozen=True)
class Gaps:
    """Every score after the first within the course's weeks: its episode's row, nearest week, distance from the
    expected course at that moment, and the episode's weight."""

    row: np.ndarray
    week: np.ndarray
    gap: np.ndarray
    weight: np.ndarray

    def where(self, keep: np.ndarray) -> Gaps:
        return Gaps(self.row[keep], self.week[keep], self.gap[keep], self.weight[keep])


def _gaps(
    share: np.ndarray,
    trajectories: Sequence[Trajectory | None],
    expected_end: np.ndarray,
    weights: np.ndarray,
    weeks: int,
) -> Gaps:
    """The scores as given, not interpolated (interpolation would hide their scatter), set against the expected
    course at the moment each was given."""
    rows, days, scores, starts = [], [], [], []
    for r, t in enumerate(trajectories):
        if t is None or t.days.size < 2:
            continue
        rows.append(np.full(t.days.size - 1, r))
        days.append(t.days[1:])
        scores.append(t.scores[1:])
        starts.append(np.full(t.days.size - 1, float(t.scores[0])))
    if not rows:
        empty = np.zeros(0)
        return Gaps(empty.astype(int), empty.astype(int), empty, empty)
    row, day, score, start = (np.concatenate(x) for x in (rows, days, scores, starts))
    week = day / 7
    keep = week <= weeks + 0.5
    row, week, score, start = row[keep], week[keep], score[keep], start[keep]
    expected = start + np.interp(week, np.arange(weeks + 1, dtype=float), share) * (expected_end[row] - start)
    nearest = np.minimum(np.round(week).astype(int), weeks)
    return Gaps(row, nearest, np.abs(score - expected), weights[row].astype(float))


def weeks_for(trajectories: Sequence[Trajectory | None], quantile: float = 0.9, cap: int = 26) -> int:
    """How many weeks the courses run: until most episodes (``quantile``) had their last score, at most ``cap``."""
    last = [float(t.days[-1]) for t in trajectories if t is not None and t.days.size]
    if not last:
        return 12
    return int(min(cap, max(4, np.ceil(np.quantile(last, quantile) / 7))))


def _quantile(values: np.ndarray, weights: np.ndarray, coverage: float) -> float:
    """The weighted ``coverage`` quantile of ``values`` with the split-conformal step: the level is raised by one
    pseudo-observation of average weight, and beyond every value the answer is infinite."""
    keep = ~np.isnan(values)
    v, w = values[keep], weights[keep]
    if v.size == 0:
        return float("inf")
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w) / (w.sum() + w.mean())
    k = int(np.searchsorted(cum, coverage))
    return float(v[k]) if k < v.size else float("inf")
