"""Treatment selection judged against synthetic truth (pure): fitted on one half of the people, judged on the other.

Two questions, each with its own truth:

- **Does following the recommendation help?** On the synthetic service itself: the learner is fitted on the
  fitting half's finished episodes (covariates known at intake, the option given, the last PHQ-9 in treatment)
  and recommends an option for every held-out person; each policy is scored by the generator's true effect of the
  option it picks for that person (latent improvement, higher is better), against the option actually received,
  the one option truly best on average for everyone (what a service would adopt if it knew), and the oracle (each
  person's truly best).
- **Do the intervals mean what they say?** The observed-outcome interval is checked against the held-out finished
  episodes' actual last PHQ-9. The generator's truth is on a latent scale, not in PHQ-9 points, so the interval for
  the expected effect is checked on a semi-synthetic benchmark: the same people, covariates and (confounded)
  allocation, with outcomes drawn from a known surface in PHQ-9 points (``surface``), so each person's true
  expected effect is known exactly.

Every rate and difference has a 95% interval; groups under ``MIN_CELL`` people are suppressed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from idiograph.errors import InvalidInput
from idiograph.evaluation.rates import MIN_CELL, Share
from idiograph.evaluation.selection_data import COVARIATES, Kind
from idiograph.selection.course import Rules, Trajectory, fit_beside, national_rules
from idiograph.selection.learner import OptionsLearner

DIMENSIONS = (("ethnic group", "group_ethnic"), ("sex", "group_sex"), ("age band", "group_age"))
MIN_SUPPORT = 30  # similar episodes before an option gets numbers (as on the care page and in selection predict)
SEMI_NOISE = 3.5  # PHQ-9 points: the person-level scatter of the semi-synthetic outcome around its expectation


@dataclass(frozen=True)
class Difference:
    """A mean difference over people with its 95% interval (normal approximation, paired)."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: np.ndarray) -> Difference:
        n = values.size
        if n == 0:
            return cls(float("nan"), float("nan"), float("nan"))
        m = float(values.mean())
        half = 1.96 * float(values.std(ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
        return cls(m, m - half, m + half)


@dataclass(frozen=True)
class PolicyRow:
    """One group's held-out people: each policy's mean true effect and the recommendation's gains, with the
    observed-outcome interval's coverage among those with an outcome."""

    dimension: str
    group: str
    n: int
    recommended: float
    received: float
    single_best: float
    oracle: float
    vs_single: Difference
    vs_received: Difference
    coverage: Share

    @property
    def suppressed(self) -> bool:
        return self.n < MIN_CELL


@dataclass(frozen=True)
class SemiRow:
    """The semi-synthetic benchmark for one option against the reference: coverage and width of the interval for
    the expected effect, and the error of the estimate beside a T-learner's."""

    kind: str
    option: str
    reference: str
    n: int
    coverage: Share
    width: float
    rpehe: float
    rpehe_t_learner: float
    outcome_coverage: Share
    outcome_width: float


@dataclass(frozen=True)
class CourseRow:
    """How often the course's 95% band held the held-out finished episodes' scores in treatment (under the option
    each received), by measure and weeks since intake, with the band's median width."""

    kind: str
    measure: str
    weeks: str
    coverage: Share
    width: float


@dataclass(frozen=True)
class ChanceRow:
    """The predicted chance of recovery or of reliable deterioration (under the option received) against what
    happened in held-out finished episodes, with the Brier score beside the obvious alternative's: the fitting
    half's rate for everyone."""

    kind: str
    outcome: str
    n: int
    predicted: float
    observed: Share
    brier: float
    brier_constant: float


@dataclass(frozen=True)
class Report:
    kinds: dict[str, tuple[int, int, str]]  # kind -> (fitted on, judged on, single best option)
    policy: list[PolicyRow]
    semi: list[SemiRow]
    skipped: dict[str, str]  # kind -> why it could not be judged (too few episodes of an option)
    semi_groups: list[tuple[str, str, Share]]  # effect-interval coverage by group (empty share: suppressed)
    courses: list[CourseRow] = field(default_factory=list)
    chances: list[ChanceRow] = field(default_factory=list)


def split(person_ids: Sequence[str]) -> np.ndarray:
    """The held-out half: a fixed split by person (the same as the other evaluations')."""
    import hashlib

    return np.array([hashlib.sha256(f"idiograph-eval:{p}".encode()).digest()[0] % 2 == 1 for p in person_ids])


def run(kinds: dict[str, Kind], seed: int, say: Callable[[str], None] = lambda _: None) -> Report:
    policy_parts: list[dict[str, Any]] = []
    semi: list[SemiRow] = []
    semi_parts: list[dict[str, Any]] = []
    courses: list[CourseRow] = []
    chances: list[ChanceRow] = []
    meta: dict[str, tuple[int, int, str]] = {}
    skipped: dict[str, str] = {}
    for name, kind in sorted(kinds.items()):
        cols = {k: list(v) for k, v in kind.columns.items()}
        held = split(cols["person_id"])
        options = sorted({o for row in cols["options"] for o in row.split(";")})
        fit_rows = np.flatnonzero(~held & np.array([y is not None for y in cols["outcome"]]))
        say(f"{name}: fitting on {fit_rows.size:,} finished episodes")
        try:
            model = OptionsLearner(lower_is_better=True, seed=seed).fit(
                _subset(cols, fit_rows), COVARIATES, _take(cols["received"], fit_rows), _take(cols["outcome"], fit_rows)
            )
        except InvalidInput as exc:
            skipped[name] = exc.detail
            continue
        test_rows = np.flatnonzero(held)
        test = _subset(cols, test_rows)
        pred = model.predict(test)
        truth = np.column_stack([np.array(_take(cols[f"truth_{o}"], test_rows), dtype=float) for o in model.options_])
        pick = {o: i for i, o in enumerate(model.options_)}
        # the single option truly best on average for these people: the policy a service would adopt if it knew
        single = model.options_[int(np.argmax(truth.mean(axis=0)))]
        n = test_rows.size
        # the recommendation as a user gets it: among options with enough similar episodes, else the reference
        gated = model.predict(test, min_support=MIN_SUPPORT)
        rec = truth[np.arange(n), [pick[o or model.reference_] for o in gated.recommended]]
        received = np.array(_take(cols["received"], test_rows))
        got = truth[np.arange(n), [pick[o] for o in received]]
        outcome = _take(cols["outcome"], test_rows)
        has = np.array([y is not None for y in outcome])
        j = np.array([pick[o] for o in received])
        y = np.array([np.nan if v is None else v for v in outcome], dtype=float)
        lo, hi = pred.outcome_lower[np.arange(n), j], pred.outcome_upper[np.arange(n), j]
        covered = has & (lo <= y) & (y <= hi)
        policy_parts.append(
            {
                "kind": name,
                "rec": rec,
                "got": got,
                "single": truth[:, pick[single]],
                "oracle": truth.max(axis=1),
                "has": has,
                "covered": covered,
                "groups": {dim: np.array(_take(cols[key], test_rows)) for dim, key in DIMENSIONS},
            }
        )
        meta[name] = (fit_rows.size, n, single)
        say(f"{name}: each option's course and chances")
        judged = _courses(name, cols, fit_rows, test_rows, model, seed)
        courses += judged[0]
        chances += judged[1]
        say(f"{name}: the semi-synthetic benchmark")
        rows, per_person = _semi(name, cols, held, options, seed)
        semi += rows
        semi_parts.append(
            {"counts": per_person, "groups": {dim: np.array(_take(cols[key], test_rows)) for dim, key in DIMENSIONS}}
        )
    if not policy_parts:
        raise InvalidInput(
            "no team kind has enough finished episodes of every option to judge: "
            + "; ".join(f"{k}: {why}" for k, why in skipped.items()),
            [],
        )
    return Report(meta, _policy_rows(policy_parts), semi, skipped, _semi_groups(semi_parts), courses, chances)


WEEK_BANDS = ((1, 4), (5, 8), (9, 12), (13, 99))
MEASURE_COLUMNS = {
    "phq-9": ("outcome", "course_phq9", "phq9_intake"),
    "gad-7": ("outcome_gad7", "course_gad7", "gad7_intake"),
}


def _courses(
    name: str,
    cols: dict[str, list[Any]],
    fit_rows: np.ndarray,
    test_rows: np.ndarray,
    phq9: OptionsLearner,
    seed: int,
) -> tuple[list[CourseRow], list[ChanceRow]]:
    """Fit the GAD-7 learner and the course model on the fitting half as the service does, then judge the bands and
    the chances on the held-out half's finished episodes."""
    learners: dict[str, OptionsLearner] = {"phq-9": phq9}
    with contextlib.suppress(InvalidInput):
        learners["gad-7"] = OptionsLearner(lower_is_better=True, seed=seed).fit(
            _subset(cols, fit_rows),
            COVARIATES,
            _take(cols["received"], fit_rows),
            _take(cols["outcome_gad7"], fit_rows),
        )
    trajectories = {m: _take(cols[c], fit_rows) for m, (_, c, _) in MEASURE_COLUMNS.items()}
    course = fit_beside(learners, _subset(cols, fit_rows), _take(cols["received"], fit_rows), trajectories, seed)
    rules = national_rules()
    finished = test_rows[np.array([cols["outcome"][i] is not None for i in test_rows.tolist()], dtype=bool)]
    test = _subset(cols, finished)
    ends = {m: learner.predict(test).outcome for m, learner in learners.items()}
    inside: dict[tuple[str, int], list[bool]] = {}
    widths: dict[tuple[str, int], list[float]] = {}
    predicted: dict[str, list[float]] = {"recovery": [], "reliable deterioration": []}
    happened: dict[str, list[bool]] = {"recovery": [], "reliable deterioration": []}
    for r, i in enumerate(finished.tolist()):
        option = cols["received"][i]
        if option not in phq9.options_:
            continue
        j = phq9.options_.index(option)
        intake = {m: _number(cols[c][i]) for m, (_, _, c) in MEASURE_COLUMNS.items()}
        expected = {m: float(e[r, j]) for m, e in ends.items()}
        c = course.predict(option, intake, expected, rules)
        if c is None:
            continue
        for m, (_, traj_col, _) in MEASURE_COLUMNS.items():
            traj: Trajectory | None = cols[traj_col][i]
            if traj is None or m not in c.expected:
                continue
            for day, score in zip(traj.days[1:], traj.scores[1:], strict=True):
                week = day / 7
                if week > c.weeks[-1] + 0.5:
                    continue
                k = min(round(week), len(c.weeks) - 1)
                band = next(b for b, (lo, hi) in enumerate(WEEK_BANDS) if lo <= max(k, 1) <= hi)
                inside.setdefault((m, band), []).append(c.lower[m][k] <= score <= c.upper[m][k])
                widths.setdefault((m, band), []).append(c.upper[m][k] - c.lower[m][k])
        _chances(c, intake, cols, i, rules, predicted, happened)
    rows = []
    for m in MEASURE_COLUMNS:
        for b, (lo, hi) in enumerate(WEEK_BANDS):
            got = inside.get((m, b), [])
            if got:
                label = f"{lo}-{hi}" if hi < 99 else f"{lo}+"
                rows.append(CourseRow(name, m, label, Share(int(sum(got)), len(got)), float(np.median(widths[(m, b)]))))
    base = _base_rates(cols, fit_rows, rules)
    chance_rows = []
    for outcome, p in predicted.items():
        if not p:
            continue
        y = np.array(happened[outcome], dtype=float)
        q = np.array(p)
        chance_rows.append(
            ChanceRow(
                name,
                outcome,
                y.size,
                float(q.mean()),
                Share(int(y.sum()), y.size),
                float(np.mean((q - y) ** 2)),
                float(np.mean((base[outcome] - y) ** 2)),
            )
        )
    return rows, chance_rows


def _chances(
    c: Any,
    intake: dict[str, float | None],
    cols: dict[str, list[Any]],
    i: int,
    rules: Rules,
    predicted: dict[str, list[float]],
    happened: dict[str, list[bool]],
) -> None:
    end = {"phq-9": _number(cols["outcome"][i]), "gad-7": _number(cols["outcome_gad7"][i])}
    if any(v is None for v in (*intake.values(), *end.values())):
        return
    recovered, deteriorated = _observed(intake, end, rules)  # type: ignore[arg-type]
    if c.recovery is not None and recovered is not None:
        predicted["recovery"].append(c.recovery)
        happened["recovery"].append(recovered)
    if c.deterioration is not None:
        predicted["reliable deterioration"].append(c.deterioration)
        happened["reliable deterioration"].append(deteriorated)


def _observed(start: dict[str, float], end: dict[str, float], rules: Rules) -> tuple[bool | None, bool]:
    """(recovered, None when not at caseness at the start; reliably deteriorated), as NHS Talking Therapies counts."""
    case = rules.caseness
    deteriorated = any(end[m] - start[m] >= rules.reliable[m] for m in start)
    if not any(start[m] >= case[m] for m in start):
        return None, deteriorated
    return all(end[m] < case[m] for m in start), deteriorated


def _base_rates(cols: dict[str, list[Any]], rows: np.ndarray, rules: Rules) -> dict[str, float]:
    rec, det = [], []
    for i in rows.tolist():
        start = {m: _number(cols[c][i]) for m, (_, _, c) in MEASURE_COLUMNS.items()}
        end = {"phq-9": _number(cols["outcome"][i]), "gad-7": _number(cols["outcome_gad7"][i])}
        if any(v is None for v in (*start.values(), *end.values())):
            continue
        r, d = _observed(start, end, rules)  # type: ignore[arg-type]
        det.append(d)
        if r is not None:
            rec.append(r)
    return {
        "recovery": float(np.mean(rec)) if rec else 0.5,
        "reliable deterioration": float(np.mean(det)) if det else 0.5,
    }


def _number(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if np.isnan(f) else f


def _semi_groups(parts: list[dict[str, Any]]) -> list[tuple[str, str, Share]]:
    """Effect-interval coverage by group, pooled over every contrast of every person in it (contrasts of one
    person are not independent, so the Wilson interval is too narrow)."""
    counts = np.concatenate([p["counts"] for p in parts])
    out = [("all", "all", Share(int(counts[:, 0].sum()), int(counts[:, 1].sum())))]
    for dim, _ in DIMENSIONS:
        groups = np.concatenate([p["groups"][dim] for p in parts])
        for g in sorted(set(groups)):
            c = counts[groups == g]
            people = int((groups == g).sum())
            out.append(
                (dim, str(g), Share(int(c[:, 0].sum()), int(c[:, 1].sum())) if people >= MIN_CELL else Share(0, 0))
            )
    return out


def _policy_rows(parts: list[dict[str, Any]]) -> list[PolicyRow]:
    joined = {k: np.concatenate([p[k] for p in parts]) for k in ("rec", "got", "single", "oracle", "has", "covered")}
    groups = {dim: np.concatenate([p["groups"][dim] for p in parts]) for dim, _ in DIMENSIONS}
    kinds = np.concatenate([np.full(p["rec"].size, p["kind"]) for p in parts])
    rows = [_row("all", "all", np.ones(kinds.size, dtype=bool), joined)]
    rows += [_row("team kind", k, kinds == k, joined) for k in sorted(set(kinds))]
    for dim, _ in DIMENSIONS:
        for g in sorted(set(groups[dim])):
            rows.append(_row(dim, str(g), groups[dim] == g, joined))
    return rows


def _row(dimension: str, group: str, mask: np.ndarray, v: dict[str, np.ndarray]) -> PolicyRow:
    has = v["has"][mask]
    return PolicyRow(
        dimension,
        group,
        int(mask.sum()),
        float(v["rec"][mask].mean()) if mask.any() else float("nan"),
        float(v["got"][mask].mean()) if mask.any() else float("nan"),
        float(v["single"][mask].mean()) if mask.any() else float("nan"),
        float(v["oracle"][mask].mean()) if mask.any() else float("nan"),
        Difference.of(v["rec"][mask] - v["single"][mask]),
        Difference.of(v["rec"][mask] - v["got"][mask]),
        Share(int(v["covered"][mask].sum()), int(has.sum())),
    )


# -- the semi-synthetic benchmark --------------------------------------------------------------------------------


def surface(cols: dict[str, list[Any]], options: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The known semi-synthetic surface in PHQ-9 points (lower is better): the expected outcome without treatment
    and each option's expected effect, from covariates recorded at intake. Fixed here and documented; fitted to
    nothing. Returns (baseline n, effects n x options)."""
    s = (np.array(cols["phq9_intake"], dtype=float) - 14) / 5
    chronic = np.array([(m or 0) > 24 for m in cols["problem_duration_months"]], dtype=float)
    good = np.array([r == "good" for r in cols["previous_response"]], dtype=float)
    age = (np.array(cols["age"], dtype=float) - 40) / 20
    money = np.array([bool(m) for m in cols["money_worries"]], dtype=float)
    base = 14 + 4.5 * s + 1.5 * chronic + 1.0 * money + 0.8 * np.sin(2 * s)
    table = {
        "guided_self_help": -2.0 + 2.0 * s + 1.0 * chronic - 0.5 * good,
        "cbt": -3.0 - 0.8 * s - 0.8 * good + 0.3 * age,
        "counselling": -2.5 + 0.6 * age,
        "group_cbt": -2.2 + 1.0 * s + 0.5 * chronic,
        "creative_therapies": -1.8 + 0.8 * chronic,
        "medication_review": -2.0 - 0.8 * s,
    }
    effects = np.column_stack([table.get(o, -2.0 + 0 * s) for o in options])
    return base, effects


def _semi(
    name: str, cols: dict[str, list[Any]], held: np.ndarray, options: list[str], seed: int
) -> tuple[list[SemiRow], np.ndarray]:
    """The benchmark's rows per option, and per held-out person how many of their contrasts the interval covered
    and how many there were (for the breakdown by group)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng([seed, 7])
    base, effects = surface(cols, options)
    n = base.size
    expected = base[:, None] + effects
    potential = expected + rng.normal(0, SEMI_NOISE, (n, len(options)))
    t = np.array([options.index(o) for o in cols["received"]])
    y = potential[np.arange(n), t]
    fit_rows, test_rows = np.flatnonzero(~held), np.flatnonzero(held)
    received = [cols["received"][i] for i in fit_rows]
    model = OptionsLearner(lower_is_better=True, seed=seed).fit(
        _subset(cols, fit_rows), COVARIATES, received, y[fit_rows]
    )
    pred = model.predict(_subset(cols, test_rows))
    # the T-learner: one gradient-boosted model per option on its own episodes (no intervals to offer)
    raw, categorical = model.design_.raw(_subset(cols, fit_rows))
    raw_test, _ = model.design_.raw(_subset(cols, test_rows))
    t_pred = {}
    for o in model.options_:
        arm = np.array([r == o for r in received])
        m = HistGradientBoostingRegressor(
            categorical_features=categorical if categorical.any() else None, early_stopping=True, random_state=seed
        )
        t_pred[o] = m.fit(raw[arm], y[fit_rows][arm]).predict(raw_test)
    rows = []
    ref = model.reference_
    per_person = np.zeros((test_rows.size, 2), dtype=int)
    for o in model.options_:
        if o == ref:
            continue
        c = model.options_.index(o)
        truth = expected[test_rows, options.index(o)] - expected[test_rows, options.index(ref)]
        inside = (pred.effect_lower[:, c] <= truth) & (truth <= pred.effect_upper[:, c])
        per_person += np.column_stack([inside.astype(int), np.ones_like(inside, dtype=int)])
        y_o = potential[test_rows, options.index(o)]
        in_outcome = (pred.outcome_lower[:, c] <= y_o) & (y_o <= pred.outcome_upper[:, c])
        rows.append(
            SemiRow(
                name,
                o,
                ref,
                test_rows.size,
                Share(int(inside.sum()), test_rows.size),
                float(np.median(pred.effect_upper[:, c] - pred.effect_lower[:, c])),
                float(np.sqrt(np.mean((pred.effect[:, c] - truth) ** 2))),
                float(np.sqrt(np.mean((t_pred[o] - t_pred[ref] - truth) ** 2))),
                Share(int(in_outcome.sum()), test_rows.size),
                float(np.median(pred.outcome_upper[:, c] - pred.outcome_lower[:, c])),
            )
        )
    return rows, per_person


def _take(values: list[Any], rows: np.ndarray) -> list[Any]:
    return [values[i] for i in rows]


def _subset(cols: dict[str, list[Any]], rows: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in COVARIATES:
        vals = _take(cols[c], rows)
        numeric = all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in vals)
        out[c] = np.array([np.nan if v is None else v for v in vals], dtype=float) if numeric else vals
    return out


# -- reporting ----------------------------------------------------------------------------------------------------

POLICY_COLUMNS = (
    "group",
    "people",
    "recommended",
    "received",
    "single best",
    "oracle",
    "recommended - single best (95% CI)",
    "recommended - received (95% CI)",
    "outcome interval covers",
)
SEMI_COLUMNS = (
    "team kind",
    "option vs reference",
    "effect interval covers",
    "median width",
    "root PEHE",
    "root PEHE, T-learner",
    "outcome interval covers",
    "outcome interval median width",
)
SUPPRESSED = "*"
COURSE_COLUMNS = ("team kind", "measure", "weeks since intake", "band covers", "median width")
CHANCE_COLUMNS = (
    "team kind",
    "outcome",
    "finished episodes",
    "mean predicted",
    "observed",
    "Brier",
    "Brier, fitting half's rate for everyone",
)


def course_cells(r: CourseRow) -> list[str]:
    return [r.kind, r.measure.upper(), r.weeks, r.coverage.text(), f"{r.width:.1f}"]


def chance_cells(r: ChanceRow) -> list[str]:
    return [
        r.kind,
        r.outcome,
        f"{r.n:,}",
        f"{100 * r.predicted:.1f}%",
        r.observed.text(),
        f"{r.brier:.3f}",
        f"{r.brier_constant:.3f}",
    ]


def verdict(report: Report) -> str:
    """The policy comparison in plain words, from the all-people row's 95% intervals."""
    row = next((r for r in report.policy if r.dimension == "all"), None)
    if row is None or row.suppressed:
        return "Too few held-out people to judge the recommendation."

    def words(d: Difference, against: str) -> str:
        if d.low > 0:
            return f"better than {against} ({d.mean:+.3f} SD, 95% CI {d.low:+.3f} to {d.high:+.3f})"
        if d.high < 0:
            return f"worse than {against} ({d.mean:+.3f} SD, 95% CI {d.low:+.3f} to {d.high:+.3f})"
        return f"not clearly different from {against} ({d.mean:+.3f} SD, 95% CI {d.low:+.3f} to {d.high:+.3f})"

    return (
        "Plainly: following the recommendation was "
        + words(row.vs_single, "giving everyone the single best option")
        + ", and "
        + words(row.vs_received, "the service's own choices")
        + "."
    )


def _d(d: Difference) -> str:
    return f"{d.mean:+.3f} ({d.low:+.3f} to {d.high:+.3f})"


def policy_cells(r: PolicyRow) -> list[str]:
    label = r.group if r.dimension == "all" else f"{r.dimension}: {r.group}"
    if r.suppressed:
        return [label, SUPPRESSED, *[SUPPRESSED] * (len(POLICY_COLUMNS) - 2)]
    return [
        label,
        f"{r.n:,}",
        f"{r.recommended:.3f}",
        f"{r.received:.3f}",
        f"{r.single_best:.3f}",
        f"{r.oracle:.3f}",
        _d(r.vs_single),
        _d(r.vs_received),
        r.coverage.text(),
    ]


def semi_cells(r: SemiRow) -> list[str]:
    return [
        r.kind,
        f"{r.option} vs {r.reference}",
        r.coverage.text(),
        f"{r.width:.2f}",
        f"{r.rpehe:.2f}",
        f"{r.rpehe_t_learner:.2f}",
        r.outcome_coverage.text(),
        f"{r.outcome_width:.1f}",
    ]


def as_json(report: Report) -> dict[str, object]:
    def diff(d: Difference) -> dict[str, float]:
        return {"mean": d.mean, "low": d.low, "high": d.high}

    return {
        "kinds": {k: {"fitted_on": a, "judged_on": b, "single_best": c} for k, (a, b, c) in report.kinds.items()},
        "skipped": report.skipped,
        "policy": [
            {"dimension": r.dimension, "group": r.group, "suppressed": True}
            if r.suppressed
            else {
                "dimension": r.dimension,
                "group": r.group,
                "n": r.n,
                "recommended": r.recommended,
                "received": r.received,
                "single_best": r.single_best,
                "oracle": r.oracle,
                "recommended_minus_single_best": diff(r.vs_single),
                "recommended_minus_received": diff(r.vs_received),
                "outcome_coverage": r.coverage.as_json(),
            }
            for r in report.policy
        ],
        "semi_synthetic_by_group": [
            {"dimension": d, "group": g, "suppressed": True}
            if share.n == 0
            else {"dimension": d, "group": g, "effect_coverage": share.as_json()}
            for d, g, share in report.semi_groups
        ],
        "courses": [
            {
                "kind": r.kind,
                "measure": r.measure,
                "weeks": r.weeks,
                "band_coverage": r.coverage.as_json(),
                "median_width": r.width,
            }
            for r in report.courses
        ],
        "chances": [
            {
                "kind": r.kind,
                "outcome": r.outcome,
                "n": r.n,
                "mean_predicted": r.predicted,
                "observed": r.observed.as_json(),
                "brier": r.brier,
                "brier_constant": r.brier_constant,
            }
            for r in report.chances
        ],
        "semi_synthetic": [
            {
                "kind": r.kind,
                "option": r.option,
                "reference": r.reference,
                "n": r.n,
                "effect_coverage": r.coverage.as_json(),
                "effect_median_width": r.width,
                "root_pehe": r.rpehe,
                "root_pehe_t_learner": r.rpehe_t_learner,
                "outcome_coverage": r.outcome_coverage.as_json(),
                "outcome_median_width": r.outcome_width,
            }
            for r in report.semi
        ],
    }
