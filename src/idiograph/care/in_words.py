"""What the person's own page says, in plain words (pure): their questionnaire scores over time judged by each
instrument's one reliable-change rule (measures.change), and their preferences - what they are and what changed.

The same words are on the care page, so the team reads what the person read."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from idiograph.care.options import FORMAT_LABELS, PLACE_LABELS
from idiograph.instruments.definitions import Instrument
from idiograph.measures.change import MeasureChange, criterion, since_first

LONDON = ZoneInfo("Europe/London")

# what each questionnaire asks about, in the words a person would use (the short name is what their letters say)
ABOUT: dict[str, tuple[str, str]] = {
    "phq-9": ("PHQ-9", "low mood"),
    "phq-2": ("PHQ-2", "low mood, short check"),
    "gad-7": ("GAD-7", "anxiety"),
    "core-10": ("CORE-10", "overall distress"),
    "pcl-5": ("PCL-5", "effects of trauma"),
    "wsas": ("WSAS", "how problems affect daily life"),
    "audit": ("AUDIT", "alcohol use"),
    "dialog": ("DIALOG", "how satisfied you are with your life"),
}

DAY_WORDS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
PERIOD_WORDS = {"morning": "mornings", "afternoon": "afternoons", "evening": "evenings"}
CONTACT_WORDS = {"sms": "text message", "letter": "letter", "email": "email", "phone": "phone call"}
MAX_GOALS = 3


def short_date(when: datetime | date, today: date) -> str:
    """'3 Nov', with the year when it is not this year (Europe/London)."""
    day = when.astimezone(LONDON).date() if isinstance(when, datetime) else when
    return f"{day.day} {day:%b}" if day.year == today.year else f"{day.day} {day:%b %Y}"


def _num(value: float) -> str:
    """A score as written: whole totals as they are, a mean (DIALOG) to at most two decimal places."""
    return f"{round(value, 2):g}"


def _points(threshold: float) -> str:
    """A reliable-change threshold as the whole points a score must move (Jacobson-Truax gives a fraction; a
    total moves in whole points, so the next whole number up)."""
    return str(math.ceil(threshold - 1e-9))


@dataclass(frozen=True)
class ScoreStory:
    """One questionnaire's scores over time and what they say, for the person."""

    instrument: str
    name: str  # "PHQ-9 (low mood)"
    sentence: str
    points: tuple[tuple[datetime, float], ...]  # oldest first
    max_total: int
    how_judged: str  # the rule, one click away (never the headline)
    worse: bool  # a reliable change for the worse: the page points to help


def story(inst: Instrument, points: Sequence[tuple[datetime, float]], today: date) -> ScoreStory | None:
    """The sentence for one instrument's totals (any order); None with no totals.

    Reliable change and caseness are measures.change's (the national criterion where one exists, Jacobson &
    Truax 1991 otherwise), so the person's page says what the record says."""
    if not points:
        return None
    ordered = tuple(sorted(points))
    change = since_first(inst, [v for _, v in ordered])
    assert change is not None
    short, about = ABOUT.get(inst.id, (inst.title, ""))
    name = f"{short} ({about})" if about else short
    (first_at, first), (last_at, latest) = ordered[0], ordered[-1]
    kind = "average score" if inst.scoring == "mean" else "score"
    lead = f"Your {name} {kind} was {_num(latest)} on {short_date(last_at, today)}"
    sentence, worse = _judged(change, lead, first, short_date(first_at, today), inst.higher_is_better)
    rule = criterion(inst)
    scale = f"the {short} goes from {inst.min_total} to {inst.max_total}"
    meaning = (
        f"Higher scores mean you are more satisfied ({scale}; it is the average of your answers)"
        if inst.higher_is_better
        else f"Lower scores mean fewer difficulties ({scale})"
    )
    how = f"{meaning}. " + (
        f"A change counts as real when it is {_points(rule.threshold)} points or more: smaller changes can "
        "happen by chance from one week to the next."
        if rule
        else "There is no agreed size of a real change for this questionnaire, so none is judged."
    )
    return ScoreStory(inst.id, name, sentence, ordered, inst.max_total, how, worse)


def _judged(
    change: MeasureChange, lead: str, first: float, first_day: str, higher_is_better: bool = False
) -> tuple[str, bool]:
    """The sentence for a change; "better" follows the instrument's direction (down on PHQ-9, up on DIALOG)."""
    if change.n == 1:
        return f"{lead}. This is your first score, so there is nothing to compare it with yet.", False
    if change.change is None:
        return f"{lead}, compared with {_num(first)} when you started on {first_day}.", False
    latest = change.latest
    direction = change.change.direction
    better_way, worse_way = ("up", "down") if higher_is_better else ("down", "up")
    if direction == "improved":
        text = f"{lead}, {better_way} from {_num(first)} when you started: that is a big improvement."
        if change.case_first and change.case_latest is False:
            text += " It is now below the level where services usually offer treatment."
        return text, False
    if direction == "deteriorated":
        return (
            f"{lead}, {worse_way} from {_num(first)} when you started: that is a real change for the worse. Your "
            "care team can see your scores too; it may help to talk to them about it.",
            True,
        )
    if latest == first:
        return f"{lead}, the same as when you started.", False
    way = "down" if latest < first else "up"
    return (
        f"{lead}, {way} from {_num(first)} when you started: that is about the same (a change this small can "
        "happen by chance).",
        False,
    )


# -- preferences ---------------------------------------------------------------------------------------------


def _listed(values: Any, words: Mapping[str, str]) -> str:
    return ", ".join(words.get(str(v), str(v)) for v in values or [])


def preference_lines(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each stated preference as (label, words), in a fixed order; what was not said is left out."""
    out: list[tuple[str, str]] = []
    if data.get("days"):
        out.append(("Days", _listed([d for d in DAY_WORDS if d in data["days"]], DAY_WORDS)))
    if data.get("periods"):
        out.append(("Times of day", _listed([p for p in PERIOD_WORDS if p in data["periods"]], PERIOD_WORDS)))
    if data.get("times"):
        out.append(("Times", "; ".join(str(t) for t in data["times"])))
    if data.get("places"):
        out.append(("Places", _listed(data["places"], PLACE_LABELS)))
    if data.get("formats"):
        out.append(("Ways to meet", _listed(data["formats"], FORMAT_LABELS)))
    if data.get("communication"):
        out.append(("Contact by", _listed(data["communication"], CONTACT_WORDS)))
    if data.get("accessible_format"):
        out.append(("Accessible format", str(data["accessible_format"])))
    if data.get("language") or data.get("interpreter"):
        language = str(data.get("language") or "not said")
        out.append(("Language", f"{language} (interpreter needed)" if data.get("interpreter") else language))
    if data.get("therapist_gender") in ("female", "male"):
        out.append(("Therapist", "a woman preferred" if data["therapist_gender"] == "female" else "a man preferred"))
    if data.get("involve"):
        out.append(("Who to involve", ", ".join(str(x) for x in data["involve"])))
    for x in data.get("declined") or []:
        if isinstance(x, Mapping):
            out.append((f"Declined {x.get('what', '')}", str(x.get("why", "") or "no reason given")))
    if data.get("goals"):
        out.append(("Goals", "; ".join(str(g) for g in data["goals"])))
    return out


def preference_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed between two versions of the preferences, one line each: 'Days: Monday → Monday, Friday'
    ('not said' for nothing); an empty list when nothing did."""
    old, new = dict(preference_lines(before)), dict(preference_lines(after))
    labels = list(dict.fromkeys([*old, *new]))
    return [
        f"{label}: {old.get(label, 'not said')} → {new.get(label, 'not said')}"
        for label in labels
        if old.get(label) != new.get(label)
    ]
