"""The covariates as a design matrix the final stage is linear in (pure): each numeric column as a cubic B-spline
basis with knots at its quantiles (a few distinct values: the value itself), a missing value as its own indicator,
each categorical column as indicators of its levels. Learnt once from the fitting table and kept as plain data, so a
saved model needs no pickled code to predict.

A column is numeric when every value present parses as a number; anything else is categorical."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import BSpline

from idiograph.errors import FieldProblem, InvalidInput

Column = Sequence[Any] | np.ndarray
LINEAR_UP_TO = 7  # a numeric column with at most this many distinct values enters as its value, not a spline
RARE = 20  # a categorical level seen fewer times than this joins "other"
DEGREE = 3


@dataclass(frozen=True)
class Numeric:
    """A numeric covariate: its median (imputed when missing), whether it was ever missing, and its spline knots
    (empty for a column entered as its value)."""

    name: str
    median: float
    low: float
    high: float
    missing: bool
    knots: tuple[float, ...]

    @property
    def width(self) -> int:
        base = 1 if not self.knots else len(self.knots) - DEGREE - 2  # B-spline basis less one (the intercept)
        return base + int(self.missing)

    def labels(self) -> list[str]:
        base = [self.name] if not self.knots else [f"{self.name}[s{i}]" for i in range(len(self.knots) - DEGREE - 2)]
        return base + ([f"{self.name} missing"] if self.missing else [])

    def columns(self, values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        x = np.clip(np.where(missing, self.median, values), self.low, self.high)
        if self.knots:
            t = np.asarray(self.knots)
            basis = np.asarray(BSpline.design_matrix(x, t, DEGREE, extrapolate=False).toarray()[:, 1:], dtype=float)
        else:
            basis = ((x - self.median) / max(self.high - self.low, 1e-12))[:, None]
        if self.missing:
            basis = np.column_stack([basis, missing.astype(float)])
        return basis


@dataclass(frozen=True)
class Categorical:
    """A categorical covariate: the levels kept (the first is the baseline, so not a column); unseen, rare and
    missing values share the baseline's zero row unless "missing" or "other" was common enough to be a level."""

    name: str
    levels: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.levels) - 1

    def labels(self) -> list[str]:
        return [f"{self.name}={level}" for level in self.levels[1:]]

    def columns(self, values: Sequence[Any]) -> np.ndarray:
        index = {level: i for i, level in enumerate(self.levels)}
        other = index.get("other", 0)
        out = np.zeros((len(values), self.width))
        for row, value in enumerate(values):
            key = _category(value)
            i = index.get(key, index.get("missing", 0) if key == "missing" else other)
            if i > 0:
                out[row, i - 1] = 1.0
        return out


Feature = Numeric | Categorical


@dataclass(frozen=True)
class Design:
    """The learnt basis for a set of covariates; ``matrix`` is an intercept column then each feature's columns."""

    features: tuple[Feature, ...]

    @property
    def width(self) -> int:
        return 1 + sum(f.width for f in self.features)

    def labels(self) -> list[str]:
        return ["(intercept)"] + [label for f in self.features for label in f.labels()]

    def spans(self) -> dict[str, slice]:
        """Each covariate's columns in ``matrix`` (for saying which of a person's data drove a prediction)."""
        out, start = {}, 1
        for f in self.features:
            out[f.name] = slice(start, start + f.width)
            start += f.width
        return out

    def matrix(self, data: Mapping[str, Column]) -> np.ndarray:
        n = _rows(data, [f.name for f in self.features])
        parts = [np.ones((n, 1))]
        for f in self.features:
            if f.name not in data:
                raise _bad(f.name, "this covariate was used to fit the model but is not in the table")
            raw = data[f.name]
            parts.append(f.columns(_numbers(raw, f.name)) if isinstance(f, Numeric) else f.columns(list(raw)))
        return np.column_stack(parts)

    def raw(self, data: Mapping[str, Column]) -> tuple[np.ndarray, np.ndarray]:
        """The covariates for a tree learner: numbers as they are (missing as NaN), levels as codes; and which
        columns are categorical."""
        cols, categorical = [], []
        for f in self.features:
            raw = data[f.name]
            if isinstance(f, Numeric):
                cols.append(_numbers(raw, f.name))
                categorical.append(False)
            else:
                index = {level: i for i, level in enumerate(f.levels)}
                other = index.get("other", 0)
                cols.append(np.array([index.get(_category(v), other) for v in raw], dtype=float))
                categorical.append(True)
        n = _rows(data, [f.name for f in self.features])
        return (np.column_stack(cols) if cols else np.zeros((n, 0))), np.array(categorical, dtype=bool)


def learn_design(data: Mapping[str, Column], names: Sequence[str], n_knots: int = 5) -> Design:
    """The basis for ``names`` learnt from ``data``: knots at evenly spaced quantiles, levels by frequency."""
    features: list[Feature] = []
    for name in names:
        raw = data[name]
        numbers = _try_numbers(raw)
        if numbers is None:
            features.append(_learn_categorical(name, list(raw)))
            continue
        present = numbers[~np.isnan(numbers)]
        if present.size == 0:
            raise _bad(name, "has no values")
        distinct = np.unique(present)
        knots: tuple[float, ...] = ()
        if distinct.size > LINEAR_UP_TO:
            inner = np.unique(np.quantile(present, np.linspace(0, 1, n_knots + 2)[1:-1]))
            low, high = float(present.min()), float(present.max())
            inner = inner[(inner > low) & (inner < high)]
            knots = tuple([low] * (DEGREE + 1) + [float(k) for k in inner] + [high] * (DEGREE + 1))
        features.append(
            Numeric(
                name,
                float(np.median(present)),
                float(present.min()),
                float(present.max()),
                bool(np.isnan(numbers).any()),
                knots,
            )
        )
    return Design(tuple(features))


def _learn_categorical(name: str, values: list[Any]) -> Categorical:
    keys = [_category(v) for v in values]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    kept = sorted((k for k, c in counts.items() if c >= RARE), key=lambda k: (-counts[k], k))
    if sum(c for k, c in counts.items() if k not in kept) >= RARE:
        kept.append("other")
    if not kept:
        kept = ["other"]
    return Categorical(name, tuple(kept))


def _category(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return "missing"
    return str(value)


def _try_numbers(raw: Column) -> np.ndarray | None:
    if isinstance(raw, np.ndarray) and raw.dtype.kind in "fiub":
        return raw.astype(float)
    out = np.empty(len(raw))
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, str) and v.strip() == ""):
            out[i] = np.nan
            continue
        if isinstance(v, bool):
            out[i] = float(v)
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            return None
    return out


def _numbers(raw: Column, name: str) -> np.ndarray:
    numbers = _try_numbers(raw)
    if numbers is None:
        raise _bad(name, "was numeric when the model was fitted but has values that are not numbers")
    return numbers


def _rows(data: Mapping[str, Column], names: Sequence[str]) -> int:
    lengths = {len(data[n]) for n in names if n in data}
    if len(lengths) > 1:
        raise _bad("table", "columns have different lengths")
    return lengths.pop() if lengths else 0


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", [FieldProblem(field, reason)])
