"""Samejima's graded response model: probabilities, sampling, and calibration by marginal maximum
likelihood with EM over a fixed quadrature (Bock & Aitkin 1981) — pure numpy/scipy.

P(X >= k | theta) = 1 / (1 + exp(-a (theta - b_k))), k = 1..K-1, theta ~ N(0, 1)  (CLINICAL.md section 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ItemParams:
    a: float  # discrimination
    b: tuple[float, ...]  # ordered thresholds, one fewer than categories


def category_probs(item: ItemParams, theta: FloatArray) -> FloatArray:
    """P(X = k | theta) for every theta (rows) and category k (columns)."""
    theta = np.asarray(theta, dtype=float)
    star = expit(item.a * (theta[:, None] - np.asarray(item.b)[None, :]))
    ones = np.ones((theta.shape[0], 1))
    zeros = np.zeros((theta.shape[0], 1))
    cum = np.hstack([ones, star, zeros])
    probs: FloatArray = np.clip(cum[:, :-1] - cum[:, 1:], 1e-12, 1.0)
    return probs


def sample(items: list[ItemParams], theta: FloatArray, rng: np.random.Generator) -> NDArray[np.int8]:
    """Item responses (persons x items) drawn from the model at the given latent values."""
    theta = np.asarray(theta, dtype=float)
    out = np.empty((theta.shape[0], len(items)), dtype=np.int8)
    u = rng.random((theta.shape[0], len(items)))
    for j, item in enumerate(items):
        cum = np.cumsum(category_probs(item, theta), axis=1)
        out[:, j] = (u[:, j, None] > cum[:, :-1]).sum(axis=1)
    return out


def expected_score(items: list[ItemParams], theta: FloatArray) -> FloatArray:
    """Expected total score at each theta (the test characteristic curve)."""
    theta = np.asarray(theta, dtype=float)
    total = np.zeros(theta.shape[0])
    for item in items:
        p = category_probs(item, theta)
        total += p @ np.arange(p.shape[1])
    return total


def quadrature(n: int = 61, limit: float = 6.0) -> tuple[FloatArray, FloatArray]:
    nodes = np.linspace(-limit, limit, n)
    w = np.exp(-0.5 * nodes**2)
    return nodes, w / w.sum()


def _unpack(x: FloatArray) -> ItemParams:
    b = np.cumsum(np.concatenate([[x[1]], np.exp(x[2:])]))
    return ItemParams(float(np.exp(x[0])), tuple(float(v) for v in b))


def _pack(item: ItemParams) -> FloatArray:
    b = np.asarray(item.b)
    return np.concatenate([[np.log(item.a), b[0]], np.log(np.maximum(np.diff(b), 1e-3))])


def log_likelihood_grid(items: list[ItemParams], responses: NDArray[np.int8], nodes: FloatArray) -> FloatArray:
    """log L(responses_i | theta_q) for every person i and node q; missing answers (-1) are skipped."""
    ll = np.zeros((responses.shape[0], nodes.shape[0]))
    for j, item in enumerate(items):
        logp = np.log(category_probs(item, nodes))  # nodes x K
        x = responses[:, j]
        seen = x >= 0
        ll[seen] += logp[:, x[seen]].T
    return ll


@dataclass(frozen=True)
class Calibration:
    items: list[ItemParams]
    log_likelihood: float
    iterations: int
    converged: bool


def calibrate(
    responses: NDArray[np.int8], n_categories: int, max_iter: int = 200, tol: float = 1e-5, n_nodes: int = 61
) -> Calibration:
    """Fit a GRM to a persons x items matrix (values 0..K-1, -1 = missing) by MML-EM."""
    responses = np.asarray(responses, dtype=np.int8)
    n_items = responses.shape[1]
    nodes, prior = quadrature(n_nodes)
    items = [ItemParams(1.5, tuple(np.linspace(0.0, 2.0, n_categories - 1))) for _ in range(n_items)]
    onehot = [
        np.stack([(responses[:, j] == k) for k in range(n_categories)], axis=1).astype(float) for j in range(n_items)
    ]
    previous = -np.inf
    total = previous
    for it in range(1, max_iter + 1):
        ll = log_likelihood_grid(items, responses, nodes) + np.log(prior)[None, :]
        peak = ll.max(axis=1, keepdims=True)
        post = np.exp(ll - peak)
        norm = post.sum(axis=1, keepdims=True)
        total = float((np.log(norm) + peak).sum())
        post /= norm
        for j in range(n_items):
            counts = post.T @ onehot[j]  # nodes x K expected counts

            def nll(x: FloatArray, counts: FloatArray = counts) -> float:
                return float(-(counts * np.log(category_probs(_unpack(x), nodes))).sum())

            res = minimize(nll, _pack(items[j]), method="L-BFGS-B")
            items[j] = _unpack(res.x)
        if abs(total - previous) < tol * abs(total):
            return Calibration(items, total, it, True)
        previous = total
    return Calibration(items, total, max_iter, False)


def eap(items: list[ItemParams], responses: NDArray[np.int8], n_nodes: int = 61) -> tuple[FloatArray, FloatArray]:
    """Expected a posteriori theta and its posterior SD for each response pattern (missing = -1)."""
    nodes, prior = quadrature(n_nodes)
    ll = log_likelihood_grid(items, np.atleast_2d(responses).astype(np.int8), nodes) + np.log(prior)[None, :]
    post = np.exp(ll - ll.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ nodes
    sd = np.sqrt(np.maximum(post @ nodes**2 - mean**2, 0.0))
    return mean, sd


def marginal_score_distribution(items: list[ItemParams], n_nodes: int = 61) -> FloatArray:
    """P(total = s) under theta ~ N(0,1): the model's implied population distribution of totals."""
    nodes, prior = quadrature(n_nodes)
    dist = np.zeros((nodes.shape[0], 1))
    dist[:, 0] = 1.0
    for item in items:
        p = category_probs(item, nodes)
        new = np.zeros((nodes.shape[0], dist.shape[1] + p.shape[1] - 1))
        for k in range(p.shape[1]):
            new[:, k : k + dist.shape[1]] += dist * p[:, [k]]
        dist = new
    return prior @ dist
