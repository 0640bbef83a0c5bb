"""How long the optimal batch match takes at a large service's scale, beside next-available allocation.

Usage: .venv/bin/python benchmarks/matching_solve.py [--people 100000] [--therapists 5000] [--seed 0]

People get one of 8 problem domains; 30% state one of 6 languages and 50% a preferred format (of 4). Therapists get
capacity 0-40 (about as many places as people), strengths drawn per domain, 1-2 languages and 2-3 formats. The
optimal match (``matching.solve``) is timed, with its peak memory, and compared with the obvious alternative:
each person in turn to the first therapist with a free place who meets their language and format."""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from idiograph.matching.solve import Person, Therapist, eligible, solve

DOMAINS = ("depression", "anxiety", "trauma", "ocd", "panic", "social_anxiety", "eating", "grief")
LANGUAGES = ("en", "pl", "ur", "pa", "ar", "so")
FORMATS = ("in_person", "video", "phone", "group")


def instance(n: int, m: int, rng: np.random.Generator) -> tuple[list[Person], list[Therapist]]:
    people = [
        Person(
            f"p{i}",
            str(rng.choice(DOMAINS)),
            str(rng.choice(LANGUAGES)) if rng.random() < 0.3 else None,
            str(rng.choice(FORMATS)) if rng.random() < 0.5 else None,
        )
        for i in range(n)
    ]
    therapists = [
        Therapist(
            f"t{j}",
            int(rng.integers(0, 2 * n // m + 1)),
            {d: float(rng.normal(0, 1)) for d in DOMAINS},
            frozenset({"en", *rng.choice(LANGUAGES, size=int(rng.integers(0, 2)), replace=False)}),
            frozenset(rng.choice(FORMATS, size=int(rng.integers(2, 4)), replace=False)),
        )
        for j in range(m)
    ]
    return people, therapists


def next_available(people: list[Person], therapists: list[Therapist]) -> tuple[int, float]:
    free = [t.capacity for t in therapists]
    count, total = 0, 0.0
    for p in people:
        for j, t in enumerate(therapists):
            if free[j] > 0 and eligible(p, t):
                free[j] -= 1
                count += 1
                total += t.strengths[p.domain]
                break
    return count, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--therapists", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    people, therapists = instance(args.people, args.therapists, np.random.default_rng(args.seed))
    start = time.perf_counter()
    result = solve(people, therapists)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    start = time.perf_counter()
    count, total = next_available(people, therapists)
    greedy = time.perf_counter() - start
    table = Table(title=f"{args.people:,} people x {args.therapists:,} therapists (seed {args.seed}, 2 cores)")
    for c in ("method", "s", "assigned", "waitlisted", "mean strength of assigned"):
        table.add_column(c, justify="left" if c == "method" else "right")
    table.add_row(
        "optimal match (transportation LP, HiGHS interior point)",
        f"{took:.1f}",
        f"{result.assigned:,}",
        f"{result.waitlisted:,}",
        f"{result.objective / max(result.assigned, 1):+.3f}",
    )
    table.add_row(
        "next available", f"{greedy:.1f}", f"{count:,}", f"{args.people - count:,}", f"{total / max(count, 1):+.3f}"
    )
    Console().print(table)
    print(f"peak memory of the process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
