"""How long to refuse sign-in after failures in a row (pure): exponential back-off to a cap, per account and per
client address. Found: 200 wrong passwords in a row, then the right one, signed in."""

from __future__ import annotations

from datetime import datetime, timedelta

ACCOUNT_FREE = 5  # failures in a row before an account is locked
ADDRESS_FREE = 20  # failures in a row from one address before it is refused (several people share an address)
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)


def lock_after(failures: int, free: int, now: datetime) -> datetime | None:
    """Locked until when, after ``failures`` in a row: none until ``free``, then 1, 2, 4 ... minutes, at most an
    hour."""
    if failures < free:
        return None
    doublings = min(failures - free, 10)  # 2**10 minutes is past the hour; unbounded, a long attack overflowed
    return now + min(FIRST_LOCK * (1 << doublings), LONGEST_LOCK)


def wait_seconds(locked_until: datetime | None, now: datetime) -> int:
    """Whole seconds left of a lock (0 when not locked)."""
    if locked_until is None or locked_until <= now:
        return 0
    return int((locked_until - now).total_seconds()) + 1
