"""Small-number suppression for published counts (pure).

Follows the NHS England statistical-disclosure convention used in NHS Talking Therapies publications:
counts from 1 to 7 are suppressed, and all other counts are rounded to the nearest 5."""

from __future__ import annotations

SUPPRESSED = "*"


def safe_count(n: int) -> int | str:
    if n < 0:
        raise ValueError("counts are never negative")
    if n == 0:
        return 0
    if n <= 7:
        return SUPPRESSED
    return int(5 * round(n / 5))
