"""The vocabulary of appointments (pure): places, formats, statuses, and what a change may contain."""

from __future__ import annotations

PLACES = ("clinic", "home", "community", "remote")
FORMATS = ("in_person", "video", "phone", "group")
STATUSES = ("booked", "attended", "did_not_attend", "cancelled_by_person", "cancelled_by_service")
RISK_LEVELS = ("low", "medium", "high")
# What an appointment is for: the NHS Talking Therapies appointment types (AppType 01 assessment, 02 treatment,
# 03 assessment and treatment, 05 review and treatment, as NHS England's Talking Therapies code reads them) and
# "other". Treatment contacts are the three with treatment in them (the national code counts AppType 02, 03, 05).
CONTACT_TYPES = ("assessment", "treatment", "assessment_and_treatment", "review_and_treatment", "other")
CONTACT_LABELS = {
    "assessment": "assessment",
    "treatment": "treatment",
    "assessment_and_treatment": "assessment and treatment",
    "review_and_treatment": "review and treatment",
    "other": "other",
}
TREATMENT_CONTACTS = frozenset({"treatment", "assessment_and_treatment", "review_and_treatment"})
ASSESSMENT_CONTACTS = frozenset({"assessment", "assessment_and_treatment"})
FREQUENCY_LABELS = {
    "twice_weekly": "twice a week",
    "weekly": "weekly",
    "fortnightly": "fortnightly",
    "monthly": "monthly",
    "six_weekly": "every six weeks",
}
PLACE_LABELS = {"clinic": "clinic", "home": "home visit", "community": "community venue", "remote": "remote"}
FORMAT_LABELS = {"in_person": "in person", "video": "video call", "phone": "phone call", "group": "group"}


def coherent(place: str, format_: str) -> str | None:
    """A remote appointment cannot be in person, and a video or phone call needs no venue but may be
    taken at home; returns the reason when the pair makes no sense."""
    if place == "remote" and format_ in ("in_person", "group"):
        return f"a remote appointment cannot be {FORMAT_LABELS[format_]}"
    return None
