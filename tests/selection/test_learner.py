"""The doubly robust learner against a known model: confounded allocation is undone, intervals cover what they
claim, the pieces agree with each other, a kept model predicts the same, and bad input is named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idiograph.errors import InvalidInput
from idiograph.selection.learner import OptionsLearner, _weighted_quantiles
from tests.selection.simulated import OPTIONS, episodes


@pytest.fixture(scope="module")
def fitted() -> tuple[OptionsLearner, object]:
    train = episodes(20000, seed=11)
    model = OptionsLearner(lower_is_better=True, seed=11).fit(
        train.data, list(train.data), train.received, train.outcome, reference="cbt"
    )
    return model, episodes(4000, seed=12)


def _col(model: OptionsLearner, option: str) -> int:
    return model.options_.index(option)


def test_confounded_allocation_is_undone(fitted) -> None:  # type: ignore[no-untyped-def]
    """Stepped care gives gsh to the mild: its raw mean outcome flatters it; the learner's average does not."""
    model, test = fitted
    train = episodes(20000, seed=11)
    received = np.array(train.received)
    naive = train.outcome[received == "gsh"].mean() - train.outcome[received == "cbt"].mean()
    truth = (test.expected[:, 2] - test.expected[:, 0]).mean()
    estimated = model.predict(test.data).effect[:, _col(model, "gsh")].mean()
    assert abs(naive - truth) > 3  # the naive comparison is badly wrong here
    assert abs(estimated - truth) < 0.35


def test_effect_intervals_cover_the_true_expected_effect(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    p = model.predict(test.data)
    for option, j in (("counselling", 1), ("gsh", 2)):
        truth = test.expected[:, j] - test.expected[:, 0]
        c = _col(model, option)
        covered = (p.effect_lower[:, c] <= truth) & (truth <= p.effect_upper[:, c])
        assert covered.mean() >= 0.9, (option, covered.mean())
        # an interval for the expected effect: far narrower than the range one person's observed difference has
        width = np.median(p.effect_upper[:, c] - p.effect_lower[:, c])
        noise = (test.potential[:, j] - test.potential[:, 0]) - truth
        spread = np.quantile(noise, 0.975) - np.quantile(noise, 0.025)
        assert width < 0.6 * spread, (width, spread)


def test_outcome_intervals_cover_observed_outcomes_under_every_option(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    p = model.predict(test.data)
    for j, option in enumerate(OPTIONS):
        c = _col(model, option)
        y = test.potential[:, j]
        covered = (p.outcome_lower[:, c] <= y) & (y <= p.outcome_upper[:, c])
        assert 0.93 <= covered.mean() <= 0.985, (option, covered.mean())


def test_the_pieces_agree(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    p = model.predict(test.data)
    ref = _col(model, "cbt")
    assert np.allclose(p.effect, p.outcome - p.outcome[:, [ref]])
    assert np.all(p.effect[:, ref] == 0) and np.all(p.effect_lower[:, ref] == 0)
    assert np.all(p.outcome_lower <= p.outcome + 1e-9) and np.all(p.outcome <= p.outcome_upper + 1e-9)
    assert np.all(p.effect_lower <= p.effect) and np.all(p.effect <= p.effect_upper)
    best = [model.options_[i] for i in np.argmin(p.outcome, axis=1)]  # lower is better here
    assert p.recommended == best


def test_a_kept_model_predicts_the_same(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    body = json.loads(json.dumps(model.to_dict()))
    again = OptionsLearner.from_dict(body)
    a, b = model.predict(test.data), again.predict(test.data)
    for name in ("outcome", "outcome_lower", "outcome_upper", "effect", "effect_lower", "effect_upper", "support"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.recommended == b.recommended and body["version"] == again.to_dict()["version"]
    with pytest.raises(InvalidInput, match="not an idiograph treatment-selection model"):
        OptionsLearner.from_dict({"format": "pickle"})


def test_support_is_thin_where_few_like_this_person_received_the_option(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    severe = {k: (np.array([3.0]) if k == "severity" else v[:1]) for k, v in test.data.items()}
    severe["group"] = ["a"]
    p = model.predict(severe)
    c_gsh, c_cbt = _col(model, "gsh"), _col(model, "cbt")
    assert p.support[0, c_gsh] < p.support[0, c_cbt] / 10


def test_missing_and_unseen_values_are_handled(fitted) -> None:  # type: ignore[no-untyped-def]
    model, _ = fitted
    odd = {
        "severity": np.array([0.5, np.nan]),
        "chronic": np.array([1.0, 0.0]),
        "age": np.array([200.0, 30.0]),  # beyond anything seen: held at the edge
        "group": ["z", None],
        "duration": np.array([np.nan, 4.0]),
    }
    p = model.predict(odd)
    assert np.isfinite(p.outcome).all() and np.isfinite(p.effect_upper).all()


def test_bad_input_is_named() -> None:
    train = episodes(300, seed=3)
    learner = OptionsLearner(seed=3)
    cols = list(train.data)
    with pytest.raises(InvalidInput) as one:
        learner.fit(train.data, cols, ["cbt"] * 300, train.outcome)
    assert one.value.problems[0].field == "treatment"
    thin = list(train.received)
    thin[:5] = ["art"] * 5
    with pytest.raises(InvalidInput, match=r"art \(5\)"):
        learner.fit(train.data, cols, thin, train.outcome)
    with pytest.raises(InvalidInput) as ref:
        learner.fit(train.data, cols, train.received, train.outcome, reference="dance")
    assert ref.value.problems[0].field == "reference"
    words = [str(v) for v in train.outcome]
    words[7] = "high"
    with pytest.raises(InvalidInput) as out:
        learner.fit(train.data, cols, train.received, words)
    assert out.value.problems[0].field == "outcome[7]"
    with pytest.raises(InvalidInput, match="coverage"):
        OptionsLearner(coverage=1.2)


def test_rows_without_an_option_or_outcome_are_left_out_and_counted() -> None:
    train = episodes(600, seed=4)
    received: list[str | None] = list(train.received)
    outcome = train.outcome.copy()
    received[0], outcome[1] = None, np.nan
    model = OptionsLearner(seed=4, folds=3).fit(train.data, list(train.data), received, outcome)
    assert model.dropped_ == 2 and model.n_ == 598
    assert model.reference_ == max(OPTIONS, key=lambda o: (train.received.count(o), o))


def test_weighted_quantiles_by_hand() -> None:
    scores = np.array([4.0, 1.0, 3.0, 2.0])
    weights = np.array([1.0, 1.0, 1.0, 1.0])
    # cumulative weight after sorting: 0.25, 0.5, 0.75, 1.0
    assert _weighted_quantiles(scores, weights, np.array([0.2, 0.5, 0.51, 1.0])).tolist() == [1.0, 2.0, 3.0, 4.0]
    heavy = np.array([1.0, 1.0, 1.0, 5.0])  # the score 2.0 carries 5/8
    assert _weighted_quantiles(scores, heavy, np.array([0.3, 0.8, 0.9])).tolist() == [2.0, 3.0, 4.0]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(150, 300), coverage=st.sampled_from([0.8, 0.9, 0.95]))
def test_any_table_gives_ordered_intervals_within_the_outcome_range(seed: int, n: int, coverage: float) -> None:
    train = episodes(n, seed, confounding=0.5)
    model = OptionsLearner(seed=seed, folds=3, coverage=coverage).fit(
        train.data, list(train.data), train.received, train.outcome
    )
    p = model.predict(episodes(50, seed + 1).data)
    low, high = train.outcome.min(), train.outcome.max()
    # within the observed range, unless the expected outcome itself lies beyond it (a linear fit can)
    assert np.all(p.outcome_lower >= np.minimum(low, p.outcome)) and np.all(
        p.outcome_upper <= np.maximum(high, p.outcome)
    )
    assert np.all(p.outcome_lower <= p.outcome_upper) and np.all(p.effect_lower <= p.effect_upper)
    assert set(p.recommended) <= set(OPTIONS) and p.support.min() >= 0


def test_a_contrast_against_any_option_agrees_with_the_reference_one(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    p = model.predict(test.data)
    g, c = _col(model, "gsh"), _col(model, "counselling")
    effect, lower, upper = model.contrast(test.data, "gsh", "cbt")
    assert np.allclose(effect, p.effect[:, g]) and np.allclose(lower, p.effect_lower[:, g])
    assert np.allclose(upper, p.effect_upper[:, g])
    between, low, high = model.contrast(test.data, "gsh", "counselling")
    assert np.allclose(between, p.effect[:, g] - p.effect[:, c]) and np.all(low < between) and np.all(between < high)
    # the interval of a difference against the true difference of expected effects
    truth = test.expected[:, 2] - test.expected[:, 1]
    assert np.mean((low <= truth) & (truth <= high)) >= 0.9
    assert np.allclose(model.contrast(test.data, "cbt", "cbt")[0], 0)


def test_expected_outcomes_are_close_to_the_truth_under_every_option(fitted) -> None:  # type: ignore[no-untyped-def]
    """The levels m(x) + tau_o(x) - sum_t e_t(x) tau_t(x): dropping the last term doubles the error (checked)."""
    model, test = fitted
    p = model.predict(test.data)
    for j, option in enumerate(OPTIONS):
        error = p.outcome[:, _col(model, option)] - test.expected[:, j]
        assert np.sqrt(np.mean(error**2)) < 1.4, option  # outcome noise SD is 3.4 PHQ-9 points


def test_the_weights_carry_the_outcome_interval_to_people_unlike_those_who_received_the_option() -> None:
    """Option a is given to the mild, whose outcomes scatter less: unweighted scores would cover about 90% of the
    whole population under a (checked); weighting each score by 1/e restores 95%."""

    def make(n: int, seed: int) -> tuple[dict[str, np.ndarray], list[str], np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        severity = rng.normal(0, 1, n)
        given_a = rng.random(n) < 1 / (1 + np.exp(1.5 * severity))
        scatter = np.where(severity > 0, 4.0, 1.0)
        y_a = 10 + 2 * severity + rng.normal(0, 1, n) * scatter
        y_b = 9 + 2 * severity + rng.normal(0, 1, n) * scatter
        return {"severity": severity}, ["a" if g else "b" for g in given_a], np.where(given_a, y_a, y_b), y_a

    data, received, y, _ = make(8000, 1)
    model = OptionsLearner(seed=1, folds=3).fit(data, ["severity"], received, y)
    test, _, _, y_a = make(8000, 2)
    p = model.predict(test)
    a = model.options_.index("a")
    assert np.mean((p.outcome_lower[:, a] <= y_a) & (y_a <= p.outcome_upper[:, a])) >= 0.94


def test_an_outcome_of_another_length_is_named() -> None:
    train = episodes(200, seed=6)
    with pytest.raises(InvalidInput) as exc:
        OptionsLearner(seed=6).fit(train.data, list(train.data), train.received, train.outcome[:-1])
    assert exc.value.problems[0].field == "outcome"


def test_options_without_enough_similar_episodes_get_no_numbers(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    p = model.predict(test.data, min_support=1500)
    thin = p.support < 1500
    assert thin.any() and not thin.all()
    assert np.isnan(p.outcome[thin]).all() and not np.isnan(p.outcome[~thin]).any()
    ref = _col(model, "cbt")
    assert np.isnan(p.effect[thin[:, ref]]).all()  # a reference without support: no effects at all
    for row, best in enumerate(p.recommended):
        shown = [o for j, o in enumerate(model.options_) if not thin[row, j]]
        assert best == (min(shown, key=lambda o: p.outcome[row, _col(model, o)]) if shown else None)
    assert model.predict(test.data, min_support=10**9).recommended == [None] * len(p.recommended)


def _folds(x: np.ndarray, y: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folds = np.arange(y.size) % k
    gram = np.stack([x[folds == f].T @ x[folds == f] for f in range(k)])
    cross = np.stack([x[folds == f].T @ y[folds == f] for f in range(k)])
    yy = np.array([y[folds == f] @ y[folds == f] for f in range(k)])
    return gram, cross, yy


def test_the_ridge_penalty_is_chosen_by_held_out_error_none_for_signal_much_for_noise() -> None:
    from idiograph.selection.learner import PENALTIES, _penalised, _ridge_cv

    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(400), rng.normal(size=(400, 8))])
    d = _penalised(9, 1)
    assert d[0, 0] == 0 and d[1, 1] == 1  # the intercept is never shrunk
    strong = x @ np.r_[1.0, np.linspace(-3, 3, 8)] + rng.normal(0, 0.01, 400)
    assert _ridge_cv(*_folds(x, strong), d) == 0.0  # the data carry the shape exactly: no shrinkage
    noise = 1.0 + rng.normal(0, 5, 400)  # nothing to learn beyond the mean
    scale = float(np.trace(_folds(x, noise)[0].sum(axis=0))) / 9
    assert _ridge_cv(*_folds(x, noise), d) >= PENALTIES[-3] * scale  # among the heaviest on the grid
    # the chosen penalty has the least held-out error of the grid (checked by brute force)
    y = x @ np.r_[0.0, 0.3, *np.zeros(7)] + rng.normal(0, 2, 400)
    gram, cross, yy = _folds(x, y)
    scale = float(np.trace(gram.sum(axis=0))) / 9

    def loss(c: float) -> float:
        total = 0.0
        for f in range(5):
            theta = np.linalg.pinv(gram.sum(0) - gram[f] + c * scale * d) @ (cross.sum(0) - cross[f])
            total += yy[f] - 2 * theta @ cross[f] + theta @ gram[f] @ theta
        return total

    best = min(PENALTIES, key=loss)
    assert _ridge_cv(gram, cross, yy, d) == pytest.approx(best * scale)


def test_the_basis_has_no_more_coefficients_than_a_tenth_of_the_rarest_options_episodes() -> None:
    from idiograph.selection.learner import PER_PARAMETER, _fitting_design

    data = episodes(3000, seed=5).data
    names = list(data)
    rich, knots = _fitting_design(data, names, 5, 10**6)
    assert knots == 5
    middle, knots = _fitting_design(data, names, 5, PER_PARAMETER * rich.width - 1)  # one short of the rich basis
    assert knots == 3 and middle.width < rich.width
    straight, knots = _fitting_design(data, names, 5, 10)
    assert knots == 0 and straight.width < middle.width
    small = episodes(600, seed=6)
    model = OptionsLearner(seed=1).fit(small.data, names, small.received, small.outcome)
    assert model.knots_ < 5  # 600 episodes cannot carry the full basis


def test_the_effect_interval_contains_the_unpenalised_estimate_and_the_penalised_one(fitted) -> None:  # type: ignore[no-untyped-def]
    _, test = fitted
    small = episodes(800, seed=21)
    shrunk = OptionsLearner(seed=2).fit(small.data, list(small.data), small.received, small.outcome, reference="cbt")
    assert shrunk.penalty_ > 0  # 800 episodes: the cross-validated penalty shrinks
    p = shrunk.predict(test.data)
    basis = shrunk.design_.matrix(test.data)
    unpenalised = basis @ shrunk.theta_ols_
    assert not np.allclose(unpenalised, p.effect)  # the two differ, so containing both means something
    assert np.all(p.effect_lower <= np.minimum(p.effect, unpenalised) + 1e-9)
    assert np.all(p.effect_upper >= np.maximum(p.effect, unpenalised) - 1e-9)


def test_what_moved_the_expected_score_adds_up_and_names_the_covariate_that_drives_it(fitted) -> None:  # type: ignore[no-untyped-def]
    model, test = fitted
    rows = {name: col[:50] for name, col in test.data.items()}
    basis = model.design_.matrix(rows)
    for option in model.options_:
        beta = model.gamma_ + model.theta_[:, model.options_.index(option)]
        moved = model.level_drivers(rows, option)
        assert np.allclose([sum(m.values()) for m in moved], (basis - model.basis_mean_) @ beta)
        # the simulation's outcome is driven by severity (4 points per SD): it leads for the most severe
        worst = int(np.argmax(np.abs(np.asarray(rows["severity"], dtype=float))))
        assert max(moved[worst], key=lambda k: abs(moved[worst][k])) == "severity"
