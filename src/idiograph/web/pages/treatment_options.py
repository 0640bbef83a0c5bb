"""The care page's comparison of treatment options as charts (from the options service): every option's expected
course on one chart per measure, and each option's course with its 95% band."""

from __future__ import annotations

from typing import Any

from idiograph.instruments.definitions import instruments
from idiograph.web.charts import CourseBand, comparison_figure, course_figure

NAMES = {"phq-9": "PHQ-9", "gad-7": "GAD-7"}
COVARIATES = {  # the model's covariates as a clinician says them
    "age": "age",
    "sex": "sex",
    "ethnic_group": "ethnic group",
    "deprivation_decile": "deprivation decile",
    "presenting_problem": "presenting problem",
    "referral_source": "referral source",
    "phq9_intake": "PHQ-9 at intake",
    "gad7_intake": "GAD-7 at intake",
    "problem_duration_months": "months the problem has lasted",
    "previous_treatment": "previous treatment",
    "previous_response": "response to previous treatment",
    "current_medication": "on medication (1 yes)",
    "housing": "housing",
    "work": "work or study",
    "social_support": "social support",
    "caring_responsibilities": "caring responsibilities (1 yes)",
    "money_worries": "money worries (1 yes)",
    "substance_use": "substance use",
    "long_term_condition": "long-term condition (1 yes)",
    "neurodivergence": "neurodivergence",
}


def _scale(m: str) -> tuple[tuple[float, float], float | None]:
    inst = instruments()[m]
    return (float(inst.min_total), float(inst.max_total)), (float(inst.caseness.min) if inst.caseness else None)


def course_figures(treatment: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per appropriate option with a course, one chart per measure (PHQ-9 first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for o in treatment["options"]:
        course = o.get("course")
        if not o["appropriate"] or not course or o.get("no_number"):
            continue
        figs = []
        for m in NAMES:
            band = course["measures"].get(m)
            if band is None:
                continue
            scale, caseness = _scale(m)
            c = CourseBand(
                o["label"], NAMES[m], course["weeks"], band["expected"], band["lower"], band["upper"], scale, caseness
            )
            figs.append(course_figure(c, f"course-{o['id']}-{m}"))
        out[o["id"]] = figs
    return out


def comparison_figures(treatment: dict[str, Any]) -> list[dict[str, Any]]:
    """One chart per measure with every appropriate option's expected course that has numbers."""
    figs = []
    for m in NAMES:
        courses = [
            (o["label"], o["course"]["weeks"], o["course"]["measures"][m]["expected"])
            for o in treatment["options"]
            if o["appropriate"] and not o.get("no_number") and o.get("course") and m in o["course"]["measures"]
        ]
        if courses:
            scale, caseness = _scale(m)
            figs.append(comparison_figure(NAMES[m], courses, scale, caseness, f"compare-{m}"))
    return figs
