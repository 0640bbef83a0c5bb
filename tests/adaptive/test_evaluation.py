"""Judging the adaptive form: curtailment by hand, the summary's rates, and `adaptive evaluate` end to end on a
small file drawn from the bank's own model (thresholds chosen on one SEQN half, reported on the other)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from idiograph.adaptive import banks
from idiograph.adaptive.grm import sample
from idiograph.cli import app
from idiograph.evaluation import adaptive as ev


def _patterns(n: int, seed: int) -> np.ndarray:
    bank = banks.load_bank("phq-9")
    rng = np.random.default_rng(seed)
    return sample(list(bank.items), rng.normal(0.6, 1.0, n), rng)


def test_deterministic_curtailment_always_gives_the_full_forms_decision() -> None:
    bank = banks.load_bank("phq-9")
    for row in _patterns(60, 1):
        answers = dict(zip(bank.codes, map(int, row), strict=True))
        trace = ev.fixed_trace(bank, 10, answers)
        out = ev.deterministic(trace, 10)
        assert out.above == (int(row.sum()) >= 10)
        assert 1 <= out.items <= 9
        assert ev.full_form(trace, 10).items == 9 and ev.full_form(trace, 10).estimate == float(row.sum())


def test_curtailment_stops_where_the_sum_settles_it() -> None:
    bank = banks.load_bank("phq-9")
    order = ev.fixed_order(bank)
    assert order[0] == "44260-8" and sorted(order) == sorted(bank.codes)
    threes = dict.fromkeys(bank.codes, 3)
    assert ev.deterministic(ev.fixed_trace(bank, 10, threes), 10).items == 4  # 3 + 3 + 3 + 3 = 12 >= 10
    zeros = dict.fromkeys(bank.codes, 0)
    # after k zeros, 3 x (9 - k) < 10 once k >= 6
    assert ev.deterministic(ev.fixed_trace(bank, 10, zeros), 10).items == 6


def test_summary_rates_by_hand() -> None:
    # 4 people: totals 12, 11, 3, 2; decisions above, below, below, above
    outs = [ev.Outcome(3, True, 12.0, 9, 15), ev.Outcome(4, False, 8.0, 5, 12)]
    outs += [ev.Outcome(2, False, 3.0, 0, 6), ev.Outcome(5, True, 6.0, 3, 9)]
    s = ev.summarise("m", "", outs, [12, 11, 3, 2], 10)
    assert (s.true_positives, s.positives, s.true_negatives, s.negatives) == (1, 2, 1, 2)
    assert s.sensitivity == 0.5 and s.specificity == 0.5 and s.agreement == 0.5
    assert s.kappa == pytest.approx(0.0)  # 2 said above of 4, 2 truly above: chance agreement 0.5
    assert s.mean_items == 3.5 and s.median_items == 3.5
    assert s.mae == pytest.approx((0 + 3 + 0 + 4) / 4)
    assert s.coverage == pytest.approx(0.75)  # 12 in 9-15, 11 in 5-12, 3 in 0-6; 2 not in 3-9
    lo, hi = s.sensitivity_interval()
    assert lo < 0.5 < hi


def test_choose_takes_the_fewest_items_that_reach_the_floor() -> None:
    def fake(c: float) -> ev.Summary:
        sens_k = {0.9: 90, 0.95: 97, 0.99: 99}[c]
        items = {0.9: 2.0, 0.95: 3.0, 0.99: 4.0}[c]
        return ev.Summary("", "", 200, items, items, 100, sens_k, 100, 99, 0.0, 0.0, 1.0)

    assert ev.choose((0.9, 0.95, 0.99), fake, 0.965)[0] == 0.95
    assert ev.choose((0.9, 0.95, 0.99), fake, 0.995)[0] == 0.99  # none reaches it: the best lesser of the two


def test_evaluate_chooses_on_one_half_and_reports_the_other(tmp_path: Path) -> None:
    x = _patterns(160, 3)
    src = tmp_path / "dpq.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["SEQN", *banks.NHANES_COLUMNS])
        for i, row in enumerate(x):
            w.writerow([200000 + i, *row.tolist()])
    md = tmp_path / "table.md"
    res = CliRunner().invoke(app, ["adaptive", "evaluate", "--responses", str(src), "--markdown", str(md)])
    assert res.exit_code == 0, res.output
    text = md.read_text(encoding="utf-8")
    assert "odd SEQN: 80 complete respondents" in text and "thresholds chosen on even SEQN (80)" in text
    for method in ("full form", "deterministic curtailment", "stochastic curtailment", "adaptive, SE stopping"):
        assert f"| {method} |" in text
    assert "| adaptive, classification |" in text and "Calibration split (even SEQN)" in text
    assert "in-sample" not in res.output
    res = CliRunner().invoke(app, ["adaptive", "evaluate", "--responses", str(src), "--judge", "even"])
    assert res.exit_code == 0 and "judges in-sample" in res.output  # the shipped bank was fitted on even SEQN
