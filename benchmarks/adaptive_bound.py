"""How few PHQ-9 questions can any adaptive policy ask? A bound, and a data-driven policy tried against the engine.

    .venv/bin/python benchmarks/adaptive_bound.py            # about a minute on 2 cores

Issue 18's target is at most 3.5 items on average (item 9 counted) at sensitivity and specificity >= 0.95 against the
full-form PHQ-9 >= 10, on data the method was not fitted to. The shipped engine asks 4.56 items on the calibration
half (even SEQN of NHANES DPQ_J) and 4.60 on the judging half. This script asks whether the gap is the engine's.

1. **The in-sample optimum (a bound, not a method).** Every policy is a decision tree over (item asked, answer); the
   people who reach a node are the calibration respondents with those answers. Dynamic programming over the nodes
   (one node per set of answered items, so 4 x 5^8 at most, far fewer populated) finds the tree with the fewest
   items per person plus ``miss`` per case called below and ``miss / 10`` per non-case called above, asked of and
   judged on the same people: no policy can do better than this on them. It is then judged on the odd half, to show
   what fitting a tree to answers costs on new people.
2. **A smoothed tree with the engine behind it (tried, not shipped).** The same dynamic programme, but each node's
   share of cases is shrunk towards the GRM's P(total >= 10 | answers) with ``k`` pseudo-people, and a node with
   fewer than ``m`` people hands over to the engine. Two-fold cross-validation inside the calibration half (SEQN mod 4
   = 0 and 2): fitted on one fold, judged on the other. The odd half is not touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from idiograph.adaptive import banks, engine

NHANES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nhanes" / "DPQ_J.csv"
CUT = 10
State = tuple[tuple[int, int], ...]  # sorted (item index, answer)
Answers = NDArray[np.int8]


@dataclass(frozen=True)
class Judged:
    items: float
    sensitivity: float
    specificity: float


def _judge(items: list[int], said: list[bool], x: Answers) -> Judged:
    truth = x.sum(axis=1) >= CUT
    d = np.array(said)
    return Judged(
        float(np.mean(items)), float((d & truth).sum() / truth.sum()), float((~d & ~truth).sum() / (~truth).sum())
    )


class Tree:
    """The dynamic programme over answer sets; ``prior`` and ``hand_over`` make it the smoothed variant."""

    def __init__(
        self,
        x: Answers,
        miss: float,
        prior: Callable[[State], float] | None = None,
        k: float = 0.0,
        hand_over: Callable[[State, Answers], tuple[int, bool]] | None = None,
        m: int = 0,
    ) -> None:
        self.x, self.miss, self.false_alarm = x, miss, miss / 10
        self.case = x.sum(axis=1) >= CUT
        self.prior, self.k, self.hand_over, self.m = prior, k, hand_over, m
        self.nodes: dict[State, tuple[float, int | str | None, float]] = {}  # cost, next item | None | "engine", p
        first = 8  # item 9, the safety item, is always asked first
        for a in range(4):
            people = np.flatnonzero(x[:, first] == a)
            if people.size:
                self._value(((first, a),), people)

    def _value(self, state: State, people: NDArray[np.intp]) -> float:
        if state in self.nodes:
            return self.nodes[state][0]
        n, cases = people.size, int(self.case[people].sum())
        grm = self.prior(state) if self.prior else 0.5
        p = (cases + self.k * grm) / (n + self.k)
        if self.hand_over is not None and n < self.m:
            cost = 0.0
            for i in people:
                asked, above = self.hand_over(state, self.x[i])
                cost += asked - len(state) + (self.miss if self.case[i] and not above else 0.0)
                cost += self.false_alarm if above and not self.case[i] else 0.0
            self.nodes[state] = (cost, "engine", p)
            return cost
        best: tuple[float, int | None] = (min(self.miss * n * p, self.false_alarm * n * (1 - p)), None)
        asked = {j for j, _ in state}
        settled = self.prior is not None and grm in (0.0, 1.0)  # the answered sum already decides
        if len(asked) < 9 and not settled and (self.prior is not None or 0 < cases < n):
            for j in range(9):
                if j in asked:
                    continue
                cost = float(n)
                for a in range(4):
                    sub = people[self.x[people, j] == a]
                    if sub.size:
                        cost += self._value(tuple(sorted((*state, (j, a)))), sub)
                    if cost >= best[0]:
                        break
                if cost < best[0]:
                    best = (cost, j)
        self.nodes[state] = (best[0], best[1], p)
        return best[0]

    def ask(self, answers: Answers) -> tuple[int, bool]:
        state: State = ((8, int(answers[8])),)
        while state in self.nodes and isinstance(self.nodes[state][1], int):
            j = self.nodes[state][1]
            assert isinstance(j, int)
            state = tuple(sorted((*state, (j, int(answers[j])))))
        node = self.nodes.get(state)
        if node is not None and node[1] is None:
            return len(state), self.miss * node[2] >= self.false_alarm * (1 - node[2])
        if self.hand_over is not None:  # a node no calibration respondent reached, or too few did
            return self.hand_over(state, answers)
        return _curtailed(state, answers)

    def judge(self, x: Answers) -> Judged:
        out = [self.ask(row) for row in x]
        return _judge([n for n, _ in out], [a for _, a in out], x)


def _curtailed(state: State, answers: Answers) -> tuple[int, bool]:
    """The raw tree's fallback for answers it never saw: the rest of the form, deterministically curtailed."""
    asked = {j for j, _ in state}
    total, n = sum(a for _, a in state), len(state)
    for j in (j for j in range(9) if j not in asked):
        if total >= CUT or total + 3 * (9 - n) < CUT:
            break
        total, n = total + int(answers[j]), n + 1
    return n, total >= CUT


def main() -> None:
    console = Console()
    bank, rule = banks.load_bank("phq-9"), banks.default_rule("phq-9")
    codes = bank.codes
    seqn, x = banks.read_nhanes(NHANES)
    complete = (x >= 0).all(axis=1)
    even, odd = x[complete & (seqn % 2 == 0)], x[complete & (seqn % 2 == 1)]
    fold_a, fold_b = x[complete & (seqn % 4 == 0)], x[complete & (seqn % 4 == 2)]
    p_cache: dict[State, float] = {}
    run_cache: dict[tuple[State, bytes], tuple[int, bool]] = {}

    def grm(state: State) -> float:
        if state not in p_cache:
            p_cache[state] = engine.result(bank, rule, [(codes[j], a) for j, a in state]).p_above
        return p_cache[state]

    def engine_from(state: State, answers: Answers) -> tuple[int, bool]:
        key = (state, answers.tobytes())
        if key not in run_cache:
            asked = [(codes[j], a) for j, a in state]
            while (code := engine.next_item(bank, rule, asked)) is not None:
                asked.append((code, int(answers[codes.index(code)])))
            r = engine.result(bank, rule, asked)
            run_cache[key] = (len(asked), r.decision == "above")
        return run_cache[key]

    def shipped(people: Answers) -> Judged:
        out = [engine_from(((8, int(r[8])),), r) for r in people]
        return _judge([n for n, _ in out], [a for _, a in out], people)

    t0 = time.perf_counter()
    bound = Table(
        title="1. The in-sample optimum on the calibration half (even SEQN), and the same tree on the odd half"
    )
    for col in (
        "cost of a miss (items)",
        "even: mean items",
        "even: sens",
        "even: spec",
        "odd: mean items",
        "odd: sens",
        "odd: spec",
    ):
        bound.add_column(col, justify="right")
    for miss in (100.0, 200.0, 400.0, 1000.0):
        tree = Tree(even, miss)
        a, b = tree.judge(even), tree.judge(odd)
        bound.add_row(
            f"{miss:.0f}",
            *(f"{v:.3f}" for v in (a.items, a.sensitivity, a.specificity)),
            *(f"{v:.3f}" for v in (b.items, b.sensitivity, b.specificity)),
        )
    s = shipped(even)
    bound.add_row("shipped engine", *(f"{v:.3f}" for v in (s.items, s.sensitivity, s.specificity)), "", "", "")
    console.print(bound)

    cv = Table(title="2. Smoothed tree with the engine behind it: two-fold cross-validation inside the even half")
    for col in ("miss", "k", "m", "fold 0->2: items", "sens", "spec", "fold 2->0: items", "sens", "spec"):
        cv.add_column(col, justify="right")
    for miss in (200.0, 400.0, 800.0, 1600.0):
        for k, m in ((30.0, 1), (100.0, 10), (100.0, 30)):
            cells = []
            for fit, judge in ((fold_a, fold_b), (fold_b, fold_a)):
                j = Tree(fit, miss, prior=grm, k=k, hand_over=engine_from, m=m).judge(judge)
                cells += [f"{j.items:.2f}", f"{j.sensitivity:.3f}", f"{j.specificity:.3f}"]
            cv.add_row(f"{miss:.0f}", f"{k:.0f}", str(m), *cells)
    sa, sb = shipped(fold_b), shipped(fold_a)
    cv.add_row(
        "shipped engine",
        "",
        "",
        f"{sa.items:.2f}",
        f"{sa.sensitivity:.3f}",
        f"{sa.specificity:.3f}",
        f"{sb.items:.2f}",
        f"{sb.sensitivity:.3f}",
        f"{sb.specificity:.3f}",
    )
    console.print(cv)
    console.print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
