"""The alert lifecycle as pure rules: raised -> seen -> acted (note required) -> closed."""

from __future__ import annotations

ORDER = ("raised", "seen", "acted", "closed")
OPEN = ("raised", "seen", "acted")


def transition_problem(current: str, target: str, note: str | None) -> str | None:
    """Why ``current -> target`` is not allowed, or None when it is."""
    if current not in ORDER or target not in ORDER:
        return f"unknown status {target!r}"
    if current == "closed":
        return "the alert is closed"
    if ORDER.index(target) <= ORDER.index(current):
        return f"the alert is already {current}"
    if target == "acted" and not (note and len(note.strip()) >= 5):
        return "record what was done (at least 5 characters)"
    if target == "closed" and current != "acted":
        return "record what was done before closing the alert"
    return None
