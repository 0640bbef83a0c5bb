"""The demo's care as a team would record it (pure): risk levels drawn from what the person answered, the words
of a risk assessment, stated preferences, a crisis plan, a change of appointment towards what they asked for and
a review's note. Drawn from a stream of the demo's own, so the generated service is the same with or without it.

Levels: a talking-therapies service assesses most people as low risk and few as high; a community mental health
team sees more at medium and high. A thought of being better off dead or of self-harm (PHQ-9 item 9 above 0)
makes a higher level more likely, the more so the more often it was there. The shares are the demo's choice, not
a calibration to national figures (there are none for recorded risk levels)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from idiograph.synth.common import GIVEN_F, GIVEN_M, pick

# P(level) by team kind at assessment, and after an item-9 answer above 0 by its value
AT_ASSESSMENT = {
    "talking_therapies": {"low": 0.85, "medium": 0.14, "high": 0.01},
    "cmht": {"low": 0.35, "medium": 0.50, "high": 0.15},
}
AFTER_ITEM9 = {
    1: {"low": 0.62, "medium": 0.35, "high": 0.03},
    2: {"low": 0.20, "medium": 0.68, "high": 0.12},
    3: {"low": 0.05, "medium": 0.65, "high": 0.30},
}
LANGUAGES = {"en": "English", "pl": "Polish", "ur": "Urdu", "pa": "Punjabi", "bn": "Bengali", "ro": "Romanian"}
ITEM9_WORDS = {1: "on several days", 2: "on more than half the days", 3: "nearly every day"}


def level_at_assessment(rng: np.random.Generator, team_kind: str, item9: int | None) -> str:
    """The level recorded at assessment: the team's usual mix, or the item-9 answer's when it was above 0."""
    if item9:
        return pick(rng, AFTER_ITEM9[min(item9, 3)])
    return pick(rng, AT_ASSESSMENT.get(team_kind, AT_ASSESSMENT["talking_therapies"]))


def level_after(rng: np.random.Generator, item9: int) -> str:
    """The level recorded when the team reassessed after an item-9 answer above 0."""
    return pick(rng, AFTER_ITEM9[min(max(item9, 1), 3)])


def risk_summary(rng: np.random.Generator, level: str, item9: int | None, reassessed: bool) -> str:
    """What the assessor wrote, in a clinician's words."""
    asked = (
        f"PHQ-9 item 9 answered '{ITEM9_WORDS[min(item9, 3)]}'; asked directly."
        if item9
        else "No thoughts of being better off dead or of self-harm on the PHQ-9; asked directly."
    )
    when = "Reassessed after their questionnaire answer. " if reassessed else ""
    protective = pick(
        rng,
        {
            "Protective factors: close to their children.": 1,
            "Protective factors: partner and work.": 1,
            "Protective factors: faith and their sister nearby.": 1,
            "Protective factors: their dog and a friend they see weekly.": 1,
        },
    )
    if level == "low":
        body = "No plan or intent to harm themselves; no history of self-harm. Routine monitoring."
    elif level == "medium":
        body = pick(
            rng,
            {
                "Fleeting thoughts of not wanting to be here, no plan or intent; one overdose ten years ago. "
                "Safety plan talked through; knows how to reach the crisis line.": 1,
                "Passive thoughts of death when things pile up, no plan; drinking more at weekends. "
                "Agreed to tell their therapist if the thoughts get stronger.": 1,
                "Thoughts of self-harm at night, no recent acts; lives alone. Reviewed at each session.": 1,
            },
        )
    else:
        body = pick(
            rng,
            {
                "Thoughts of ending their life most days with a plan; cut themselves last month. Crisis plan "
                "written with them; contact from the team twice a week; GP informed.": 1,
                "Said they have a plan to end their life and had thought about when; recent loss of their job. "
                "Crisis plan agreed; crisis team aware; means restriction discussed with their partner.": 1,
                "Repeated self-harm over the last fortnight and hopelessness about the future. Crisis plan "
                "updated; seen weekly by the team, calls in between.": 1,
            },
        )
    return f"{when}{asked} {body} {protective}"


def preferences(rng: np.random.Generator, prefers: tuple[str, str, str], language: str | None) -> dict[str, Any]:
    """What the person told their team, in the shape the care page saves (``care.api.PreferencesIn`` plus goals):
    the format, place and time of day the generator drew for them, and days, contact, language and goals."""
    fmt, place, period = prefers
    days = sorted(
        rng.choice(["mon", "tue", "wed", "thu", "fri"], size=int(rng.integers(2, 5)), replace=False).tolist(),
        key=["mon", "tue", "wed", "thu", "fri"].index,
    )
    formats = [fmt] + (["phone"] if fmt == "video" and rng.random() < 0.4 else [])
    places = [place] + (["home"] if place == "clinic" and rng.random() < 0.2 else [])
    spoken = LANGUAGES.get(language or "en", language) if language and language != "en" else None
    data: dict[str, Any] = {
        "days": days,
        "periods": [period],
        "times": ["Not before 10 on Mondays (school run)"] if rng.random() < 0.15 else [],
        "places": places,
        "formats": formats,
        "communication": [pick(rng, {"sms": 0.5, "email": 0.2, "letter": 0.15, "phone": 0.15})],
        "accessible_format": "Large print letters" if rng.random() < 0.04 else None,
        "language": spoken,
        "interpreter": bool(spoken and rng.random() < 0.6),
        "involve": [f"{pick(rng, {'Partner': 2, 'Mother': 1, 'Sister': 1, 'Friend': 1})}, {_given(rng)}"]
        if rng.random() < 0.35
        else [],
        "declined": [{"what": "group therapy", "why": "Does not want to talk in front of others"}]
        if rng.random() < 0.08
        else [],
        "goals": rng.choice(GOALS, size=int(rng.integers(1, 4)), replace=False).tolist(),
    }
    return data


GOALS = (
    "Get back to work",
    "Sleep through the night",
    "Go to the shops on my own",
    "See my friends again",
    "Feel less on edge",
    "Stop drinking on weeknights",
    "Take the children to school",
    "Enjoy cooking again",
)


def changed_preferences(rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
    """A later version: their days or time of day changed (a new job, a new timetable)."""
    new = dict(data)
    if rng.random() < 0.5:
        new["periods"] = ["evening"] if data.get("periods") != ["evening"] else ["morning"]
        new["times"] = ["Started a new job: after 5 pm on weekdays"] if new["periods"] == ["evening"] else []
    else:
        new["days"] = [d for d in ("mon", "wed", "fri") if d not in (data.get("days") or [])] or ["tue", "thu"]
    return new


def _given(rng: np.random.Generator) -> str:
    names = GIVEN_F if rng.random() < 0.5 else GIVEN_M
    return names[int(rng.integers(len(names)))]


def _mobile(rng: np.random.Generator) -> str:
    """A mobile number from the range Ofcom keeps for drama (07700 900000-900999): never a real person's."""
    return f"07700 900{int(rng.integers(1000)):03d}"


def crisis_plan(rng: np.random.Generator, team: str, coordinator: str, version: int) -> dict[str, Any]:
    """A crisis plan as the care page saves it; numbers are from Ofcom's drama ranges, national lines real."""
    triggers = (
        "Arguments at home",
        "Letters about debt",
        "The anniversary of their father's death",
        "Drinking more than usual",
        "Weekends alone",
        "Trouble with their housing",
        "Nights without sleep",
    )
    signs = (
        "Stops answering the phone",
        "Sleeps in the day and is awake at night",
        "Stops eating",
        "Talks about being a burden",
        "Gives belongings away",
        "Misses appointments",
        "Stops taking their medication",
    )
    helps = (
        "A walk with their sister",
        "Talking to someone they trust",
        "Music and a hot shower",
        "Being reminded of their children",
        "Calling the crisis line early",
        "Sitting in the garden",
    )
    unhelpful = ("Being told to cheer up", "Being left alone for long", "Loud, busy places", "Being rushed")
    relative = f"{pick(rng, {'Sister': 1, 'Partner': 1, 'Brother': 1, 'Friend': 1})} {_given(rng)}"
    return {
        "triggers": _some(rng, triggers, 2, 3),
        "warning_signs": _some(rng, signs, 2, 4),
        "what_helps": _some(rng, helps, 2, 3),
        "what_does_not_help": _some(rng, unhelpful, 1, 2),
        "contacts": [
            f"{coordinator}, {team}, on 0113 496 0{int(rng.integers(1000)):03d} (weekdays 9 to 5)",
            f"{relative} on {_mobile(rng)}",
            "Crisis line (24 hours) 0808 157 0192",
            "NHS 111, option 2; Samaritans 116 123",
        ],
        "crisis_care_preferences": pick(
            rng,
            {
                "Would rather be seen at home than go to A&E.": 1,
                "If admitted, would like their sister told and their cat looked after.": 1,
                "Prefers a woman worker when in crisis.": 1,
            },
        ),
        "advance_statement": "Does not want to be restrained; lorazepam has helped before." if version > 1 else None,
        "copies_held_by": ["The person", "GP", "Crisis team"],
    }


def _some(rng: np.random.Generator, items: Sequence[str], low: int, high: int) -> list[str]:
    return [str(x) for x in rng.choice(list(items), size=int(rng.integers(low, high + 1)), replace=False)]


def change_towards(prefs: dict[str, Any], place: str, fmt: str) -> tuple[dict[str, str], str] | None:
    """The change of an appointment towards what the person asked for (payload and rationale), or None when it
    already fits. A video or phone call may be taken from home; a remote appointment cannot be in person."""
    want_fmt = (prefs.get("formats") or [fmt])[0]
    want_place = (prefs.get("places") or [place])[0]
    if want_fmt in ("video", "phone"):
        want_place = "remote" if want_place not in ("home", "remote") else want_place
    elif want_place == "remote":
        want_place = "clinic"
    payload: dict[str, str] = {}
    if want_fmt != fmt:
        payload["format"] = want_fmt
    if want_place != place:
        payload["place"] = want_place
    if not payload:
        return None
    why = {
        "video": "Asked to be seen by video: works shifts and cannot get to clinic",
        "phone": "Asked for phone sessions: no private space for video at home",
        "in_person": "Asked to be seen in person: finds calls hard to concentrate on",
        "group": "Asked to join the group",
    }[want_fmt]
    if want_place == "home" and want_fmt == "in_person":
        why = "Asked to be seen at home: struggles to travel at the moment"
    elif want_place == "community" and want_fmt == "in_person":
        why = "Asked to be seen at the community venue near them: two buses to clinic"
    return payload, why


def review_note(week: int, phq9: Sequence[tuple[datetime, float]], upto: datetime) -> str:
    """The note a review records: the PHQ-9 since the first score and what was agreed."""
    seen = [v for t, v in phq9 if t <= upto]
    if len(seen) < 2:
        return f"Week {week} review: too few PHQ-9 scores to judge change; carry on and score each session."
    first, latest = int(seen[0]), int(seen[-1])
    if latest <= first - 6:
        plan = "reliable improvement; carry on as planned"
    elif latest >= first + 6:
        plan = "reliably worse; discussed with the senior clinician, reviewing the intervention"
    else:
        plan = "no reliable change yet; goals revisited, carry on and review at the next point"
    return f"Week {week} review: PHQ-9 {first} at the start, {latest} now; {plan}."
