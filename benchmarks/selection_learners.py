"""Treatment selection's learner beside the obvious alternatives, on semi-synthetic data built from real covariates.

    .venv/bin/python benchmarks/selection_learners.py                       # NHANES covariates, seeds 101-105
    .venv/bin/python benchmarks/selection_learners.py --seeds 101 102 --no-forest
    .venv/bin/python benchmarks/selection_learners.py --speed 300000        # fit time on 300,000 episodes

Real covariates: the NHANES 2017-18 PHQ-9 items (``../shared/data/nhanes/DPQ_J.csv``, 5,068 adults with all nine
items; see its PROVENANCE.md), the nine item answers and the functional-difficulty item. On them, per seed: an
allocation to three options confounded by the PHQ-9 total (the severe get the intensive option, as in stepped care,
with overlap), and each option's outcome from a known surface of the items (sleep, anhedonia and item 9 change
who gains from which), with person-level noise. Fitted on a random half, judged on the other half against each
person's true expected effect:

- idiograph's learner with its intervals (``selection/learner.py``: orthogonal, the default, and the doubly robust
  alternative it keeps for this comparison);
- a T-learner: one gradient-boosted model per option, the effect the difference of two predictions (no interval);
- a causal forest (EconML's ``CausalForestDML``, gradient-boosted nuisances, its own effect intervals).

Reported: coverage of the true expected effect by the 95% interval, its median width, root PEHE, over the judging
seeds (none of them used to choose anything: the learner's settings were chosen on the known-model simulation of
``tests/selection/simulated.py`` and the synthetic service's seed 1).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from idiograph.selection.learner import OptionsLearner

NHANES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nhanes" / "DPQ_J.csv"
ITEMS = [f"DPQ0{i}0" for i in range(1, 10)]
OPTIONS = ("a_self_help", "b_cbt", "c_counselling")
MIN_SUPPORT = 30  # similar episodes under each option before the care page shows a number


def nhanes(path: Path) -> dict[str, np.ndarray]:
    import csv

    rows = []
    with path.open() as f:
        for r in csv.DictReader(f):
            values = [r[c] for c in ITEMS]
            if all(v not in ("", "7.0", "9.0") for v in values):
                rows.append(
                    [float(v) for v in values]
                    + [float(r["DPQ100"]) if r["DPQ100"] not in ("", "7.0", "9.0") else np.nan]
                )
    a = np.array(rows)
    out = {c: a[:, i] for i, c in enumerate(ITEMS)}
    out["DPQ100"] = a[:, 9]
    return out


def semi(x: dict[str, np.ndarray], seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(option received, observed outcome, expected outcomes n x 3, potential outcomes n x 3)."""
    rng = np.random.default_rng([seed, 31])
    total = sum(x[c] for c in ITEMS)
    s = (total - total.mean()) / total.std()
    sleep, anhedonia, item9 = x["DPQ030"], x["DPQ010"], x["DPQ090"]
    logits = np.column_stack([-1.0 * s, 0.9 * s, 0.1 * s]) + np.array([0.3, 0.0, -0.2])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    t = (rng.random(s.size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    base = 8 + 0.9 * total + 1.0 * np.sin(s)
    # not in any learner's basis: thresholds, interactions and curves of the items (an additive spline basis with
    # the items entered as values cannot represent them exactly, nor can a forest's splits)
    effects = np.column_stack(
        [
            -1.5 + 1.2 * np.tanh(s) + 0.8 * (item9 >= 1),
            -2.5 - 0.8 * np.tanh(s) - 0.8 * (sleep >= 2) * (anhedonia >= 2),
            -2.0 - 0.25 * anhedonia * sleep + 0.4 * np.sin(2 * s),
        ]
    )
    expected = base[:, None] + effects
    potential = expected + rng.normal(0, 2.5, (s.size, 1)) + rng.normal(0, 1.5, (s.size, 3))
    y = potential[np.arange(s.size), t]
    return [OPTIONS[i] for i in t], y, expected, potential


def simulated(seed: int, n: int = 20000) -> tuple[dict[str, np.ndarray], list[str], np.ndarray, np.ndarray]:
    """The known-model simulation of the learner's tests (the settings were chosen on seeds 1-4 and 11 of it), with
    its options renamed to this script's three."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.selection.simulated import episodes

    e = episodes(n, seed)
    rename = {"gsh": OPTIONS[0], "cbt": OPTIONS[1], "counselling": OPTIONS[2]}
    expected = e.expected[:, [2, 0, 1]]  # the simulation's order is cbt, counselling, gsh
    data = {k: (np.array(v, dtype=object) if isinstance(v, list) else v) for k, v in e.data.items()}
    return data, [rename[r] for r in e.received], e.outcome, expected


def run_seed(x: dict[str, np.ndarray], seed: int, forest: bool, dataset: str = "nhanes") -> dict[str, dict[str, float]]:
    from sklearn.ensemble import HistGradientBoostingRegressor

    if dataset == "nhanes":
        received, y, expected, _ = semi(x, seed)
    else:
        x, received, y, expected = simulated(seed)
    n = y.size
    half = np.random.default_rng([seed, 32]).permutation(n)
    fit, test = half[: n // 2], half[n // 2 :]
    names = list(x)
    sub = {c: x[c][fit] for c in names}
    got = [received[i] for i in fit]
    out: dict[str, dict[str, float]] = {}
    for method, label in (("dml", "idiograph (orthogonal, shipped)"), ("dr", "doubly robust (alternative)")):
        t0 = time.perf_counter()
        model = OptionsLearner(lower_is_better=True, seed=seed, method=method)
        model.fit(sub, names, got, y[fit], reference="a_self_help")
        pred = model.predict({c: x[c][test] for c in names})
        seconds = time.perf_counter() - t0
        for j, o in enumerate(OPTIONS[1:], start=1):
            c = model.options_.index(o)
            truth = expected[test, j] - expected[test, 0]
            row = _score(pred.effect[:, c], truth, pred.effect_lower[:, c], pred.effect_upper[:, c])
            # where the page shows a number: both options have at least MIN_SUPPORT similar episodes
            shown = np.minimum(pred.support[:, c], pred.support[:, model.options_.index(OPTIONS[0])]) >= MIN_SUPPORT
            row["shown"] = float(shown.mean())
            row["rpehe_shown"] = float(np.sqrt(np.mean((pred.effect[shown, c] - truth[shown]) ** 2)))
            row["coverage_shown"] = float(
                np.mean((pred.effect_lower[shown, c] <= truth[shown]) & (truth[shown] <= pred.effect_upper[shown, c]))
            )
            out[f"{label} {o}"] = row | {"seconds": seconds}
    X = np.column_stack([_numeric(x[c]) for c in names])
    t0 = time.perf_counter()
    tl = {}
    for o in OPTIONS:
        arm = np.array([r == o for r in got])
        m = HistGradientBoostingRegressor(early_stopping=True, random_state=seed)
        tl[o] = m.fit(X[fit][arm], y[fit][arm]).predict(X[test])
    tl_time = time.perf_counter() - t0
    for j, o in enumerate(OPTIONS[1:], start=1):
        truth = expected[test, j] - expected[test, 0]
        out[f"T-learner {o}"] = _score(tl[o] - tl[OPTIONS[0]], truth, None, None) | {"seconds": tl_time}
    if forest:
        from econml.dml import CausalForestDML
        from sklearn.ensemble import HistGradientBoostingClassifier

        t0 = time.perf_counter()
        X_fit = np.nan_to_num(X[fit], nan=-1.0)
        cf = CausalForestDML(
            model_y=HistGradientBoostingRegressor(early_stopping=True, random_state=seed),
            model_t=HistGradientBoostingClassifier(early_stopping=True, random_state=seed),
            discrete_treatment=True,
            categories=list(OPTIONS),
            cv=3,
            random_state=seed,
        )
        cf.fit(y[fit], np.array(got), X=X_fit)
        X_test = np.nan_to_num(X[test], nan=-1.0)
        cf_time = time.perf_counter() - t0
        for j, o in enumerate(OPTIONS[1:], start=1):
            truth = expected[test, j] - expected[test, 0]
            est = cf.effect(X_test, T0=OPTIONS[0], T1=o)
            lo, hi = cf.effect_interval(X_test, T0=OPTIONS[0], T1=o, alpha=0.05)
            out[f"causal forest {o}"] = _score(est, truth, lo, hi) | {"seconds": cf_time}
    return out


def _numeric(column: np.ndarray) -> np.ndarray:
    """A column as numbers for the T-learner and the forest (categories as codes)."""
    if column.dtype == object:
        return np.unique(column.astype(str), return_inverse=True)[1].astype(float)
    return column.astype(float)


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _score(est: np.ndarray, truth: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None) -> dict[str, float]:
    row = {"rpehe": float(np.sqrt(np.mean((est - truth) ** 2)))}
    if lo is not None and hi is not None:
        row["coverage"] = float(np.mean((lo <= truth) & (truth <= hi)))
        row["width"] = float(np.median(hi - lo))
    return row


def speed(n: int, seed: int, options: int = 3) -> None:
    """Fit time on ``n`` episodes of the known-model simulation with 20 covariates (numeric, categorical, missing)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.selection.simulated import episodes

    e = episodes(n, seed)
    rng = np.random.default_rng(seed)
    received = list(e.received)
    if options > 3:  # more options: each simulated arm split at random (as many services offer)
        split = rng.integers(0, options // 3 + (options % 3 > 0), n)
        received = [f"{r}_{k}" for r, k in zip(received, split, strict=True)]
    data = dict(e.data)
    for i in range(15):  # noise covariates, as a real intake table has
        data[f"extra_{i}"] = rng.normal(size=n) if i % 3 else rng.choice(["x", "y", "z"], n).tolist()
    t0 = time.perf_counter()
    model = OptionsLearner(lower_is_better=True, seed=seed).fit(data, list(data), received, e.outcome)
    ours = time.perf_counter() - t0
    from sklearn.ensemble import HistGradientBoostingRegressor

    raw, categorical = model.design_.raw(data)
    t0 = time.perf_counter()
    for o in sorted(set(received)):  # the obvious alternative: a T-learner, one model per option, no intervals
        arm = np.array([r == o for r in received])
        HistGradientBoostingRegressor(categorical_features=categorical, early_stopping=True, random_state=seed).fit(
            raw[arm], e.outcome[arm]
        )
    t_learner = time.perf_counter() - t0
    one = {k: v[:1] for k, v in data.items()}
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        model.predict(one)
        times.append(time.perf_counter() - t0)
    table = Table(title=f"Fitting on {n:,} episodes, {len(data)} covariates, {len(set(received))} options (2 cores)")
    for col in ("", "fit s", "one person's prediction, median / p99 ms"):
        table.add_column(col, justify="left" if not col else "right")
    p50, p99 = np.percentile(times, [50, 99]) * 1000
    table.add_row("idiograph (orthogonal, 5-fold cross-fitting, intervals)", f"{ours:.1f}", f"{p50:.1f} / {p99:.1f}")
    table.add_row("T-learner (one boosted model per option, no intervals)", f"{t_learner:.1f}", "-")
    Console().print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    ap.add_argument("--nhanes", type=Path, default=NHANES)
    ap.add_argument("--no-forest", action="store_true")
    ap.add_argument("--dataset", choices=("nhanes", "simulated"), default="nhanes")
    ap.add_argument("--speed", type=int, default=0, help="instead: time one fit on this many episodes")
    ap.add_argument("--options", type=int, default=3, help="with --speed: how many options (3 or 6)")
    args = ap.parse_args()
    if args.speed:
        speed(args.speed, args.seeds[0], args.options)
        return
    x = nhanes(args.nhanes) if args.dataset == "nhanes" else {}
    results: dict[str, list[dict[str, float]]] = {}
    for seed in args.seeds:
        for name, row in run_seed(x, seed, not args.no_forest, args.dataset).items():
            results.setdefault(name, []).append(row)
    where = f"NHANES PHQ-9 items ({len(x['DPQ010']):,} adults)" if x else "the known-model simulation (20,000)"
    table = Table(title=f"Semi-synthetic on {where}, seeds {args.seeds}")
    cols = (
        "learner, option vs a_self_help",
        "effect coverage",
        "median width",
        "root PEHE",
        "shown",
        "coverage where shown",
        "root PEHE where shown",
        "fit s",
    )
    for col in cols:
        table.add_column(col, justify="left" if col.startswith("learner") else "right")
    for name, rows in results.items():
        cov = [r["coverage"] for r in rows if "coverage" in r]
        table.add_row(
            name,
            f"{np.mean(cov):.3f} ({min(cov):.3f}-{max(cov):.3f})" if cov else "none",
            f"{np.mean([r['width'] for r in rows]):.2f}" if cov else "-",
            _spread([r["rpehe"] for r in rows]),
            f"{np.mean([r['shown'] for r in rows]):.2f}" if "shown" in rows[0] else "-",
            _spread([r["coverage_shown"] for r in rows], 3) if "shown" in rows[0] else "-",
            _spread([r["rpehe_shown"] for r in rows]) if "shown" in rows[0] else "-",
            f"{np.mean([r['seconds'] for r in rows]):.1f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
