"""Alert kinds and the lifecycle as pure rules: raised -> seen -> acted (note required) -> closed."""

from __future__ import annotations

from enum import StrEnum

from idiograph.text import visible_length


class Kind(StrEnum):
    SAFETY = "safety"  # a safety item answered above its lowest option (PHQ-9 item 9)
    SAFETY_UNANSWERED = "safety-unanswered"  # a safety item left unanswered: ask it
    NOT_ON_TRACK = "not-on-track"  # a score above the expected-recovery boundary
    DEVIATION = "deviation"  # a result outside the person's own range, or a sustained change
    RELAPSE = "relapse"  # a rise after discharge from the recovered baseline


# most urgent first: how a person's open alerts are listed (worklist.priority ranks people the same way)
SEVERITY = (Kind.SAFETY, Kind.RELAPSE, Kind.SAFETY_UNANSWERED, Kind.NOT_ON_TRACK, Kind.DEVIATION)
# kinds whose repeats join the open alert of their group as history instead of being dropped: every safety answer
# is kept and shown, under one alert to act on
STACKED = frozenset({Kind.SAFETY})


class Status(StrEnum):
    RAISED = "raised"
    SEEN = "seen"
    ACTED = "acted"
    CLOSED = "closed"


ORDER = (Status.RAISED, Status.SEEN, Status.ACTED, Status.CLOSED)
OPEN = (Status.RAISED, Status.SEEN, Status.ACTED)


def transition_problem(current: str, target: str, note: str | None) -> str | None:
    """Why ``current -> target`` is not allowed, or None when it is."""
    if current not in ORDER or target not in ORDER:
        return f"unknown status {target!r}"
    if current == Status.CLOSED:
        return "the alert is closed"
    if ORDER.index(Status(target)) <= ORDER.index(Status(current)):
        return f"the alert is already {current}"
    if target == Status.ACTED and visible_length(note) < 5:
        return "record what was done (at least 5 characters)"
    if target == Status.CLOSED and current != Status.ACTED:
        return "record what was done before closing the alert"
    return None
