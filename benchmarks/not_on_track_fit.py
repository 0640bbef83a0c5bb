"""Fitting the expected-recovery models at scale, and judging scores: k-d tree against brute force.

Courses come from a known law (tests/monitoring/test_expected.py) so the script needs no database.
Usage: python benchmarks/not_on_track_fit.py [EPISODES ...]   (default 50000 300000)
"""

from __future__ import annotations

import math
import random
import sys
import time
import tracemalloc

import numpy as np
from rich.console import Console
from rich.table import Table

from idiograph.monitoring.recovery.expected import Course, CurveModel, NeighbourModel


def courses(n: int, seed: int) -> list[Course]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        intake = rng.uniform(8, 25)
        scores = [intake] + [
            2 + 0.8 * intake + (-1 - 0.1 * intake) * math.log(s) + rng.gauss(0, 2)
            for s in range(2, rng.randint(3, 14) + 1)
        ]
        out.append(Course(tuple(scores), (intake, rng.uniform(5, 20), rng.uniform(18, 70))))
    return out


def main(sizes: list[int]) -> None:
    table = Table(title="Expected-recovery models: fit and judge (2 cores, 24 GiB)")
    for col in (
        "episodes",
        "scores",
        "curve fit s",
        "neighbour fit s",
        "peak MiB",
        "judge 2,000: k-d tree s",
        "brute force s",
    ):
        table.add_column(col, justify="right")
    queries = courses(2000, 99)
    for n in sizes:
        train = courses(n, 1)
        scores = sum(len(c.scores) for c in train)
        tracemalloc.start()
        t0 = time.perf_counter()
        CurveModel.fit(train)
        t1 = time.perf_counter()
        nn = NeighbourModel.fit(train, k=50)
        t2 = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        t3 = time.perf_counter()
        for q in queries:
            nn.judge(q.scores, q.features)
        t4 = time.perf_counter()
        z = (nn.features - nn.mean) / nn.scale
        for q in queries:  # the obvious alternative: every distance, then the k smallest
            d = ((z - (np.asarray(q.features) - nn.mean) / nn.scale) ** 2).sum(axis=1)
            idx = np.argpartition(d, nn.k)[: nn.k]
            nn.stats[idx].sum(axis=0)
        t5 = time.perf_counter()
        table.add_row(
            f"{n:,}",
            f"{scores:,}",
            f"{t1 - t0:.2f}",
            f"{t2 - t1:.2f}",
            f"{peak:,.0f}",
            f"{t4 - t3:.2f}",
            f"{t5 - t4:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50000, 300000])
