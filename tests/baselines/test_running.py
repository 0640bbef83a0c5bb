"""The running baseline as a pure estimator: judged against earlier results only, then updated."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.baselines import settings as baseline_settings
from idiograph.baselines.normal_normal import PersonSums, Prior
from idiograph.baselines.running import RunningBaseline, reason
from idiograph.observations.catalogue import CodeDef

HB = CodeDef("http://loinc.org", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/L", "lab", 0, 300)
STEPS = CodeDef("http://loinc.org", "55423-8", "Number of steps", "/d", "device", 0, 100000, "log")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CFG = baseline_settings.load()


def test_a_point_departure_by_hand() -> None:
    # Prior m0 140, tau2 100, sigma2 9; one earlier result of 140: predictive mean
    # (9*140 + 100*140)/(9 + 100) = 140, variance 9 + 9*100/109 = 17.257, sd 4.154; 99% limits 140 -+ 10.70.
    prior = Prior(140.0, 100.0, 9.0)
    st_ = RunningBaseline()
    assert st_.update(HB, prior, T0, 140.0, "point", CFG) is None
    assert st_.update(HB, prior, T0 + timedelta(days=30), 150.0, "point", CFG) is None  # inside 129.3-150.7
    late = RunningBaseline(1, 140.0, 140.0**2, T0, 140.0)
    d = late.update(HB, prior, T0 + timedelta(days=30), 151.0, "point", CFG)
    assert d is not None and d.rule == "point" and d.detail["side"] == "above"
    assert math.isclose(float(str(d.detail["upper"])), 140 + 2.5758 * math.sqrt(9 + 900 / 109), abs_tol=0.01)
    assert "151 g/L on 31 Jan 2026 is above the usual range for this person (129.3 to 150.7 g/L" in reason(d)
    assert "99% interval" in str(d.detail["workings"])  # the method's numbers one click away, not the headline
    assert (late.n, late.latest_value) == (2, 151.0)  # added after being judged


def test_the_ewma_starts_after_the_baseline_results_and_restarts_after_a_signal() -> None:
    st_ = RunningBaseline()
    n0 = CFG.ewma.baseline_results
    for k in range(n0):
        assert st_.update(STEPS, None, T0 + timedelta(days=k), 8000.0 * (1.1 if k % 2 else 0.9), "ewma", CFG) is None
    assert st_.ewma_mu0 is not None and st_.ewma_sigma is not None and st_.ewma_sigma > 0
    found = None
    k = n0
    while found is None and k < n0 + 60:
        found = st_.update(STEPS, None, T0 + timedelta(days=k), 4000.0, "ewma", CFG)
        k += 1
    assert found is not None and found.rule == "ewma" and found.detail["direction"] == "down"
    assert (st_.ewma_z, st_.ewma_v) == (0.0, 0.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(50, 200), min_size=1, max_size=40))
def test_the_sums_are_the_results_sums(values: list[float]) -> None:
    st_ = RunningBaseline()
    for i, v in enumerate(values):
        st_.update(HB, Prior(140.0, 100.0, 9.0), T0 + timedelta(days=i), v, "point", CFG)
    want = PersonSums.of(values)
    assert st_.n == want.n and math.isclose(st_.total, want.total) and math.isclose(st_.total_sq, want.total_sq)
