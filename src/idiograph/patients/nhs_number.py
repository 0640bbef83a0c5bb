"""NHS number validation (modulus 11, NHS Data Dictionary "NHS Number")."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\d{10}$")


def normalise(value: str) -> str:
    """Strip the spaces and hyphens people type (``943 476 5919``)."""
    return re.sub(r"[\s-]", "", value)


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits; None when the remainder makes the number invalid."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def is_valid(value: str) -> bool:
    n = normalise(value)
    if not _DIGITS.match(n):
        return False
    expected = check_digit(n[:9])
    return expected is not None and expected == int(n[9])


def validate(value: str) -> str:
    """The normalised number, or ValueError saying why it is not an NHS number."""
    n = normalise(value)
    if not _DIGITS.match(n):
        raise ValueError("an NHS number has exactly 10 digits")
    if not is_valid(n):
        raise ValueError("check digit does not match (modulus 11)")
    return n
