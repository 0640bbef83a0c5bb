"""Expected recovery and not on track (CLINICAL.md §5) (pure).

Two models of the expected course of a measure through treatment, fitted on the service's own completed
episodes, and a rule that flags a score above the model's upper boundary:

* ``CurveModel`` — Finch, Lambert & Schaalje (2001), as in OQ-Analyst: the score at session ``s`` on
  ``ln(s)``, with the intercept and slope depending on intake severity,
  ``y = b0 + b1*intake + (b2 + b3*intake) * ln(s)``. This is the fixed part of their mixed model; because
  the intake score is itself the first observation, the person's random intercept is conditioned on, and
  the remaining person-level variation is carried in the tolerance band: the empirical residual standard
  deviation at each session number (it widens as courses diverge). The boundary is
  ``expected + z * sd(s)`` with ``z`` for a one-sided tail (default 10%).
* ``NeighbourModel`` — Lutz et al. (2006), the Trier Treatment Navigator: intake variables standardised,
  the ``k`` most similar past episodes found, a log-linear growth curve ``y = a + b*ln(s)`` fitted to all
  their scores, and the boundary the one-sided prediction band of that regression. Each past episode is
  kept as the sufficient statistics of its scores, so a prediction costs one k-d tree query plus a sum of
  ``k`` rows, and fitting scales linearly to hundreds of thousands of episodes.

Session 1 is the intake score; judgement starts at session 2.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import norm
from scipy.stats import t as student_t

MAX_SESSION = 30  # sessions beyond this share the last session's spread


@dataclass(frozen=True)
class Course:
    """One episode's scores on one measure, in session order (the first is the intake)."""

    scores: tuple[float, ...]
    features: tuple[float, ...] = ()  # intake variables for the neighbour model (intake score first)


@dataclass(frozen=True)
class Expectation:
    session: int
    expected: float
    upper: float


@dataclass(frozen=True)
class Judgement:
    session: int
    score: float
    expected: float
    upper: float

    @property
    def off_track(self) -> bool:
        return self.score > self.upper


@cache
def _z(tail: float) -> float:
    if not 0 < tail < 0.5:
        raise ValueError("tail must be in (0, 0.5)")
    return float(norm.ppf(1 - tail))


@dataclass(frozen=True)
class CurveModel:
    coef: tuple[float, float, float, float]
    sd: tuple[float, ...]  # residual sd at sessions 2..(len+1)
    tail: float
    n_episodes: int
    kind: str = "curve"

    @classmethod
    def fit(cls, courses: Sequence[Course], tail: float = 0.10) -> CurveModel:
        """Least squares on every score after intake of every course with at least two scores."""
        rows = [(c.scores[0], s, y) for c in courses if len(c.scores) >= 2 for s, y in enumerate(c.scores[1:], 2)]
        if len(rows) < 8:
            raise ValueError("too few scores after intake to fit an expected-recovery curve (need 8)")
        a = np.asarray(rows, dtype=float)
        intake, session, y = a[:, 0], np.minimum(a[:, 1], MAX_SESSION), a[:, 2]
        ln = np.log(session)
        x = np.column_stack([np.ones_like(y), intake, ln, intake * ln])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ coef
        sds: list[float] = []
        pooled = float(np.sqrt(np.mean(resid**2)))
        for s in range(2, MAX_SESSION + 1):
            r = resid[session == s]
            sds.append(float(np.sqrt(np.mean(r**2))) if r.size >= 20 else (sds[-1] if sds else pooled))
        n = sum(1 for c in courses if len(c.scores) >= 2)
        return cls((float(coef[0]), float(coef[1]), float(coef[2]), float(coef[3])), tuple(sds), tail, n)

    def expectation(self, intake: float, session: int) -> Expectation:
        b0, b1, b2, b3 = self.coef
        s = min(max(session, 2), MAX_SESSION)
        mean = b0 + b1 * intake + (b2 + b3 * intake) * math.log(s)
        return Expectation(session, mean, mean + _z(self.tail) * self.sd[s - 2])

    def judge(self, scores: Sequence[float], features: Sequence[float] = ()) -> Judgement | None:
        """The latest score against the course expected from the intake; None at intake."""
        if len(scores) < 2:
            return None
        e = self.expectation(scores[0], len(scores))
        return Judgement(len(scores), scores[-1], e.expected, e.upper)

    def course(self, scores: Sequence[float], features: Sequence[float], sessions: int) -> list[Expectation]:
        return [self.expectation(scores[0], s) for s in range(2, sessions + 1)]

    def to_params(self) -> dict[str, object]:
        return {"coef": list(self.coef), "sd": list(self.sd), "tail": self.tail, "n_episodes": self.n_episodes}

    @classmethod
    def from_params(cls, p: dict[str, object]) -> CurveModel:
        coef = [float(v) for v in p["coef"]]  # type: ignore[attr-defined]
        return cls(
            (coef[0], coef[1], coef[2], coef[3]),
            tuple(float(v) for v in p["sd"]),  # type: ignore[attr-defined]
            float(p["tail"]),  # type: ignore[arg-type]
            int(p["n_episodes"]),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class NeighbourPrediction:
    a: float
    b: float
    sigma: float
    n: int
    x_mean: float
    sxx: float
    dof: int


class NeighbourModel:
    """Nearest-neighbour expected course (Lutz et al. 2006)."""

    kind = "nn"

    def __init__(
        self,
        features: NDArray[np.float64],
        stats: NDArray[np.float64],
        mean: NDArray[np.float64],
        scale: NDArray[np.float64],
        k: int,
        tail: float,
    ) -> None:
        self.features, self.stats, self.mean, self.scale = features, stats, mean, scale
        self.k, self.tail = min(k, len(features)), tail
        self.n_episodes = len(features)
        self._tree = cKDTree((features - mean) / scale)

    @staticmethod
    def sufficient(scores: Sequence[float]) -> tuple[float, ...]:
        """(n, sum x, sum y, sum x^2, sum xy, sum y^2) with x = ln(session), over every score."""
        x = np.log(np.minimum(np.arange(1, len(scores) + 1), MAX_SESSION))
        y = np.asarray(scores, dtype=float)
        return (
            float(len(y)),
            float(x.sum()),
            float(y.sum()),
            float((x * x).sum()),
            float((x * y).sum()),
            float((y * y).sum()),
        )

    @classmethod
    def fit(cls, courses: Sequence[Course], k: int = 50, tail: float = 0.10) -> NeighbourModel:
        usable = [c for c in courses if len(c.scores) >= 2 and c.features]
        if len(usable) < 10:
            raise ValueError("too few completed episodes with intake variables to fit the neighbour model (need 10)")
        width = {len(c.features) for c in usable}
        if len(width) != 1:
            raise ValueError("every course needs the same intake variables")
        feats = np.asarray([c.features for c in usable], dtype=float)
        stats = np.asarray([cls.sufficient(c.scores) for c in usable], dtype=float)
        mean = feats.mean(axis=0)
        scale = feats.std(axis=0)
        scale[scale == 0] = 1.0
        return cls(feats, stats, mean, scale, k, tail)

    def predict(self, features: Sequence[float]) -> NeighbourPrediction:
        q = (np.asarray(features, dtype=float) - self.mean) / self.scale
        _, idx = self._tree.query(q, k=self.k)
        n, sx, sy, sxx, sxy, syy = self.stats[np.atleast_1d(idx)].sum(axis=0)
        x_mean, y_mean = sx / n, sy / n
        cxx = sxx - n * x_mean**2
        b = (sxy - n * x_mean * y_mean) / cxx if cxx > 0 else 0.0
        a = y_mean - b * x_mean
        sse = syy - n * y_mean**2 - b * (sxy - n * x_mean * y_mean)
        dof = max(int(n) - 2, 1)
        return NeighbourPrediction(a, b, math.sqrt(max(sse, 0.0) / dof), int(n), x_mean, max(cxx, 1e-12), dof)

    def expectation(self, p: NeighbourPrediction, session: int) -> Expectation:
        x = math.log(min(max(session, 1), MAX_SESSION))
        mean = p.a + p.b * x
        half = (
            float(student_t.ppf(1 - self.tail, p.dof)) * p.sigma * math.sqrt(1 + 1 / p.n + (x - p.x_mean) ** 2 / p.sxx)
        )
        return Expectation(session, mean, mean + half)

    def judge(self, scores: Sequence[float], features: Sequence[float]) -> Judgement | None:
        if len(scores) < 2:
            return None
        e = self.expectation(self.predict(features), len(scores))
        return Judgement(len(scores), scores[-1], e.expected, e.upper)

    def course(self, scores: Sequence[float], features: Sequence[float], sessions: int) -> list[Expectation]:
        p = self.predict(features)
        return [self.expectation(p, s) for s in range(2, sessions + 1)]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            features=self.features,
            stats=self.stats,
            mean=self.mean,
            scale=self.scale,
            k=np.asarray([self.k]),
            tail=np.asarray([self.tail]),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> NeighbourModel:
        z = np.load(io.BytesIO(blob))
        return cls(z["features"], z["stats"], z["mean"], z["scale"], int(z["k"][0]), float(z["tail"][0]))
