"""Conversions between the UCUM units real feeds use for the same quantity (pure).

Only exact, dimension-preserving factors; anything else is refused rather than guessed."""

from __future__ import annotations

_FACTORS: dict[tuple[str, str], float] = {
    ("g/dL", "g/L"): 10.0,
    ("mg/mL", "g/L"): 1.0,
    ("10*3/uL", "10*9/L"): 1.0,
    ("10*3/mm3", "10*9/L"): 1.0,
    ("/nL", "10*9/L"): 1.0,
    ("meq/L", "mmol/L"): 1.0,  # lithium is monovalent: 1 mEq = 1 mmol
    ("u[IU]/mL", "m[IU]/L"): 1.0,
    ("m[IU]/mL", "m[IU]/L"): 1000.0,
    ("min", "h"): 1.0 / 60.0,
    ("g", "kg"): 0.001,
    ("[lb_av]", "kg"): 0.45359237,
    ("/(24.h)", "/d"): 1.0,
    ("/d", "/(24.h)"): 1.0,
    ("{steps}", "/(24.h)"): 1.0,
    ("{score}", "1"): 1.0,
    ("1", "{score}"): 1.0,
    ("{#}", "{score}"): 1.0,
    ("{Score}", "{score}"): 1.0,
}


def convert(value: float, from_unit: str, to_unit: str) -> float | None:
    """``value`` in ``to_unit``, or None when no exact conversion is known."""
    if from_unit == to_unit:
        return value
    factor = _FACTORS.get((from_unit, to_unit))
    return None if factor is None else value * factor
