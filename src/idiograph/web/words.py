"""Codes as a clinician reads them (pure): 'Group CBT' not group_cbt, 'in person' not in_person, 'English' not en,
'per day' not /(24.h), 9,920 not 9.92e+03. Registered as Jinja filters on every page (``register``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idiograph import languages
from idiograph.care import interventions
from idiograph.care.options import FORMAT_LABELS, FREQUENCY_LABELS, PLACE_LABELS
from idiograph.intake.definition import definition
from idiograph.observations import display
from idiograph.observations.catalogue import shipped

unit = display.unit
number = display.number
quantity = display.quantity
day = display.day


# pathways and interventions not (or no longer) in interventions.yaml, and acronyms in other vocabularies
_CODES: dict[str, str] = {
    "cbt": "CBT",
    "group_cbt": "Group CBT",
    "guided_self_help": "Guided self-help",
    "medication_review": "Medication review",
    "ipt": "IPT",
    "emdr": "EMDR",
    "dit": "DIT",
    "ptsd": "PTSD",
    "ocd": "OCD",
    "gp": "GP",
    "self": "self-referral",
    "did_not_attend": "did not attend (DNA)",
    "in_person": "in person",
}


def code(value: str | None) -> str:
    """Any vocabulary code in words: a known one from the table, else underscores as spaces ('moved away')."""
    if not value:
        return ""
    return _CODES.get(value, value.replace("_", " "))


def pathway(value: str | None) -> str:
    """A pathway or intervention by its name in the service's definitions ('Individual CBT', 'Group CBT')."""
    if not value:
        return ""
    found = interventions.rules().interventions.get(value)
    return found.label if found is not None else _CODES.get(value, value.replace("_", " ").capitalize())


def appointment_format(value: str | None) -> str:
    return FORMAT_LABELS.get(value or "", code(value))


def place(value: str | None) -> str:
    return PLACE_LABELS.get(value or "", code(value))


def frequency(value: str | None) -> str:
    return FREQUENCY_LABELS.get(value or "", code(value))


language = languages.name


def measure(system: str, code_: str, fallback: str | None = None) -> str:
    """A measure's short name ('Lithium', 'PHQ-9') where the catalogue has one, else its display."""
    c = shipped().get((system, code_))
    return c.name if c is not None else (fallback or code_)


def measure_name(row: Any) -> str:
    """The short name of anything with ``system``, ``code`` and ``display`` (a baseline row, an observation)."""
    return measure(row.system, row.code, getattr(row, "display", None))


def profession(value: str | None) -> str:
    """A profession as the intake definition names it ("clinical_psychologist" -> "Clinical psychologist")."""
    if not value:
        return ""
    return definition().professions.get(value, value.replace("_", " "))


def chance(p: float) -> str:
    """A chance as a clinician reads it: a whole percentage, never a certain-looking 0% or 100% from a finite
    sample ("under 1%", "over 99%")."""
    if p < 0.005:
        return "under 1%"
    if p > 0.995:
        return "over 99%"
    return f"{100 * p:.0f}%"


FILTERS: dict[str, Callable[..., Any]] = {
    "chance": chance,
    "profession": profession,
    "unit": unit,
    "number": number,
    "quantity": quantity,
    "day": day,
    "code": code,
    "pathway": pathway,
    "appointment_format": appointment_format,
    "place": place,
    "frequency": frequency,
    "language": language,
    "measure_name": measure_name,
}


def register(env: Any) -> None:
    """Add the filters to a Jinja environment (``templates.env``)."""
    env.filters.update(FILTERS)
