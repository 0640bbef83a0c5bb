"""When an appointment may start (pure): the same window for a booking and for a move."""

from __future__ import annotations

from datetime import datetime, timedelta

BOOKING_SLACK = timedelta(minutes=5)
FURTHEST_AHEAD = timedelta(days=2 * 366)


def booking_window(start: datetime, now: datetime) -> str | None:
    """Why an appointment cannot start then, or None: not in the past (5 minutes' slack for a booking made as
    the person arrives), and not more than two years ahead (once: an appointment could be booked in 1900)."""
    if start < now - BOOKING_SLACK:
        return "must not be in the past"
    if start > now + FURTHEST_AHEAD:
        return "must be within two years from now"
    return None
