"""Each option's expected outcome for a person and its advantage over a reference option, learnt from observational
episodes in which allocation was confounded (pure: numpy, scipy, scikit-learn).

Method (docs/decisions/0010-treatment-selection-learner.md says why, against the alternatives):

- Orthogonal (double machine learning) estimation, cross-fitted (Chernozhukov et al. 2018, "Double/debiased machine
  learning"; Nie & Wager 2021, "Quasi-oracle estimation of heterogeneous treatment effects"): per fold, a
  gradient-boosted model of the outcome m(x) = E[Y | x] and a multiclass model of the allocation e(x) learn on the
  other folds; then one least-squares fit of Y - m(x) on (1{T=o} - e_o(x)) B(x) for every option but the reference
  gives each effect tau_o(x) = B(x) theta_o on a spline basis of the covariates (features.py). No inverse weights:
  people rarely given an option weigh little instead of enormously.
- The interval for the effect is the series estimator's with an HC3 sandwich over all the thetas, HC1 beyond 50,000
  rows where leverages are negligible (Semenova & Chernozhukov 2021): an interval for the person's *expected*
  effect, not for one person's observed difference. It is conditional on the fitted nuisance models.
- The expected outcome under o is m(x) + tau_o(x) - sum_t e_t(x) tau_t(x), with m and e on the same basis, so the
  effect is exactly the difference of two expected outcomes.
- The interval for this person's observed outcome under o is weighted conformal in its cross-fitted (CV+-like)
  form (Tibshirani et al. 2019; Lei & Candes 2021, "Conformal inference of counterfactuals and individual treatment
  effects"; Barber et al. 2021): scores are out-of-fold residuals among those who received o, weighted by 1/e_o(x)
  from a multinomial logistic allocation model on the basis. Its coverage is marginal over the people the model is
  for, not conditional: where few people like this one received o it widens only a little (and becomes the whole
  observed range only at the extreme), so coverage there can be well below 95%; the support count, and the care
  page showing no number under 30 similar episodes, are the guard there. It carries no finite-sample guarantee.
- ``method="dr"`` keeps the doubly robust alternative (Kennedy 2023: pseudo-outcomes with clipped 1/e weights and
  per-option outcome models, each regressed on the basis) for the documented comparison; it is not the default.

Support for an option at x is the number of episodes that received it whose chance of receiving it was within a
factor of two of this person's: the overlap the numbers rest on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.special import softmax
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.selection.features import Categorical, Column, Design, Numeric, learn_design

MIN_PER_OPTION = 20
ALLOCATION_SAMPLE = 50_000  # rows the logistic allocation model (conformal weights, support) is fitted on, at most
HC3_UP_TO = 50_000  # rows up to which the sandwich uses HC3 leverages; beyond, HC1
LEVELS = 1 - np.geomspace(0.5, 1e-4, 600)  # conformal quantile levels kept in the model, dense towards 1
SUPPORT_BIN = np.log(2) / 4  # log-propensity histogram bin; support counts four bins either side (a factor of 2)
SUPPORT_LOW = np.log(1e-4)
PER_PARAMETER = 10  # episodes of the rarest option per effect coefficient before a richer basis is used
PENALTIES = (
    0.0,
    1e-3,
    1e-2,
    0.1,
    0.3,
    1.0,
    3.0,
    10.0,
    30.0,
    100.0,
)  # ridge penalties tried, times the Gram's mean diagonal
FORMAT = "idiograph.selection/1"


@dataclass(frozen=True)
class OptionsPrediction:
    """Per row and option (columns in ``options`` order): the expected outcome and the interval for the observed one,
    the expected effect against the reference with its interval (zero for the reference), the support, and the
    recommended option (the best expected outcome; docs/decisions/0010 says why not a more cautious rule)."""

    options: tuple[str, ...]
    reference: str
    outcome: np.ndarray
    outcome_lower: np.ndarray
    outcome_upper: np.ndarray
    effect: np.ndarray
    effect_lower: np.ndarray
    effect_upper: np.ndarray
    support: np.ndarray
    recommended: list[str | None]


class OptionsLearner:
    """Fit on finished episodes (covariates, the option received, the outcome); predict every option for new people.
    A statistical estimator in lifelines' manner: ``fit()`` returns self, fitted attributes end in ``_``.

    ``lower_is_better`` says which way the recommendation goes (an end PHQ-9: lower is better)."""

    def __init__(
        self,
        *,
        coverage: float = 0.95,
        folds: int = 5,
        clip: float = 0.01,
        n_knots: int = 5,
        lower_is_better: bool = False,
        seed: int = 0,
        method: str = "dml",
    ) -> None:
        if not 0.5 <= coverage < 1:
            raise InvalidInput(
                "coverage must be at least 0.5 and below 1", [FieldProblem("coverage", "not in [0.5, 1)")]
            )
        self.coverage, self.folds, self.clip, self.n_knots = coverage, folds, clip, n_knots
        if method not in ("dml", "dr"):
            raise InvalidInput(f"method {method!r} is not dml or dr", [FieldProblem("method", "not dml or dr")])
        self.lower_is_better, self.seed, self.method = lower_is_better, seed, method

    # -- fitting ---------------------------------------------------------------------------------------------------

    def fit(
        self,
        data: Mapping[str, Column],
        covariates: Sequence[str],
        treatment: Sequence[Any],
        outcome: Sequence[Any] | np.ndarray,
        reference: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Self:
        """Learn from rows with an option and an outcome (rows without either are counted in ``dropped_``)."""
        say = progress or (lambda _: None)
        t_raw = [_option(v) for v in treatment]
        y_all = _outcomes(outcome)
        if len(t_raw) != len(y_all):
            raise InvalidInput("treatment and outcome differ in length", [FieldProblem("outcome", "wrong length")])
        keep = np.array([t is not None for t in t_raw]) & ~np.isnan(y_all)
        rows = np.flatnonzero(keep)
        self.dropped_ = int(len(t_raw) - rows.size)
        t_kept = [str(t_raw[i]) for i in rows]
        options = sorted(set(t_kept))
        counts = {o: t_kept.count(o) for o in options}
        if len(options) < 2:
            raise InvalidInput(
                "treatment needs at least two options to compare", [FieldProblem("treatment", "fewer than 2 options")]
            )
        thin = {o: c for o, c in counts.items() if c < MIN_PER_OPTION}
        if thin:
            named = ", ".join(f"{o} ({c})" for o, c in sorted(thin.items()))
            raise InvalidInput(
                f"options with fewer than {MIN_PER_OPTION} episodes cannot be learnt: {named}; leave them out",
                [FieldProblem("treatment", f"too few episodes for {o}") for o in sorted(thin)],
            )
        reference = _option(reference) if reference is not None else None
        if reference is None:
            reference = max(options, key=lambda o: (counts[o], o))
        elif reference not in options:
            raise InvalidInput(
                f"reference {reference!r} is not one of the options: {', '.join(options)}",
                [FieldProblem("reference", "not an option in the treatment column")],
            )
        subset = {name: _take(data[name], rows) for name in covariates}
        y = y_all[rows]
        t = np.array([options.index(o) for o in t_kept])
        k, n = len(options), rows.size

        say("Learning the covariates' basis")
        design, self.knots_ = _fitting_design(subset, covariates, self.n_knots, min(counts.values()))
        basis = design.matrix(subset)
        raw, categorical = design.raw(subset)

        ref = options.index(reference)
        folds = np.zeros(n, dtype=int)
        for f, (_, held) in enumerate(
            StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed).split(raw, t)
        ):
            folds[held] = f
        say("Calibrating the chance of each option on the basis")
        propensity = LogisticRegression(fit_intercept=False, C=10.0, max_iter=2000)
        sample = np.arange(n)
        if n > ALLOCATION_SAMPLE:  # the weights and support need the allocation's shape, not every row's say in it
            sample = np.sort(np.random.default_rng(self.seed).choice(n, ALLOCATION_SAMPLE, replace=False))
        propensity.fit(basis[sample], t[sample])
        logits = np.zeros((k, basis.shape[1]))
        two = np.vstack([-propensity.coef_, propensity.coef_]) / 2  # sklearn keeps one row for two classes
        logits[propensity.classes_] = propensity.coef_ if k > 2 else two
        e_basis = softmax(basis @ logits.T, axis=1)

        self.theta_cov_: np.ndarray | None = None
        self.penalty_ = 0.0
        if self.method == "dr":
            gamma, theta, cov, out_of_fold = self._final_dr(basis, raw, categorical, t, y, k, ref, folds, say)
            self.theta_ols_ = theta
        else:
            gamma, theta, cov, out_of_fold = self._final_dml(basis, raw, categorical, t, y, k, ref, folds, e_basis, say)
        effect_cov = {options[j]: v for j, v in cov.items()}

        say("Calibrating the intervals for observed outcomes")
        quantiles, weight_total, support = {}, {}, {}
        for j, option in enumerate(options):
            arm = t == j
            scores = np.abs(y[arm] - out_of_fold[arm, j])
            weights = 1 / np.clip(e_basis[arm, j], 1e-6, None)
            quantiles[option] = _weighted_quantiles(scores, weights, LEVELS)
            weight_total[option] = float(weights.sum())
            support[option] = _histogram(np.log(np.clip(e_basis[arm, j], 1e-12, None)))

        self.options_, self.reference_, self.design_ = tuple(options), reference, design
        self.gamma_, self.theta_, self.effect_cov_, self.propensity_coef_ = gamma, theta, effect_cov, logits
        self.score_quantiles_, self.weight_total_, self.support_hist_ = quantiles, weight_total, support
        self.outcome_range_ = (float(y.min()), float(y.max()))
        self.n_, self.counts_ = int(n), counts
        self.basis_mean_ = basis.mean(axis=0)
        # kept for the course model fitted beside this one (course.py); not saved with the model
        self.rows_, self.out_of_fold_, self.train_propensity_ = rows, out_of_fold, e_basis
        self.overlap_ = {o: (float(e_basis[:, j].min()), float(e_basis[:, j].max())) for j, o in enumerate(options)}
        return self

    def _nuisance_settings(self, categorical: np.ndarray) -> dict[str, Any]:
        # early stopping on a held-out tenth at every size: an overfitted propensity near 0 or 1 distorts the weights
        return {
            "categorical_features": categorical if categorical.any() else None,
            "early_stopping": True,
            "random_state": self.seed,
        }

    def _final_dr(
        self,
        basis: np.ndarray,
        raw: np.ndarray,
        categorical: np.ndarray,
        t: np.ndarray,
        y: np.ndarray,
        k: int,
        ref: int,
        folds: np.ndarray,
        say: Callable[[str], None],
    ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray], np.ndarray]:
        """Doubly robust pseudo-outcomes per option, each regressed on the basis (kept for the comparison in
        docs/decisions/0010: it leans on 1/e and on per-option outcome models that extrapolate where few received
        an option)."""
        n = y.size
        mu, e = np.zeros((n, k)), np.zeros((n, k))
        settings = self._nuisance_settings(categorical)
        for f in range(self.folds):
            say(f"Fold {f + 1} of {self.folds}: outcome and allocation models")
            train, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            for j in range(k):
                arm = train[t[train] == j]
                mu[held, j] = HistGradientBoostingRegressor(**settings).fit(raw[arm], y[arm]).predict(raw[held])
            classifier = HistGradientBoostingClassifier(**settings).fit(raw[train], t[train])
            e[np.ix_(held, classifier.classes_)] = classifier.predict_proba(raw[held])
        e = np.clip(e, self.clip, 1.0)
        phi = mu + (t[:, None] == np.arange(k)[None, :]) * (y[:, None] - mu) / e
        say("Final stage: every option's expected outcome on the basis")
        gram_inv = np.linalg.pinv(basis.T @ basis)
        coef = gram_inv @ basis.T @ phi  # p x k
        leverage = np.einsum("ij,jk,ik->i", basis, gram_inv, basis)
        cov: dict[int, np.ndarray] = {}
        for j in range(k):
            if j == ref:
                continue
            resid = phi[:, j] - phi[:, ref] - basis @ (coef[:, j] - coef[:, ref])
            scaled = basis * (resid / np.clip(1 - leverage, 1e-6, None))[:, None]
            cov[j] = gram_inv @ (scaled.T @ scaled) @ gram_inv
        out_of_fold = np.zeros_like(phi)
        for f in range(self.folds):
            train, held = folds != f, folds == f
            out_of_fold[held] = basis[held] @ np.linalg.lstsq(basis[train], phi[train], rcond=None)[0]
        gamma = coef[:, ref].copy()
        return gamma, coef - gamma[:, None], cov, out_of_fold

    def _final_dml(
        self,
        basis: np.ndarray,
        raw: np.ndarray,
        categorical: np.ndarray,
        t: np.ndarray,
        y: np.ndarray,
        k: int,
        ref: int,
        folds: np.ndarray,
        e_basis: np.ndarray,
        say: Callable[[str], None],
    ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray], np.ndarray]:
        """Residual-on-residual (orthogonal) least squares: Y - m(x) on (1{T=o} - e_o(x)) B(x) for every option but
        the reference, so each effect tau_o(x) = B(x) theta_o, with an HC3 sandwich over all the thetas; the
        expected outcome under o is m(x) + tau_o(x) - sum_t e_t(x) tau_t(x), with m and e on the same basis."""
        n, p = basis.shape
        m_hat, e_hat = np.zeros(n), np.zeros((n, k))
        settings = self._nuisance_settings(categorical)
        for f in range(self.folds):
            say(f"Fold {f + 1} of {self.folds}: outcome and allocation models")
            train, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            m_hat[held] = HistGradientBoostingRegressor(**settings).fit(raw[train], y[train]).predict(raw[held])
            classifier = HistGradientBoostingClassifier(**settings).fit(raw[train], t[train])
            e_hat[np.ix_(held, classifier.classes_)] = classifier.predict_proba(raw[held])
        others = [j for j in range(k) if j != ref]
        q = len(others) * p
        resid_y = y - m_hat
        resid_t = (t[:, None] == np.arange(k)[None, :]) - e_hat
        say("Final stage: each option's effect on the basis")
        gram_f, cross_f = np.zeros((self.folds, q, q)), np.zeros((self.folds, q))
        basis_gram_f, basis_y_f = np.zeros((self.folds, p, p)), np.zeros((self.folds, p))
        for rows in _chunks(n):
            z = _stack(basis[rows], resid_t[rows][:, others])
            for f in range(self.folds):
                sel = folds[rows] == f
                gram_f[f] += z[sel].T @ z[sel]
                cross_f[f] += z[sel].T @ resid_y[rows][sel]
                basis_gram_f[f] += basis[rows][sel].T @ basis[rows][sel]
                basis_y_f[f] += basis[rows][sel].T @ y[rows][sel]
        yy_f = np.array([np.sum(resid_y[folds == f] ** 2) for f in range(self.folds)])
        penalty = _ridge_cv(gram_f, cross_f, yy_f, _penalised(p, len(others)))
        say(f"Final stage: ridge penalty {penalty:.3g} chosen by cross-validated loss")
        self.penalty_ = penalty
        ridge = penalty * _penalised(p, len(others))
        flat_ridge = np.linalg.pinv(gram_f.sum(axis=0) + ridge) @ cross_f.sum(axis=0)
        gram_inv = np.linalg.pinv(gram_f.sum(axis=0))  # the interval is the unpenalised estimator's (see predict)
        flat = gram_inv @ cross_f.sum(axis=0)
        meat = np.zeros((q, q))
        for rows in _chunks(n):
            z = _stack(basis[rows], resid_t[rows][:, others])
            resid = resid_y[rows] - z @ flat
            if n <= HC3_UP_TO:
                leverage = np.sum((z @ gram_inv) * z, axis=1)
                resid = resid / np.clip(1 - leverage, 1e-6, None)
            scaled = z * resid[:, None]
            meat += scaled.T @ scaled
        if n > HC3_UP_TO:  # HC1: with leverages near q/n the HC3 correction is negligible and costs O(n q^2)
            meat *= n / max(n - q, 1)
        sandwich = gram_inv @ meat @ gram_inv
        self.theta_cov_ = np.zeros((k * p, k * p))  # every option's block, the reference's zero
        for a, ja in enumerate(others):
            for b, jb in enumerate(others):
                self.theta_cov_[ja * p : (ja + 1) * p, jb * p : (jb + 1) * p] = sandwich[
                    a * p : (a + 1) * p, b * p : (b + 1) * p
                ]
        theta, self.theta_ols_ = np.zeros((p, k)), np.zeros((p, k))
        cov: dict[int, np.ndarray] = {}
        for i, j in enumerate(others):
            theta[:, j] = flat_ridge[i * p : (i + 1) * p]
            self.theta_ols_[:, j] = flat[i * p : (i + 1) * p]
            cov[j] = sandwich[i * p : (i + 1) * p, i * p : (i + 1) * p]
        y_f = np.array([np.sum(y[folds == f] ** 2) for f in range(self.folds)])
        level_ridge = _ridge_cv(basis_gram_f, basis_y_f, y_f, _penalised(p, 1))
        level_ridge_d = level_ridge * _penalised(p, 1)
        gamma = np.linalg.pinv(basis_gram_f.sum(axis=0) + level_ridge_d) @ basis_y_f.sum(axis=0)
        out_of_fold = np.zeros((n, k))
        for f in range(self.folds):
            held = folds == f
            theta_f = np.zeros((p, k))
            rest = np.linalg.pinv(gram_f.sum(axis=0) - gram_f[f] + ridge) @ (cross_f.sum(axis=0) - cross_f[f])
            for i, j in enumerate(others):
                theta_f[:, j] = rest[i * p : (i + 1) * p]
            gamma_f = np.linalg.pinv(basis_gram_f.sum(axis=0) - basis_gram_f[f] + level_ridge_d) @ (
                basis_y_f.sum(axis=0) - basis_y_f[f]
            )
            out_of_fold[held] = _levels(basis[held], gamma_f, theta_f, e_basis[held])
        return gamma, theta, cov, out_of_fold

    # -- predicting ------------------------------------------------------------------------------------------------

    def predict(self, data: Mapping[str, Column], min_support: int = 0) -> OptionsPrediction:
        """Every option for every row of ``data`` (the covariates by name; other columns are ignored). With
        ``min_support``, an option with fewer similar episodes (or, for its effect, a reference with fewer) has no
        numbers (NaN), and ``recommended`` is chosen among the options with numbers (None when none has)."""
        basis = self.design_.matrix(data)
        n, k = basis.shape[0], len(self.options_)
        e = softmax(basis @ self.propensity_coef_.T, axis=1)
        effect = basis @ self.theta_
        outcome = (
            _levels(basis, self.gamma_, self.theta_, e)
            if self.method == "dml"
            else basis @ self.gamma_[:, None] + effect
        )
        half = np.zeros((n, k))
        z = float(norm.ppf(0.5 + self.coverage / 2))
        for j, option in enumerate(self.options_):
            if option in self.effect_cov_:
                var = np.einsum("ij,jk,ik->i", basis, self.effect_cov_[option], basis)
                half[:, j] = z * np.sqrt(np.clip(var, 0, None))
        low, high = self.outcome_range_
        lower, upper, support = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k), dtype=int)
        for j, option in enumerate(self.options_):
            w = 1 / np.clip(e[:, j], 1e-6, None)
            level = self.coverage * (1 + w / self.weight_total_[option])
            q = np.interp(level, LEVELS, self.score_quantiles_[option])
            q = np.where(level > LEVELS[-1], np.inf, q)
            # within what was ever observed (an infinite q is the whole range), never excluding the point itself
            lower[:, j] = np.minimum(np.clip(outcome[:, j] - q, low, high), outcome[:, j])
            upper[:, j] = np.maximum(np.clip(outcome[:, j] + q, low, high), outcome[:, j])
            support[:, j] = _support(self.support_hist_[option], np.log(np.clip(e[:, j], 1e-12, None)))
        unpenalised = basis @ self.theta_ols_
        effect_lower = np.minimum(effect, unpenalised) - half
        effect_upper = np.maximum(effect, unpenalised) + half
        if min_support:
            thin = support < min_support
            for a in (outcome, lower, upper):
                a[thin] = np.nan
            ref = self.options_.index(self.reference_)
            thin_effect = thin | thin[:, [ref]]
            for a in (effect, effect_lower, effect_upper):
                a[thin_effect] = np.nan
        score = np.where(np.isnan(outcome), np.inf, outcome if self.lower_is_better else -outcome)
        best = np.argmin(score, axis=1)
        recommended = [None if np.isinf(score[i, b]) else self.options_[b] for i, b in enumerate(best)]
        return OptionsPrediction(
            self.options_,
            self.reference_,
            outcome,
            lower,
            upper,
            effect,
            effect_lower,
            effect_upper,
            support,
            recommended,
        )

    def propensity(self, data: Mapping[str, Column]) -> np.ndarray:
        """Each row's chance of receiving each option (columns in ``options_`` order), from the allocation model."""
        return np.asarray(softmax(self.design_.matrix(data) @ self.propensity_coef_.T, axis=1), dtype=float)

    def contrast(
        self, data: Mapping[str, Column], option: str, against: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's expected effect of ``option`` against ``against`` (any two options, e.g. against the person's
        standard offer) and its interval (lower, upper)."""
        basis = self.design_.matrix(data)
        p = basis.shape[1]
        i, j = self.options_.index(option), self.options_.index(against)
        effect = basis @ (self.theta_[:, i] - self.theta_[:, j])
        unpenalised = basis @ (self.theta_ols_[:, i] - self.theta_ols_[:, j])
        if i == j:
            return effect, effect, effect
        if self.theta_cov_ is None:
            raise InvalidInput(
                "this model keeps intervals against its reference only", [FieldProblem("against", "not the reference")]
            )
        c = self.theta_cov_
        block = (
            c[i * p : (i + 1) * p, i * p : (i + 1) * p]
            + c[j * p : (j + 1) * p, j * p : (j + 1) * p]
            - c[i * p : (i + 1) * p, j * p : (j + 1) * p]
            - c[j * p : (j + 1) * p, i * p : (i + 1) * p]
        )
        var = np.einsum("ij,jk,ik->i", basis, block, basis)
        half = float(norm.ppf(0.5 + self.coverage / 2)) * np.sqrt(np.clip(var, 0, None))
        return effect, np.minimum(effect, unpenalised) - half, np.maximum(effect, unpenalised) + half

    def drivers(self, data: Mapping[str, Column], option: str) -> list[dict[str, float]]:
        """For each row, how much each covariate moved ``option``'s effect against the reference away from the
        average person's (in outcome units): the person's data that drove the prediction."""
        basis = self.design_.matrix(data)
        beta = self.theta_[:, self.options_.index(option)]
        centred = (basis - self.basis_mean_) * beta
        return [{name: float(row[span].sum()) for name, span in self.design_.spans().items()} for row in centred]

    def level_drivers(self, data: Mapping[str, Column], option: str) -> list[dict[str, float]]:
        """For each row, how much each covariate moved the expected outcome under ``option`` away from the average
        person's (in outcome units), through the outcome level and the option's effect: what made this person's
        expected score high or low (their intake score, usually), where ``drivers`` says what made one option differ
        from another."""
        basis = self.design_.matrix(data)
        beta = self.gamma_ + self.theta_[:, self.options_.index(option)]
        centred = (basis - self.basis_mean_) * beta
        return [{name: float(row[span].sum()) for name, span in self.design_.spans().items()} for row in centred]

    # -- keeping ---------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as plain JSON-able data (no pickled code), with a version that is a hash of it."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "settings": {
                "coverage": self.coverage,
                "folds": self.folds,
                "clip": self.clip,
                "n_knots": self.n_knots,
                "lower_is_better": self.lower_is_better,
                "seed": self.seed,
                "method": self.method,
            },
            "options": list(self.options_),
            "reference": self.reference_,
            "features": [_feature_dict(f) for f in self.design_.features],
            "gamma": self.gamma_.tolist(),
            "theta": self.theta_.tolist(),
            "theta_ols": self.theta_ols_.tolist(),
            "effect_cov": {o: v.tolist() for o, v in self.effect_cov_.items()},
            "theta_cov": None if self.theta_cov_ is None else self.theta_cov_.tolist(),
            "propensity_coef": self.propensity_coef_.tolist(),
            "score_quantiles": {o: v.tolist() for o, v in self.score_quantiles_.items()},
            "weight_total": self.weight_total_,
            "support_hist": {o: v.tolist() for o, v in self.support_hist_.items()},
            "outcome_range": list(self.outcome_range_),
            "n": self.n_,
            "counts": self.counts_,
            "dropped": self.dropped_,
            "basis_mean": self.basis_mean_.tolist(),
            "overlap": {o: list(v) for o, v in self.overlap_.items()},
            "penalty": self.penalty_,
            "knots": self.knots_,
        }
        body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> OptionsLearner:
        """A model kept by ``to_dict``."""
        if not isinstance(body, Mapping) or body.get("format") != FORMAT:
            raise InvalidInput(
                f"not an idiograph treatment-selection model (expected format {FORMAT!r})",
                [FieldProblem("model", "unknown format")],
            )
        try:
            return cls._from_body(body)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise InvalidInput(
                f"the model file is incomplete or damaged ({type(exc).__name__}: {exc}); fit it again",
                [FieldProblem("model", "incomplete or damaged")],
            ) from None

    @classmethod
    def _from_body(cls, body: Mapping[str, Any]) -> OptionsLearner:
        model = cls(**body["settings"])
        model.options_, model.reference_ = tuple(body["options"]), body["reference"]
        model.design_ = Design(tuple(_feature(f) for f in body["features"]))
        model.gamma_, model.theta_ = np.asarray(body["gamma"]), np.asarray(body["theta"])
        model.theta_ols_ = np.asarray(body.get("theta_ols", body["theta"]))
        model.effect_cov_ = {o: np.asarray(v) for o, v in body["effect_cov"].items()}
        model.theta_cov_ = None if body.get("theta_cov") is None else np.asarray(body["theta_cov"])
        model.propensity_coef_ = np.asarray(body["propensity_coef"])
        model.score_quantiles_ = {o: np.asarray(v) for o, v in body["score_quantiles"].items()}
        model.weight_total_ = dict(body["weight_total"])
        model.support_hist_ = {o: np.asarray(v) for o, v in body["support_hist"].items()}
        model.outcome_range_ = (float(body["outcome_range"][0]), float(body["outcome_range"][1]))
        model.n_, model.counts_, model.dropped_ = int(body["n"]), dict(body["counts"]), int(body["dropped"])
        model.basis_mean_ = np.asarray(body["basis_mean"])
        model.overlap_ = {o: (float(v[0]), float(v[1])) for o, v in body["overlap"].items()}
        model.penalty_ = float(body.get("penalty", 0.0))
        model.knots_ = int(body.get("knots", model.n_knots))
        return model


def _option(value: Any) -> str | None:
    """An option's name as text: a whole number without ".0" (a numeric treatment column), missing as None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _fitting_design(
    data: Mapping[str, Column], covariates: Sequence[str], n_knots: int, rarest: int
) -> tuple[Design, int]:
    """The richest basis the data can carry: ``n_knots`` per numeric covariate, else 3, else straight lines, the
    first with at least ``PER_PARAMETER`` episodes of the rarest option per coefficient of its effect (the events-
    per-variable rule of thumb; Peduzzi et al. 1996, Harrell 2015). A small service gets straight lines rather
    than curves its data cannot pin down."""
    for knots in sorted({n_knots, min(3, n_knots), 0}, reverse=True):
        design = learn_design(data, covariates, knots)
        if knots == 0 or rarest >= PER_PARAMETER * design.width:
            return design, knots
    raise AssertionError("unreachable: straight lines are always accepted")


def _ridge_cv(gram_f: np.ndarray, cross_f: np.ndarray, yy_f: np.ndarray, d: np.ndarray) -> float:
    """The ridge penalty (on the coefficients ``d`` marks) with the least cross-validated squared error, from the
    folds' sufficient statistics (X'X, X'y and y'y of each fold): for the effects, the held-out R-loss of the
    residual-on-residual fit (Nie & Wager 2021); for the outcome level, the held-out squared error. No shrinkage
    when the data carry the shape, more where an option's tails rest on few episodes. Scaled by the Gram's mean
    diagonal, so the grid means the same at any size."""
    total, cross = gram_f.sum(axis=0), cross_f.sum(axis=0)
    scale = float(np.trace(total)) / max(total.shape[0], 1)
    best, best_loss = 0.0, np.inf
    for c in PENALTIES:
        loss = 0.0
        for f in range(gram_f.shape[0]):
            theta = np.linalg.pinv(total - gram_f[f] + c * scale * d) @ (cross - cross_f[f])
            loss += float(yy_f[f] - 2 * theta @ cross_f[f] + theta @ gram_f[f] @ theta)
        if best_loss == np.inf or loss < best_loss - 1e-9 * abs(best_loss):
            best, best_loss = c * scale, loss
    return best


def _penalised(p: int, options: int) -> np.ndarray:
    """The ridge's diagonal: every coefficient but each option's intercept (its average effect stays unshrunk)."""
    d = np.ones(p * options)
    d[::p] = 0.0
    return np.diag(d)


def _stack(basis: np.ndarray, resid_t: np.ndarray) -> np.ndarray:
    """Row i: resid_t[i, 0] * basis[i], resid_t[i, 1] * basis[i], ... (the residualised treatments times the basis)."""
    return np.asarray((resid_t[:, :, None] * basis[:, None, :]).reshape(basis.shape[0], -1))


def _chunks(n: int, size: int = 20_000) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _levels(basis: np.ndarray, gamma: np.ndarray, theta: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Expected outcome under each option: m(x) + tau_o(x) - sum_t e_t(x) tau_t(x) (tau of the reference is 0)."""
    tau = basis @ theta
    return np.asarray((basis @ gamma - np.sum(e * tau, axis=1))[:, None] + tau)


def _outcomes(outcome: Sequence[Any] | np.ndarray) -> np.ndarray:
    out = np.empty(len(outcome))
    for i, v in enumerate(outcome):
        if v is None or (isinstance(v, str) and v.strip() == ""):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"outcome row {i} is {v!r}, not a number", [FieldProblem(f"outcome[{i}]", "not a number")]
            ) from None
    if np.isinf(out).any():
        raise InvalidInput("outcome has infinite values", [FieldProblem("outcome", "infinite value")])
    return out


def _take(column: Column, rows: np.ndarray) -> Column:
    if isinstance(column, np.ndarray):
        return np.asarray(column[rows])
    return [column[i] for i in rows]


def _weighted_quantiles(scores: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The smallest score whose cumulative normalised weight reaches each level."""
    order = np.argsort(scores)
    cum = np.cumsum(weights[order]) / weights.sum()
    at = np.searchsorted(cum, levels, side="left").clip(max=scores.size - 1)
    return np.asarray(scores[order][at], dtype=float)


def _histogram(log_e: np.ndarray) -> np.ndarray:
    bins = int(np.ceil(-SUPPORT_LOW / SUPPORT_BIN)) + 1
    index = np.clip(((log_e - SUPPORT_LOW) / SUPPORT_BIN).astype(int), 0, bins - 1)
    return np.bincount(index, minlength=bins)


def _support(hist: np.ndarray, log_e: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0], np.cumsum(hist)])
    index = np.clip(((log_e - SUPPORT_LOW) / SUPPORT_BIN).astype(int), 0, hist.size - 1)
    lo, hi = np.clip(index - 4, 0, hist.size), np.clip(index + 5, 0, hist.size)
    return np.asarray(cum[hi] - cum[lo], dtype=int)


def _feature_dict(f: Numeric | Categorical) -> dict[str, Any]:
    if isinstance(f, Numeric):
        return {
            "kind": "numeric",
            "name": f.name,
            "median": f.median,
            "low": f.low,
            "high": f.high,
            "missing": f.missing,
            "knots": list(f.knots),
        }
    return {"kind": "categorical", "name": f.name, "levels": list(f.levels)}


def _feature(d: Mapping[str, Any]) -> Numeric | Categorical:
    if d["kind"] == "numeric":
        return Numeric(d["name"], d["median"], d["low"], d["high"], d["missing"], tuple(d["knots"]))
    return Categorical(d["name"], tuple(d["levels"]))
