"""Therapist strengths (empirical Bayes, H-100): a hand-computed case, no spread when therapists do not differ,
shrinkage and classes as properties, and a seeded simulation where the between-therapist SD is recovered and the
95% intervals cover the true effects about 95% of the time."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy.stats import binom

from idiograph.matching.settings import Settings
from idiograph.matching.settings import settings as matching_settings
from idiograph.matching.strengths import Outcome, estimate

PROPS = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def _outcomes(domain: str, groups: dict[str, list[float]]) -> list[Outcome]:
    return [Outcome(c, domain, b) for c, values in groups.items() for b in values]


def test_two_therapists_by_hand() -> None:
    """Benefits [1, 3] and [-1, 1]: sigma2 = (2 + 2) / (4 - 2) = 2; w = n / sigma2 = 1 each, mu_fixed = 1,
    Q = 2, c = 2 - 2/2 = 1, tau2 = (Q - 1) / c = 1; v = 1 + 2/2 = 2, B = 1/2, mu = 1, var(mu) = 1;
    strengths +-0.5, variance 0.5 * 2 / 2 + 0.25 * 1 = 0.75."""
    found, summaries = estimate(_outcomes("depression", {"a": [1, 3], "b": [-1, 1]}), min_cases=2)
    a, b = found
    assert (a.clinician_id, b.clinician_id) == ("a", "b")
    assert a.strength == pytest.approx(0.5) and b.strength == pytest.approx(-0.5)
    assert a.raw == pytest.approx(1.0) and b.raw == pytest.approx(-1.0)
    assert a.se == pytest.approx(math.sqrt(0.75)) and b.se == pytest.approx(math.sqrt(0.75))
    z = 1.959963984540054
    assert (a.lower, a.upper) == pytest.approx((0.5 - z * math.sqrt(0.75), 0.5 + z * math.sqrt(0.75)))
    assert a.klass == b.klass == "neutral" and a.n == b.n == 2
    (s,) = summaries
    assert (s.domain, s.therapists, s.episodes) == ("depression", 2, 4)
    assert s.mean == pytest.approx(1.0)
    assert s.within_sd == pytest.approx(math.sqrt(2.0)) and s.between_sd == pytest.approx(1.0)


def test_no_difference_between_therapist_means_gives_no_strengths() -> None:
    found, summaries = estimate(_outcomes("anxiety", {"a": [0, 2, 4], "b": [1, 3], "c": [2, 2, 2, 2]}), min_cases=1)
    assert summaries[0].between_sd == 0.0
    assert [x.strength for x in found] == [0.0, 0.0, 0.0]
    assert {x.klass for x in found} == {"neutral"}  # at the service mean, whatever the number of cases


def test_fewer_than_min_cases_is_too_few_even_when_the_interval_excludes_the_mean() -> None:
    """A therapist far above the rest on 3 cases: the interval may exclude 0, the class still says too few."""
    groups = {f"t{i}": [float(i % 2) * 0.2 + v for v in (-1.0, 0.0, 1.0)] * 6 for i in range(10)}
    groups["star"] = [20.0, 21.0, 22.0]
    found, _ = estimate(_outcomes("depression", groups), min_cases=15)
    star = next(x for x in found if x.clinician_id == "star")
    assert star.lower > 0  # the data say so ...
    assert star.klass == "too_few"  # ... but not enough to class (H-100)
    assert {x.klass for x in found if x.clinician_id != "star"} <= {"neutral", "effective", "ineffective"}


def test_domains_are_estimated_apart_and_non_finite_benefits_ignored() -> None:
    found, summaries = estimate(
        _outcomes("depression", {"a": [1, 3], "b": [-1, 1]})
        + _outcomes("anxiety", {"a": [5, 5], "b": [5, 5]})
        + [Outcome("a", "depression", float("nan")), Outcome("b", "depression", float("inf"))],
        min_cases=2,
    )
    assert [(x.domain, x.clinician_id) for x in found] == [
        ("anxiety", "a"), ("anxiety", "b"), ("depression", "a"), ("depression", "b"),
    ]  # fmt: skip
    dep = {x.clinician_id: x for x in found if x.domain == "depression"}
    assert dep["a"].strength == pytest.approx(0.5) and dep["a"].n == 2
    assert [x.strength for x in found if x.domain == "anxiety"] == [0.0, 0.0]
    assert [s.domain for s in summaries] == ["anxiety", "depression"]


groups_strategy = st.lists(
    st.lists(st.floats(-20, 20, allow_nan=False).map(lambda x: round(x, 2)), min_size=1, max_size=25),
    min_size=1,
    max_size=8,
)


@PROPS
@given(groups=groups_strategy)
def test_properties_shrinkage_classes_and_intervals(groups: list[list[float]]) -> None:
    for min_cases in sorted({len(g) for g in groups} | {len(g) + 1 for g in groups}):  # each side of every n
        _check_properties(groups, min_cases)


def _check_properties(groups: list[list[float]], min_cases: int) -> None:
    found, summaries = estimate(_outcomes("d", {f"t{i}": g for i, g in enumerate(groups)}), min_cases=min_cases)
    assert len(found) == len(groups) and len(summaries) == 1
    assert summaries[0].between_sd >= 0 and summaries[0].within_sd > 0
    for x in found:
        assert abs(x.strength) <= abs(x.raw) + 1e-9  # shrunk toward the service mean, never past it
        assert x.strength * x.raw >= -1e-12  # and never across it
        assert (x.klass == "too_few") == (x.n < min_cases)
        assert x.lower <= x.strength <= x.upper and x.se >= 0
        if x.klass == "effective":
            assert x.lower > 0
        if x.klass == "ineffective":
            assert x.upper < 0


@PROPS
@given(
    means=st.lists(st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 2)), min_size=2, max_size=8),
    n=st.integers(2, 12),
    seed=st.integers(0, 2**16),
)
def test_equal_n_therapists_keep_the_order_of_their_raw_means(means: list[float], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = {f"t{i}": list(np.round(m + rng.normal(0, 3, n), 3)) for i, m in enumerate(means)}
    found, _ = estimate(_outcomes("d", groups), min_cases=1)
    for x in found:
        for y in found:
            if x.raw < y.raw - 1e-9:
                assert x.strength <= y.strength + 1e-12
    # the same number of cases: the same uncertainty, plus (Morris, from four therapists) the uncertainty of tau2,
    # which grows with the distance from the service mean
    for x in found:
        for y in found:
            if abs(x.raw) < abs(y.raw) - 1e-9:
                assert x.se <= y.se + 1e-12
    if len(found) <= 3:
        assert len({round(x.se, 9) for x in found}) == 1


def test_simulation_recovers_the_spread_and_intervals_cover_about_95_percent() -> None:
    """k = 300 therapists, n = 20 cases each, true effects N(0, tau = 1), benefits N(2 + effect, sigma = 5): three
    seeds. Coverage of the true effect (relative to the true mean 0) must sit inside the central 99.9% binomial range
    for 900 intervals at p = 0.95 (a fixed tolerance computed from Binomial(900, 0.95), not tuned to the result)."""
    k, n, tau, sigma = 300, 20, 1.0, 5.0
    covered, total, sds = 0, 0, []
    for seed in (11, 12, 13):
        rng = np.random.default_rng(seed)
        effects = rng.normal(0.0, tau, k)
        outcomes = [
            Outcome(f"t{i:03d}", "depression", float(2.0 + effects[i] + e))
            for i in range(k)
            for e in rng.normal(0.0, sigma, n)
        ]
        found, (summary,) = estimate(outcomes, min_cases=15)
        sds.append(summary.between_sd)
        assert summary.within_sd == pytest.approx(sigma, rel=0.05)
        assert summary.mean == pytest.approx(2.0, abs=0.3)  # se of mu is about sqrt((1 + 25/20) / 300) = 0.09
        truth = {f"t{i:03d}": effects[i] - 0.0 for i in range(k)}
        # the strength is relative to the estimated mean: compare to the true effect relative to the true mean
        shift = summary.mean - 2.0
        for x in found:
            total += 1
            covered += x.lower <= truth[x.clinician_id] - shift <= x.upper
    # between SD: se of tau2 by method of moments here is about 0.2, so each seed's SD within 0.35 of the truth
    assert all(abs(s - tau) < 0.35 for s in sds), sds
    assert abs(float(np.mean(sds)) - tau) < 0.2, sds
    lo, hi = binom.ppf(0.0005, total, 0.95), binom.ppf(0.9995, total, 0.95)
    assert lo <= covered <= hi, (covered, total, lo, hi)


@pytest.mark.parametrize(("k", "seed"), [(5, 21), (10, 22), (30, 23)])
def test_intervals_keep_their_coverage_with_few_therapists(k: int, seed: int) -> None:
    """A small service: k therapists, 20 cases each, true effects N(0, 1), benefits N(2 + effect, 5), replicated to
    about 3,000 intervals. Without allowing for the error in tau2 (an estimate of 0 shrinks everyone to the mean with
    a narrow interval) the 95% intervals covered 85% here; with Morris's corrections they must cover at least the
    lower end of the central 99.9% binomial range at p = 0.95, less 0.02 (Morris's variance is approximate; fixed
    before the result was seen)."""
    rng = np.random.default_rng(seed)
    covered = total = 0
    for _ in range(3000 // k):
        effects = rng.normal(0.0, 1.0, k)
        outcomes = [
            Outcome(f"t{i:02d}", "d", float(2.0 + effects[i] + e)) for i in range(k) for e in rng.normal(0, 5, 20)
        ]
        found, (summary,) = estimate(outcomes, min_cases=15)
        shift = summary.mean - 2.0
        for x in found:
            total += 1
            covered += x.lower <= effects[int(x.clinician_id[1:])] - shift <= x.upper
    assert covered / total >= binom.ppf(0.0005, total, 0.95) / total - 0.02, (covered, total)
    assert covered / total <= 0.985, (covered, total)  # and not by intervals far too wide (0.95-0.96 measured)


@pytest.mark.parametrize(
    ("domains", "words"),
    [
        ({"depresion": "depression"}, "not presenting problems the intake offers: depresion"),
        ({"depression": "Low Mood"}, "Low Mood"),
        ({"depression": "mood_se"}, "not ending in '_se': mood_se"),
    ],
)
def test_matching_settings_refuse_unknown_problems_and_domains_no_table_can_carry(
    domains: dict[str, str], words: str
) -> None:
    """A misspelt presenting problem would leave its people with no domain; a domain ending in ``_se`` would be
    read back by ``matching solve`` as an error column and dropped."""
    with pytest.raises(ValidationError, match=re.escape(words)):
        Settings(version="x", domains=domains)
    assert matching_settings().domains  # the shipped file is valid
