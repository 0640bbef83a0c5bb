"""Calibrated item banks as data files: reading, writing and fitting them from response files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from idiograph.adaptive.grm import ItemParams, calibrate, marginal_score_distribution

NHANES_PHQ9 = [f"DPQ0{i}0" for i in range(1, 10)]


@dataclass(frozen=True)
class ItemBank:
    instrument: str
    items: list[ItemParams]
    codes: list[str]
    provenance: dict[str, Any]


def read_nhanes_dpq(path: Path) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """PHQ-9 item answers from an NHANES DPQ file (7 = refused, 9 = don't know, blank -> missing -1)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def val(v: str) -> int:
        if not v:
            return -1
        n = int(float(v))
        return n if n in (0, 1, 2, 3) else -1

    x = np.array([[val(r[c]) for c in NHANES_PHQ9] for r in rows], dtype=np.int8)
    seqn = np.array([int(float(r["SEQN"])) for r in rows], dtype=np.int64)
    keep = (x >= 0).any(axis=1)
    return x[keep], seqn[keep]


def held_out_check(items: list[ItemParams], responses: NDArray[np.int8], cut: int = 10) -> dict[str, float]:
    """Observed vs model-implied totals on complete response rows the model was not fitted on."""
    complete = responses[(responses >= 0).all(axis=1)]
    totals = complete.sum(axis=1)
    dist = marginal_score_distribution(items)
    s = np.arange(dist.shape[0])
    return {
        "n": float(len(totals)),
        "mean_observed": float(totals.mean()),
        "mean_model": float(dist @ s),
        "at_or_above_cut_observed": float((totals >= cut).mean()),
        "at_or_above_cut_model": float(dist[cut:].sum()),
        "zero_observed": float((totals == 0).mean()),
        "zero_model": float(dist[0]),
    }


def fit_bank(instrument: str, codes: list[str], responses: NDArray[np.int8], provenance: dict[str, Any]) -> ItemBank:
    cal = calibrate(responses, 4)
    return ItemBank(
        instrument,
        cal.items,
        codes,
        {
            **provenance,
            "log_likelihood": round(cal.log_likelihood, 3),
            "iterations": cal.iterations,
            "converged": cal.converged,
            "respondents": int(responses.shape[0]),
        },
    )


def save(bank: ItemBank, path: Path) -> None:
    data = {
        "instrument": bank.instrument,
        "model": "graded response (Samejima), theta ~ N(0,1)",
        "provenance": bank.provenance,
        "items": [
            {"code": c, "a": round(i.a, 4), "b": [round(v, 4) for v in i.b]}
            for c, i in zip(bank.codes, bank.items, strict=True)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def load(path: Path) -> ItemBank:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = [ItemParams(float(i["a"]), tuple(float(b) for b in i["b"])) for i in data["items"]]
    for i in items:
        if i.a <= 0 or list(i.b) != sorted(i.b):
            raise ValueError(f"{path}: discrimination must be positive and thresholds ordered")
    return ItemBank(data["instrument"], items, [i["code"] for i in data["items"]], data.get("provenance", {}))
