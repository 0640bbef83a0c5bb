"""Appointment slots ranked by fit to the person's stated preferences, and iCalendar export (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from idiograph.care.options import FORMAT_LABELS, FORMATS, PLACE_LABELS, PLACES, coherent

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21)}
HOURS = (9, 10, 11, 13, 14, 15, 16, 17, 18)


@dataclass(frozen=True)
class Slot:
    start: datetime  # timezone-aware
    place: str
    format: str
    score: float = 0.0
    reasons: tuple[str, ...] = ()


def period_of(t: datetime) -> str:
    h = t.astimezone(LONDON).hour
    for name, (lo, hi) in PERIODS.items():
        if lo <= h < hi:
            return name
    return "other"


def candidates(
    first_day: date,
    days: int,
    busy: Iterable[datetime] = (),
    hours: Sequence[int] = HOURS,
    minutes: int = 50,
) -> list[Slot]:
    """Every hour the service offers (Europe/London) in every sensible place and format, avoiding the
    person's other appointments (within ``minutes`` either side)."""
    taken = [b.astimezone(LONDON) for b in busy]
    out = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        for h in hours:
            start = datetime.combine(day, time(h), LONDON)
            if any(abs((start - b).total_seconds()) < minutes * 60 for b in taken):
                continue
            for place in PLACES:
                for fmt in FORMATS:
                    if coherent(place, fmt) is None and not (
                        fmt in ("video", "phone") and place not in ("home", "remote")
                    ):
                        out.append(Slot(start, place, fmt))
    return out


def score(slot: Slot, prefs: dict[str, Any]) -> Slot:
    """Share of the person's stated preferences the slot meets (each stated one counts once), with reasons.
    Nothing stated scores 1: every slot fits someone who has no preference."""
    checks: list[tuple[bool, str]] = []
    local = slot.start.astimezone(LONDON)
    if prefs.get("days"):
        day = DAYS[local.weekday()]
        checks.append(
            (day in prefs["days"], f"{'preferred' if day in prefs['days'] else 'not a preferred'} day ({day})")
        )
    if prefs.get("periods"):
        p = period_of(slot.start)
        checks.append(
            (p in prefs["periods"], f"{'preferred' if p in prefs['periods'] else 'not a preferred'} time of day ({p})")
        )
    if prefs.get("places"):
        ok = slot.place in prefs["places"]
        checks.append((ok, f"{PLACE_LABELS[slot.place]}{' as preferred' if ok else ', not preferred'}"))
    if prefs.get("formats"):
        ok = slot.format in prefs["formats"]
        checks.append((ok, f"{FORMAT_LABELS[slot.format]}{' as preferred' if ok else ', not preferred'}"))
    declined = {str(d.get("what", "")).lower() for d in prefs.get("declined", []) if isinstance(d, dict)}
    if slot.format in declined or slot.place in declined:
        checks.append((False, f"declined {slot.format if slot.format in declined else slot.place}"))
    value = sum(ok for ok, _ in checks) / len(checks) if checks else 1.0
    return Slot(slot.start, slot.place, slot.format, value, tuple(r for _, r in checks))


def rank(slots: Iterable[Slot], prefs: dict[str, Any], limit: int = 10) -> list[Slot]:
    """Best fit first; equal fit, earliest first."""
    return sorted((score(s, prefs) for s in slots), key=lambda s: (-s.score, s.start, s.place, s.format))[:limit]


def _ics_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 section 3.3.11)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def icalendar(appointments: Iterable[Any], organiser: str, now: datetime) -> str:
    """An RFC 5545 calendar of booked appointments: when, how and where only - no clinical detail."""
    stamp = now.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//idiograph//appointments//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for a in appointments:
        if a.status != "booked":
            continue
        start = a.start.astimezone(ZoneInfo("UTC"))
        end = start + timedelta(minutes=a.minutes)
        how = f"{FORMAT_LABELS[a.format]} ({PLACE_LABELS[a.place]})"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{a.id}@idiograph",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{_ics_text('Appointment: ' + how)}",
            f"LOCATION:{_ics_text(PLACE_LABELS[a.place])}",
            f"DESCRIPTION:{_ics_text(f'With {a.with_whom or organiser}. To change it, contact your care team.')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
