"""Biological-variation personalised reference intervals and reference change values (pure).

PRI (Coskun et al., Clin Chem 2021): with fewer than five of the person's own steady-state results, the
homeostatic set point ``HSP`` is their mean and ``TV = sqrt((n+1)/n) * sqrt(CVA^2 + CVI^2)`` (%), so the
interval is ``HSP ± z * TV * HSP / 100`` using published CVI and the laboratory's CVA. With five or more
results of their own the person's variation is used: ``mean ± t(P, n-1) * s * sqrt(1 + 1/n)``.

RCV (Fraser 2011): symmetric ``sqrt(2) * Z * sqrt(CVA^2 + CVI^2)``; log-normal (Fokkema et al. 2006):
``sigma = sqrt(ln(CVA^2 + CVI^2 + 1))`` with CVs as fractions, ``up = exp(Z*sqrt(2)*sigma) - 1``,
``down = exp(-Z*sqrt(2)*sigma) - 1``. CLINICAL.md §4.2 and §4.4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from scipy.stats import t as student_t

from idiograph.baselines.intervals import Interval, z_for

OWN_RESULTS = 5  # from this many results the person's own variation replaces the published CVI


@dataclass(frozen=True)
class Variation:
    system: str
    code: str
    analyte: str
    cvi: float  # %
    cva: float  # %
    cva_basis: str  # "desirable" (0.5 x CVI) until a laboratory enters its own, then "laboratory"
    source: str


@lru_cache(maxsize=1)
def table() -> dict[tuple[str, str], Variation]:
    """The shipped table, validated on load."""
    rows = yaml.safe_load(Path(__file__).with_name("biological_variation.yaml").read_text(encoding="utf-8"))
    out: dict[tuple[str, str], Variation] = {}
    for i, row in enumerate(rows):
        v = Variation(**row)
        if not (0 < v.cvi < 200 and 0 <= v.cva < 200):
            raise ValueError(f"biological_variation.yaml row {i}: cvi and cva must be percentages above 0")
        if v.cva_basis not in ("desirable", "laboratory"):
            raise ValueError(f"biological_variation.yaml row {i}: cva_basis must be desirable or laboratory")
        out[(v.system, v.code)] = v
    return out


def total_variation(cvi: float, cva: float, n: int) -> float:
    """``TV = sqrt((n+1)/n) * sqrt(CVA^2 + CVI^2)`` in % (Coskun 2021)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return math.sqrt((n + 1) / n) * math.sqrt(cva * cva + cvi * cvi)


def pri(values: Sequence[float], variation: Variation | None, coverage: float = 0.95) -> Interval | None:
    """Coskun's PRI for the next result, or None with no results (or too few and no published CVI)."""
    n = len(values)
    if n == 0:
        return None
    mean = math.fsum(values) / n
    if n >= OWN_RESULTS:
        s = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(student_t.ppf((1 + coverage) / 2, n - 1)) * s * math.sqrt(1 + 1 / n)
        return Interval(mean, mean - half, mean + half, n, "biological variation (own results, Coskun)", coverage, True)
    if variation is None:
        return None
    half = z_for(coverage) * total_variation(variation.cvi, variation.cva, n) * mean / 100
    return Interval(mean, mean - half, mean + half, n, "biological variation (published CVI, Coskun)", coverage, True)


def rcv_symmetric(cvi: float, cva: float, z: float = 1.96) -> float:
    """Symmetric reference change value in %: ``sqrt(2) * Z * sqrt(CVA^2 + CVI^2)``."""
    return math.sqrt(2) * z * math.sqrt(cva * cva + cvi * cvi)


def rcv_lognormal(cvi: float, cva: float, z: float = 1.96) -> tuple[float, float]:
    """Asymmetric (log-normal) RCV in %, as (up, down); down is negative (Fokkema et al. 2006)."""
    sigma = math.sqrt(math.log((cva / 100) ** 2 + (cvi / 100) ** 2 + 1))
    return 100 * (math.exp(z * math.sqrt(2) * sigma) - 1), 100 * (math.exp(-z * math.sqrt(2) * sigma) - 1)
