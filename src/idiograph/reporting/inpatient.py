"""Follow-up within 72 hours of inpatient discharge and readmission within 30 days (issue 19's community
measures; pure, mypy --strict).

**Follow-up within 72 hours.** NHS England publishes it monthly from the Mental Health Services Data Set as
MHS78 (discharges from adult acute beds eligible for 72 hour follow up in the reporting period), MHS79 (of them,
followed up within 72 hours) and MHS80 (MHS79 / MHS78); NHS England's Core Data Pack takes the rate as MHS79 over
MHS78 (github.com/nhsengland/MHSDS, "MH Core Data Pack/Archive/Core Data Pack - 72hr FollowUps.txt"). The
standard is in Schedule 4A of the NHS Standard Contract since 1 April 2020: everyone discharged from an
ICB-commissioned adult mental health inpatient bed *to their place of residence, care home, residential
accommodation, or to non-psychiatric care* should be followed up within 72 hours; the national ambition is 80%
(NHS Digital, "72 hour follow ups for discharges from adult acute inpatient beds: quick guide to submitting
data"). Here:

* a **discharge** is the end of a hospital spell: the person's admission encounters (FHIR class in
  ``kpis.yaml`` ``admission_encounter_classes``) joined while one starts at or before the end of the one before
  (overlapping or back to back). Such a join is a **transfer** to another inpatient unit, not a discharge: it is
  not counted in either measure (the spell's discharge is the end of its last stay). A spell whose last stay has
  no end is still in hospital and is not a discharge. The spell is in the period when its end's day (Europe/London)
  is from the period's first to its last day, both included;
* eligible for follow-up: discharges whose last stay is an acute bed (``Rules.follow_up_classes``: IMP, ACUTE;
  NONAC non-acute stays, e.g. rehabilitation, are outside MHS78's adult acute beds and left out);
* **followed up**: an *attended* contact (an appointment with the outcome attended, in person, video, phone or
  group; a booked, missed or cancelled one does not count) starting after the discharge time and no later than
  exactly 72 hours after it (72:00:00 counts, 72:00:01 does not);
* **window still open**: a discharge whose 72 hours are not over at ``as_of`` is not judged, whether or not a
  contact has happened yet (counting early successes only would raise the rate), and is reported apart.

Exclusions that the data **cannot** apply (the database records no discharge destination or method, no death
date, no bed type beyond the FHIR class, no commissioner): died in hospital, discharged to prison or another
psychiatric unit elsewhere (other than a recorded stay that joins the spell), discharged abroad or with no fixed
abode, non-adult beds, and specialist-commissioned beds. They stay in the denominator, so the rate is a
conservative estimate of the national one.

**Readmission within 30 days.** No NHS England metric code for a mental health inpatient readmission rate could
be verified (the NHS Oversight Framework's mental health metrics that could be checked are the 72-hour follow-up
and inappropriate out-of-area placements), so this is the service's own definition, stated in full: among the
discharges (all admission classes) in the period, those followed by the same person's next admission starting
on the same day (Europe/London) or within the 30 days after the discharge's day, counted in whole calendar days
from the discharge day (day 30 counts, day 31 does not). A stay that starts before the discharge is a transfer
(above), never a readmission. A discharge whose 30th day is not over at ``as_of`` is not judged ("window still
open"). Only this service's recorded admissions are seen.

Both as numerator / denominator / rate with the Wilson 95% interval (``personalisation.rate``); the section is
"not available" (never 0%) when no inpatient discharge with an end is recorded in the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from idiograph.reporting.personalisation import rate

VERSION = "inpatient-discharge-measures/2026-12.1"
ATTENDED = "attended"
SOURCE = (
    "Follow-up within 72 hours: MHSDS MHS79 / MHS78 (NHS England Mental Health Services Monthly Statistics; NHS "
    "Standard Contract Schedule 4A since April 2020; national ambition 80%). Readmission within 30 days: this "
    "service's definition (no NHS England metric logic verified)."
)
NOT_APPLIED = (
    "died in hospital",
    "discharged to prison or to a psychiatric unit elsewhere (unless recorded here as a joining stay)",
    "discharged abroad or of no fixed abode",
    "non-adult and specialist-commissioned beds",
)


@dataclass(frozen=True)
class Rules:
    """The measures' parameters (NHS England's 72 hours; the service's 30 days) and the service's day."""

    follow_up_hours: int = 72
    readmission_days: int = 30
    follow_up_classes: tuple[str, ...] = ("IMP", "ACUTE")
    timezone: str = "Europe/London"


@dataclass(frozen=True)
class Stay:
    """One inpatient admission encounter. ``end`` is None while the person is still in."""

    person: str
    start: datetime
    end: datetime | None
    class_code: str = "IMP"


@dataclass(frozen=True)
class Contact:
    """One appointment (or other contact) with its outcome (``attended``, ``did_not_attend``, ``booked``...)."""

    person: str
    start: datetime
    status: str


@dataclass(frozen=True)
class Spell:
    """Stays joined by transfers: admitted at ``start``, discharged at ``end`` (None: still in hospital)."""

    person: str
    start: datetime
    end: datetime | None
    last_class: str
    stays: int  # more than 1: the person was transferred between inpatient units within the spell


@dataclass(frozen=True)
class Measure:
    """One measure over the period's discharges: judged ones and those whose window is still open."""

    numerator: int
    denominator: int
    window_still_open: int
    not_eligible: int = 0  # follow-up: discharges from a non-acute stay (outside MHS78)

    def as_dict(self) -> dict[str, Any]:
        return {
            **rate(self.numerator, self.denominator),
            "window_still_open": self.window_still_open,
            "not_eligible": self.not_eligible,
        }


def _aware(at: datetime, field: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{field}: {at.isoformat()} has no time zone (times must be timezone-aware)")
    return at


def spells(stays: Sequence[Stay]) -> list[Spell]:
    """Each person's stays joined into hospital spells: a stay starting at or before the end of the spell so far
    (or while it has no end) is a transfer within it. Sorted by person, then admission."""
    by_person: dict[str, list[Stay]] = defaultdict(list)
    for s in stays:
        _aware(s.start, "stay.start")
        if s.end is not None and _aware(s.end, "stay.end") < s.start:
            raise ValueError(f"stay.end: {s.end.isoformat()} is before its start {s.start.isoformat()}")
        by_person[s.person].append(s)
    out: list[Spell] = []
    for person in sorted(by_person):
        current: Spell | None = None
        for s in sorted(by_person[person], key=lambda x: (x.start, x.end is None, x.end or x.start)):
            if current is not None and (current.end is None or s.start <= current.end):
                ends_later = current.end is not None and (s.end is None or s.end >= current.end)
                current = Spell(
                    person,
                    current.start,
                    s.end if ends_later else current.end,
                    s.class_code if ends_later else current.last_class,
                    current.stays + 1,
                )
                continue
            if current is not None:
                out.append(current)
            current = Spell(person, s.start, s.end, s.class_code, 1)
        if current is not None:
            out.append(current)
    return out


def _day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def discharges(stays: Sequence[Stay], start: date, end: date, rules: Rules = Rules()) -> list[Spell]:
    """The spells that ended (discharge) on a day from ``start`` to ``end`` (both included, the service's days)."""
    if end < start:
        raise ValueError(f"to: {end} is before from: {start}")
    zone = ZoneInfo(rules.timezone)
    return [s for s in spells(stays) if s.end is not None and start <= _day(s.end, zone) <= end]


def follow_up(
    stays: Sequence[Stay],
    contacts: Sequence[Contact],
    start: date,
    end: date,
    as_of: datetime,
    rules: Rules = Rules(),
) -> Measure:
    """Acute discharges in the period followed up by an attended contact within ``rules.follow_up_hours``."""
    _aware(as_of, "as_of")
    window = timedelta(hours=rules.follow_up_hours)
    attended: dict[str, list[datetime]] = defaultdict(list)
    for c in contacts:
        if c.status == ATTENDED:
            attended[c.person].append(_aware(c.start, "contact.start"))
    judged = followed = still_open = non_acute = 0
    for s in discharges(stays, start, end, rules):
        if s.last_class not in rules.follow_up_classes:
            non_acute += 1
            continue
        assert s.end is not None
        if as_of < s.end + window:
            still_open += 1
            continue
        judged += 1
        followed += any(s.end < t <= s.end + window for t in attended.get(s.person, ()))
    return Measure(followed, judged, still_open, non_acute)


def readmission(stays: Sequence[Stay], start: date, end: date, as_of: datetime, rules: Rules = Rules()) -> Measure:
    """Discharges in the period followed by the person's next admission within ``rules.readmission_days`` days."""
    _aware(as_of, "as_of")
    zone = ZoneInfo(rules.timezone)
    every = spells(stays)
    admitted: dict[str, list[datetime]] = defaultdict(list)
    for s in every:
        admitted[s.person].append(s.start)
    judged = readmitted = still_open = 0
    for s in discharges(stays, start, end, rules):
        assert s.end is not None
        day = _day(s.end, zone)
        closes = datetime.combine(day + timedelta(days=rules.readmission_days + 1), time(0), tzinfo=zone)
        if as_of < closes:
            still_open += 1
            continue
        judged += 1
        readmitted += any(
            t > s.end and (_day(t, zone) - day).days <= rules.readmission_days for t in admitted[s.person]
        )
    return Measure(readmitted, judged, still_open)


def summary(
    stays: Sequence[Stay],
    contacts: Sequence[Contact],
    start: date,
    end: date,
    as_of: datetime,
    rules: Rules = Rules(),
) -> dict[str, Any]:
    """Both measures for the period as a section of the KPI document; not available when no discharge is recorded."""
    ended = discharges(stays, start, end, rules)
    doc: dict[str, Any] = {
        "version": VERSION,
        "source": SOURCE,
        "as_of": _aware(as_of, "as_of").isoformat(),
        "discharges": len(ended),
        "transfers": sum(s.stays - 1 for s in ended),
        "exclusions_not_applied": list(NOT_APPLIED),
    }
    if not ended:
        return {
            **doc,
            "available": False,
            "reason": "no inpatient discharge with an end date is recorded in the period",
            "follow_up_72_hours": None,
            "readmission_30_days": None,
        }
    return {
        **doc,
        "available": True,
        "follow_up_72_hours": follow_up(stays, contacts, start, end, as_of, rules).as_dict(),
        "readmission_30_days": readmission(stays, start, end, as_of, rules).as_dict(),
    }
