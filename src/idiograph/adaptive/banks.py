"""Adaptive item banks as data: the shipped YAML files under ``adaptive/banks/``, validated against the
instrument definitions when loaded, and the calibration that reproduces the PHQ-9 bank from NHANES DPQ_J.

Split (never judge in-sample): respondents with an EVEN SEQN calibrate the bank and choose the default rule's
thresholds; respondents with an ODD SEQN are kept for judging (``idiograph adaptive evaluate``). SEQN is
NHANES's respondent number, assigned before any answer was given, so its parity is unrelated to the answers.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from numpy.typing import NDArray

from idiograph.adaptive.engine import Bank, Rule
from idiograph.adaptive.grm import ItemParams, calibrate

BANKS = Path(__file__).parent / "banks"
NHANES_COLUMNS = tuple(f"DPQ0{i}0" for i in range(1, 10))  # in PHQ-9 item order (the instrument YAML's order)
Split = Literal["even", "odd", "all"]


def _path(instrument: str) -> Path:
    return BANKS / f"{instrument}.yaml"


def available() -> list[str]:
    return sorted(p.stem for p in BANKS.glob("*.yaml"))


def bank_from_data(data: dict[str, Any], where: str = "bank") -> Bank:
    """A Bank from a parsed bank file, refusing anything the engine could not use safely."""
    from idiograph.instruments.definitions import instruments

    instrument = str(data["instrument"])
    items = tuple(ItemParams(float(i["a"]), tuple(float(b) for b in i["b"])) for i in data["items"])
    codes = tuple(str(i["code"]) for i in data["items"])
    for code, item in zip(codes, items, strict=True):
        if item.a <= 0 or list(item.b) != sorted(item.b) or len(set(item.b)) != len(item.b):
            raise ValueError(f"{where}: {code}: discrimination must be positive and thresholds strictly ordered")
    known = instruments().get(instrument)
    if known is not None:
        expected = tuple(i.code for i in known.items)
        if set(codes) != set(expected) or len(codes) != len(expected):
            raise ValueError(f"{where}: items {codes} are not the {instrument} items {expected}")
        categories = len(known.answers)
        for code, item in zip(codes, items, strict=True):
            if len(item.b) != categories - 1:
                need = categories - 1
                raise ValueError(f"{where}: {code} has {len(item.b)} thresholds; {instrument} answers need {need}")
    always = tuple(str(c) for c in data.get("always", []))
    if known is not None:
        safety = {i.code for i in known.items if i.safety}
        if not safety <= set(always):
            raise ValueError(f"{where}: the safety item(s) {sorted(safety)} must be in 'always'")
        if set(always[: len(safety)]) != safety:  # asked first, before anything else could stop or distract
            raise ValueError(f"{where}: the safety item(s) {sorted(safety)} must come first in 'always'")
    if any(c not in codes for c in always):
        raise ValueError(f"{where}: 'always' names an item not in the bank")
    return Bank(
        instrument=instrument,
        codes=codes,
        items=items,
        always=always,
        provisional=bool(data.get("provisional", False)),
        version=str(data["version"]),
    )


@lru_cache(maxsize=16)
def _data(instrument: str) -> dict[str, Any]:
    path = _path(instrument)
    if not path.exists():
        raise KeyError(f"no adaptive item bank for {instrument!r} (have: {', '.join(available())})")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=16)
def load_bank(instrument: str) -> Bank:
    """The shipped bank for an instrument ("phq-9", "gad-7"); KeyError when there is none."""
    return bank_from_data(_data(instrument), str(_path(instrument)))


def default_rule(instrument: str) -> Rule:
    """The product's rule for an instrument, chosen on the calibration split only (see the bank file)."""
    rule = _data(instrument).get("default_rule", {})
    bank = load_bank(instrument)
    return Rule(
        stop=rule.get("stop", "classification"),
        cut=int(rule.get("cut", 10)),
        confidence=float(rule.get("confidence", 0.95)),
        se=float(rule.get("se", 0.3)),
        max_items=int(rule.get("max_items", len(bank.codes))),
    )


def provenance(instrument: str) -> dict[str, Any]:
    out: dict[str, Any] = _data(instrument).get("provenance", {})
    return out


# --- reading response files ---------------------------------------------------------------------------------


def read_nhanes(path: Path) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """SEQN and the nine PHQ-9 answers from an NHANES DPQ file; 7 (refused), 9 (don't know) and blank -> -1."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in ("SEQN", *NHANES_COLUMNS) if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: not an NHANES DPQ file (missing columns {', '.join(missing)})")

    def val(v: str | None) -> int:
        if v is None or not v.strip():
            return -1
        n = int(float(v))
        return n if n in (0, 1, 2, 3) else -1

    seqn = np.array([int(float(r["SEQN"])) for r in rows], dtype=np.int64)
    x = np.array([[val(r[c]) for c in NHANES_COLUMNS] for r in rows], dtype=np.int8).reshape(len(rows), 9)
    return seqn, x


def split_mask(seqn: NDArray[np.int64], split: Split) -> NDArray[np.bool_]:
    if split == "all":
        return np.ones(seqn.shape[0], dtype=bool)
    out: NDArray[np.bool_] = (seqn % 2 == 0) if split == "even" else (seqn % 2 == 1)
    return out


# --- calibration ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> str:
    from idiograph import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return f"idiograph {__version__}" + (f" (git {commit})" if commit else "")


def calibrate_phq9(path: Path, split: Split = "even", default: dict[str, Any] | None = None) -> dict[str, Any]:
    """The PHQ-9 bank file's content, fitted by MML-EM (idiograph.adaptive.grm) on one SEQN split of an NHANES
    DPQ file: every respondent of the split with at least one valid item (missing answers skipped, not zero)."""
    from idiograph.instruments.definitions import instruments

    seqn, x = read_nhanes(path)
    keep = split_mask(seqn, split) & (x >= 0).any(axis=1)
    fit = calibrate(x[keep], 4)
    codes = [i.code for i in instruments()["phq-9"].items]
    safety = [i.code for i in instruments()["phq-9"].items if i.safety]
    day = datetime.now(UTC).date().isoformat()
    split_text = {
        "even": "calibrated on EVEN SEQN; ODD SEQN kept for judging",
        "odd": "calibrated on ODD SEQN; EVEN SEQN kept for judging",
        "all": "calibrated on ALL respondents (nothing held out: not for judging)",
    }[split]
    return {
        "instrument": "phq-9",
        "model": "graded response (Samejima), theta ~ N(0,1)",
        "provisional": False,
        "version": f"nhanes-dpq-j-{split}-seqn",
        "always": safety,
        "default_rule": default or {"stop": "classification", "cut": 10, "confidence": 0.95, "max_items": 9},
        "provenance": {
            "source": f"NHANES 2017-2018 DPQ_J (CDC/NCHS), {path.name}, sha256 {_sha256(path)}",
            "split": split_text,
            "respondents": int(keep.sum()),
            "complete_respondents": int(((x >= 0).all(axis=1) & keep).sum()),
            "missing": "7 (refused), 9 (don't know) and blank are missing; rows with no valid item are left out",
            "weights": "unweighted: not nationally representative",
            "method": "marginal maximum likelihood, EM over 61 quadrature nodes (idiograph.adaptive.grm.calibrate)",
            "log_likelihood": round(fit.log_likelihood, 3),
            "iterations": fit.iterations,
            "converged": fit.converged,
            "date": day,
            "code_version": code_version(),
            "reproduce": f"idiograph adaptive calibrate --responses {path.name} --out phq-9.yaml --split {split}",
        },
        "items": [
            {"code": c, "a": round(i.a, 4), "b": [round(v, 4) for v in i.b]}
            for c, i in zip(codes, fit.items, strict=True)
        ],
    }


def write_bank(data: dict[str, Any], path: Path) -> None:
    bank_from_data(data, str(path))  # refuse to write what could not be loaded
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
