"""Choosing the next item of an adaptive PHQ-9 (target < 5 ms at p99), beside the obvious alternatives.

    .venv/bin/python benchmarks/adaptive_next_item.py                  # 500 judging-split respondents
    .venv/bin/python benchmarks/adaptive_next_item.py --people 200

Every complete answer pattern of the judging split (odd SEQN of NHANES DPQ_J) is replayed under the shipped rule;
each call to ``engine.next_item`` on the way (from no answers to the stop) is timed on its own, in process. Beside
it, on the same states:
- SE rule: the classic choice, most information at the EAP (no look-ahead);
- fixed order with stochastic curtailment: the next printed item, after ``engine.result`` to see whether to stop
  (what a curtailed fixed form pays);
- look-ahead without the bank's precomputed grid: the category probabilities, information and expected scores on
  the theta grid recomputed on every call (the naive way, as if nothing were cached between requests).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from idiograph.adaptive import banks, engine

NHANES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nhanes" / "DPQ_J.csv"


def _states(people: int) -> list[list[tuple[str, int]]]:
    bank, rule = banks.load_bank("phq-9"), banks.default_rule("phq-9")
    seqn, x = banks.read_nhanes(NHANES)
    rows = x[banks.split_mask(seqn, "odd") & (x >= 0).all(axis=1)][:people]
    states: list[list[tuple[str, int]]] = []
    for row in rows:
        answers = dict(zip(bank.codes, map(int, row), strict=True))
        asked: list[tuple[str, int]] = []
        while True:
            states.append(list(asked))
            code = engine.next_item(bank, rule, asked)
            if code is None:
                break
            asked.append((code, answers[code]))
    return states


def _time(states: list[list[tuple[str, int]]], call) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.empty(len(states))
    for i, s in enumerate(states):
        t = time.perf_counter()
        call(s)
        out[i] = (time.perf_counter() - t) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=500)
    args = ap.parse_args()
    bank, rule = banks.load_bank("phq-9"), banks.default_rule("phq-9")
    se_rule = replace(rule, stop="se")
    fixed = (*bank.always, *(c for c in bank.codes if c not in bank.always))
    states = _states(args.people)

    def fixed_next(s: list[tuple[str, int]]) -> str | None:
        if engine.result(bank, rule, s).stopped is not None:
            return None
        done = {c for c, _ in s}
        return next(c for c in fixed if c not in done)

    def cold(s: list[tuple[str, int]]) -> str | None:
        engine._grid.cache_clear()
        return engine.next_item(bank, rule, s)

    for s in states[:50]:  # warm up
        engine.next_item(bank, rule, s)
    runs = [
        (
            f"look-ahead at the cut (shipped rule, confidence {rule.confidence})",
            _time(states, lambda s: engine.next_item(bank, rule, s)),
        ),
        ("most information at the EAP (SE rule)", _time(states, lambda s: engine.next_item(bank, se_rule, s))),
        ("fixed order + stochastic curtailment check", _time(states, fixed_next)),
        ("look-ahead, grid recomputed every call", _time(states, cold)),
    ]
    engine._grid.cache_clear()
    print(
        f"{len(states):,} calls from {args.people} respondents; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"{'method':<62} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, t in runs:
        print(f"{name:<62} {np.percentile(t, 50):8.2f} {np.percentile(t, 99):8.2f} {t.max():8.2f}")


if __name__ == "__main__":
    main()
