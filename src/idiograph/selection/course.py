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
from typing import Any

import numpy as np

MEASURES = ("phq-9", "gad-7")
MAX_PAIRS = 4000  # residual pairs kept per option (a seeded sample when more)
MIN_EPISODES = 20  # per option and measure, for a shape and a band


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
        self.half_: dict[str, dict[str, list[float]]] = {m: {} for m in trajectories}
        self.n_: dict[str, dict[str, int]] = {m: {} for m in trajectories}
        residual: dict[str, np.ndarray] = {}
        for m, traj in trajectories.items():
            pred = expected_end[m]
            usable = np.array([t is not None for t in traj]) & ~np.isnan(pred)
            at = np.full((n, grid.size), np.nan)
            for i in np.flatnonzero(usable).tolist():
                one = traj[i]
                if one is not None:
                    at[i] = one.at_weeks(grid)
            residual[m] = np.full(n, np.nan)
            residual[m][usable] = at[usable, -1] - pred[usable]
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
                course = start[:, None] + share[None, :] * (pred[rows] - start)[:, None]
                gap = np.abs(at[rows] - course)
                self.shape_[m][o] = [round(float(v), 4) for v in share]
                widest = float(np.nanmax(at[rows]) - np.nanmin(at[rows]))  # beyond every score: the whole range seen
                self.half_[m][o] = [
                    round(min(_quantile(gap[:, k], w, self.coverage), widest), 3) for k in range(grid.size)
                ]
        self.pairs_: dict[str, list[list[float]]] = {}
        rng = np.random.default_rng(self.seed)
        both = ~np.isnan(residual[MEASURES[0]]) & ~np.isnan(residual[MEASURES[1]]) if len(residual) == 2 else None
        for j, o in enumerate(options):
            if both is None:
                break
            rows = np.flatnonzero(both & (treatment == j))
            if rows.size < MIN_EPISODES:
                continue
            if rows.size > MAX_PAIRS:
                rows = np.sort(rng.choice(rows, MAX_PAIRS, replace=False))
            self.pairs_[o] = [
                [round(float(residual[MEASURES[0]][i]), 3), round(float(residual[MEASURES[1]][i]), 3), float(weight[i])]
                for i in rows
            ]
        return self

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
            share, half = np.array(shapes[option]), np.array(self.half_[m][option])
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
        pairs = self.pairs_.get(option)
        starts = [intake.get(m) for m in MEASURES]
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
