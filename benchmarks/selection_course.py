"""How long the course model takes to fit beside the service's end-of-treatment learners, on simulated trajectories.

Usage: .venv/bin/python benchmarks/selection_course.py [--episodes 300000] [--options 6] [--seed 0]

Every episode gets 4-13 weekly PHQ-9 and GAD-7 scores falling from a random start with noise, and an expected end
score near its last. The course model (each option's share of change by week, the week-by-week 95% bands calibrated
within intake severity groups, and the residual pairs for the chances) is timed against the cost of the obvious
alternative, one end-of-treatment learner per week, estimated from one learner's measured fit on the same episodes
(``benchmarks/selection_learners.py --speed``): the learner's fit times the number of weeks."""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from idiograph.selection.course import CourseModel, Trajectory, weeks_for


def trajectories(n: int, rng: np.random.Generator) -> tuple[list[Trajectory], np.ndarray]:
    out, ends = [], np.zeros(n)
    for i in range(n):
        weeks = int(rng.integers(4, 14))
        days = np.arange(weeks + 1) * 7.0
        start = rng.uniform(5, 25)
        scores = np.clip(start * (1 - 0.4 * days / days[-1]) + np.r_[0, rng.normal(0, 3, weeks)], 0, 27)
        out.append(Trajectory(days, scores))
        ends[i] = scores[-1] + rng.normal(0, 2)
    return out, ends


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=300_000)
    ap.add_argument("--options", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--learner-seconds", type=float, default=46.4, help="one end-of-treatment learner's measured fit")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t = rng.integers(0, args.options, args.episodes)
    phq, phq_end = trajectories(args.episodes, rng)
    gad, gad_end = trajectories(args.episodes, rng)
    weeks = weeks_for(phq)
    start = time.perf_counter()
    CourseModel(weeks).fit(
        [str(j) for j in range(args.options)],
        t,
        np.full((args.episodes, args.options), 1 / args.options),
        {"phq-9": phq, "gad-7": gad},
        {"phq-9": phq_end, "gad-7": gad_end},
    )
    took = time.perf_counter() - start
    title = f"Course model on {args.episodes:,} episodes, {args.options} options, 2 measures, {weeks} weeks"
    table = Table(title=title)
    table.add_column("method")
    table.add_column("fit s", justify="right")
    table.add_row("course model (shares, Mondrian week bands, residual pairs)", f"{took:.1f}")
    table.add_row(
        "one learner per week per measure (estimated: learner fit x weeks x 2)",
        f"{args.learner_seconds * weeks * 2:,.0f}",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
