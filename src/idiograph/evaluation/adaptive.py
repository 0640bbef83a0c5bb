"""Judging adaptive assessment on real answer patterns (issue 18): replay complete PHQ-9 forms through the engine
and through the obvious alternatives, against the full-form total at the cut (pure, mypy --strict).

Methods compared, all asking the safety item first:
- full form: all items (the reference: sensitivity and specificity 1 by definition);
- deterministic curtailment: the fixed form in its printed order, stopped as soon as the answered sum reaches the
  cut or can no longer reach it (the decision is always the full form's; Finkelman et al. 2011);
- stochastic curtailment: the fixed order, stopped once the GRM's posterior predictive P(total >= cut) or
  P(total < cut) reaches gamma (Finkelman, Smits, Kim & Riley 2012, with the same model as the engine, so the
  difference from the adaptive form is the choice of items alone);
- adaptive, SE stopping: most information at the EAP, stopped at posterior SD <= se;
- adaptive, classification stopping: the engine's look-ahead, stopped at ``confidence``.
Thresholds (gamma, se, confidence) are chosen on the calibration split only and reported on the judging split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from idiograph.adaptive.engine import Bank, Result, Rule, next_item, result
from idiograph.methods.proportions import wilson

Answers = Mapping[str, int]


def fixed_order(bank: Bank) -> tuple[str, ...]:
    """The printed form's order with the always-asked items first (PHQ-9: item 9, then items 1 to 8)."""
    return (*bank.always, *(c for c in bank.codes if c not in bank.always))


def replay(bank: Bank, rule: Rule, answers: Answers) -> Result:
    """One complete answer pattern through the engine until it stops."""
    asked: list[tuple[str, int]] = []
    while (code := next_item(bank, rule, asked)) is not None:
        asked.append((code, int(answers[code])))
    return result(bank, rule, asked)


def fixed_trace(bank: Bank, cut: int, answers: Answers) -> list[Result]:
    """The fixed form answered in order, with the model's result after each answer (the path of both curtailments)."""
    rule = Rule(stop="length", cut=cut, max_items=len(bank.codes))
    asked: list[tuple[str, int]] = []
    out: list[Result] = []
    for code in fixed_order(bank):
        asked.append((code, int(answers[code])))
        out.append(result(bank, rule, asked))
    return out


def se_trace(bank: Bank, cut: int, answers: Answers) -> list[Result]:
    """The adaptive form by most information at the EAP to the end: SE stopping at any threshold is a prefix of it
    (the choice of item never looks at the threshold)."""
    rule = Rule(stop="length", cut=cut, max_items=len(bank.codes))
    asked: list[tuple[str, int]] = []
    out: list[Result] = []
    while (code := next_item(bank, rule, asked)) is not None:
        asked.append((code, int(answers[code])))
        out.append(result(bank, rule, asked))
    return out


@dataclass(frozen=True)
class Outcome:
    """One respondent under one method: items asked, the decision, the estimated total and its interval."""

    items: int
    above: bool
    estimate: float
    lower: float
    upper: float


def deterministic(trace: Sequence[Result], cut: int) -> Outcome:
    n_items = len(trace)
    for i, r in enumerate(trace):
        answered = sum(r.answers)
        can_reach = answered + 3 * (n_items - i - 1) >= cut  # every remaining item at its top answer
        if answered >= cut or not can_reach or i == n_items - 1:
            return Outcome(i + 1, answered >= cut, r.estimate, r.lower, r.upper)
    raise ValueError("empty trace")


def full_form(trace: Sequence[Result], cut: int) -> Outcome:
    last = trace[-1]
    total = float(sum(last.answers))
    return Outcome(len(trace), total >= cut, total, total, total)


def stochastic(trace: Sequence[Result], gamma: float) -> Outcome:
    for i, r in enumerate(trace):
        if max(r.p_above, 1.0 - r.p_above) >= gamma or i == len(trace) - 1:
            return Outcome(i + 1, r.p_above >= 0.5, r.estimate, r.lower, r.upper)
    raise ValueError("empty trace")


def by_se(trace: Sequence[Result], se: float) -> Outcome:
    for i, r in enumerate(trace):
        if r.se <= se or i == len(trace) - 1:
            return Outcome(i + 1, r.p_above >= 0.5, r.estimate, r.lower, r.upper)
    raise ValueError("empty trace")


def of_result(r: Result) -> Outcome:
    return Outcome(len(r.asked), r.decision == "above", r.estimate, r.lower, r.upper)


@dataclass(frozen=True)
class Summary:
    method: str
    setting: str
    n: int
    mean_items: float
    median_items: float
    positives: int
    true_positives: int
    negatives: int
    true_negatives: int
    mae: float  # mean absolute error of the estimated full-form total
    rmse: float
    coverage: float  # share of full-form totals inside the 95% interval

    @property
    def sensitivity(self) -> float:
        return self.true_positives / self.positives if self.positives else math.nan

    @property
    def specificity(self) -> float:
        return self.true_negatives / self.negatives if self.negatives else math.nan

    @property
    def agreement(self) -> float:
        return (self.true_positives + self.true_negatives) / self.n if self.n else math.nan

    @property
    def kappa(self) -> float:
        """Cohen's kappa between the method's decision and the full form's."""
        n = self.n
        if not n:
            return math.nan
        said_above = self.true_positives + (self.negatives - self.true_negatives)
        chance = (self.positives * said_above + self.negatives * (n - said_above)) / (n * n)
        return (self.agreement - chance) / (1 - chance) if chance < 1 else math.nan

    def sensitivity_interval(self) -> tuple[float, float]:
        return wilson(self.true_positives, self.positives) if self.positives else (math.nan, math.nan)

    def specificity_interval(self) -> tuple[float, float]:
        return wilson(self.true_negatives, self.negatives) if self.negatives else (math.nan, math.nan)


def summarise(method: str, setting: str, outcomes: Sequence[Outcome], totals: Sequence[int], cut: int) -> Summary:
    items = np.array([o.items for o in outcomes], dtype=np.float64)
    said = np.array([o.above for o in outcomes], dtype=bool)
    truth = np.array(totals, dtype=np.int64) >= cut
    est = np.array([o.estimate for o in outcomes], dtype=np.float64)
    lo = np.array([o.lower for o in outcomes], dtype=np.float64)
    hi = np.array([o.upper for o in outcomes], dtype=np.float64)
    total = np.array(totals, dtype=np.float64)
    err = est - total
    return Summary(
        method=method,
        setting=setting,
        n=len(outcomes),
        mean_items=float(items.mean()),
        median_items=float(np.median(items)),
        positives=int(truth.sum()),
        true_positives=int((said & truth).sum()),
        negatives=int((~truth).sum()),
        true_negatives=int((~said & ~truth).sum()),
        mae=float(np.abs(err).mean()),
        rmse=float(np.sqrt((err**2).mean())),
        coverage=float(((lo <= total) & (total <= hi)).mean()),
    )


def meets(s: Summary, floor: float) -> bool:
    return s.sensitivity >= floor and s.specificity >= floor


def choose(candidates: Iterable[float], judge: Callable[[float], Summary], floor: float) -> tuple[float, list[Summary]]:
    """The threshold with the fewest mean items whose sensitivity and specificity both reach ``floor`` (on the
    calibration split); when none does, the one with the highest lesser of the two. Returns it and every try."""
    tried = [(c, judge(c)) for c in candidates]
    good = [(s.mean_items, i) for i, (_, s) in enumerate(tried) if meets(s, floor)]
    if good:
        return tried[min(good)[1]][0], [s for _, s in tried]
    best = max(range(len(tried)), key=lambda i: min(tried[i][1].sensitivity, tried[i][1].specificity))
    return tried[best][0], [s for _, s in tried]


def classification_rule(rule: Rule, confidence: float) -> Rule:
    return replace(rule, stop="classification", confidence=confidence)
