"""One intake section at a time (pure): what is wrong with a section's answers, the goals list kept with its
ratings over time, re-rating goals at a review, and the record's answers as one flat mapping by field id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from idiograph.errors import FieldProblem
from idiograph.intake.definition import GOAL_MAX, Definition, Section, definition, problems

GOALS = "goals"  # the section (and its one field) whose goals are kept with their ratings over time


def section_of(section_id: str, spec: Definition | None = None) -> Section | None:
    return next((s for s in (spec or definition()).sections if s.id == section_id), None)


def section_problems(section_id: str, answers: Mapping[str, Any], spec: Definition | None = None) -> list[FieldProblem]:
    """Every reason this section's ``answers`` cannot be stored, each naming its field. A section with consent
    must say whether the person agreed (true or false); nothing else of it is recorded without agreement."""
    d = spec or definition()
    section = section_of(section_id, d)
    if section is None:
        return [FieldProblem("section", f"{section_id!r} is not one of {', '.join(s.id for s in d.sections)}")]
    own = {f.id for f in section.fields} | ({section.consent} if section.consent else set())
    out: list[FieldProblem] = []
    for key in answers:
        other = next((s for s in d.sections if s is not section and key in _ids(s)), None)
        if other is not None:
            out.append(FieldProblem(key, f"belongs to the section {other.title!r}, not {section.title!r}"))
    if section.consent and answers.get(section.consent) is None:
        out.append(FieldProblem(section.consent, "say whether the person agreed to record this (true or false)"))
    known = {i for s in d.sections for i in _ids(s)}
    out += [p for p in problems(answers, d) if p.field in own or p.field not in known]
    out += _text_problems(answers)
    return out


GOAL_WORDS = 300  # characters of one goal in the person's words


def _text_problems(answers: Mapping[str, Any]) -> list[FieldProblem]:
    """Text no field may hold: NUL characters (PostgreSQL cannot store them), a goal longer than ``GOAL_WORDS``."""
    out = [FieldProblem(k, "must not contain NUL characters") for k, v in answers.items() if "\x00" in str(v)]
    goals = answers.get(GOALS)
    if isinstance(goals, list):
        out += [
            FieldProblem(GOALS, f"goal {i}: at most {GOAL_WORDS} characters")
            for i, g in enumerate(goals, start=1)
            if isinstance(g, dict) and isinstance(g.get("goal"), str) and len(g["goal"]) > GOAL_WORDS
        ]
    return out


def _ids(section: Section) -> set[str]:
    return {f.id for f in section.fields} | ({section.consent} if section.consent else set())


def kept_answers(section_id: str, answers: Mapping[str, Any], spec: Definition | None = None) -> dict[str, Any]:
    """What is stored of a valid section: its answered fields (empty ones left out); a section the person did not
    agree to record keeps nothing but that answer."""
    section = section_of(section_id, spec)
    assert section is not None
    if section.consent and answers.get(section.consent) is not True:
        return {section.consent: False}
    return {k: v for k, v in answers.items() if v is not None and v != "" and v != []}


def merged_goals(
    existing: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, Any]], on: date, by: str
) -> list[dict[str, Any]]:
    """The goals as now given, each with its intake rating first; a goal kept in the same words keeps its later
    ratings (its intake rating is the one given now)."""
    before = {str(g["goal"]).strip().lower(): g for g in existing}
    out = []
    for g in given:
        words = str(g["goal"]).strip()
        first = {"date": on.isoformat(), "rating": int(g["rating"]), "by": by}
        old = before.get(words.lower())
        later = list(old["ratings"][1:]) if old else []
        out.append({"goal": words, "ratings": [first, *later]})
    return out


def rerated(
    goals: Sequence[Mapping[str, Any]], ratings: Mapping[int, Any], on: date, by: str, intake_on: date | None
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """The goals with new ratings (goal number from 1 -> rating 0-10) on ``on``; problems name the goal."""
    out_problems: list[FieldProblem] = []
    if not ratings:
        out_problems.append(FieldProblem("ratings", "give at least one goal's rating"))
    if intake_on is not None and on < intake_on:
        out_problems.append(FieldProblem("on", f"is before the intake ({intake_on:%d %b %Y})"))
    for number, rating in ratings.items():
        if not 1 <= number <= len(goals):
            out_problems.append(
                FieldProblem(f"ratings.{number}", f"there is no goal {number} (goals recorded: {len(goals)})")
            )
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= GOAL_MAX:
            why = f"the rating must be a whole number from 0 to {GOAL_MAX}"
            out_problems.append(FieldProblem(f"ratings.{number}", why))
    if out_problems:
        return [dict(g) for g in goals], out_problems
    out = []
    for i, g in enumerate(goals, start=1):
        new = dict(g)
        if i in ratings:
            new["ratings"] = [*g["ratings"], {"date": on.isoformat(), "rating": int(ratings[i]), "by": by}]
        out.append(new)
    return out, []


def flat_answers(answers: Mapping[str, Mapping[str, Any]], goals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every recorded answer by field id (as in intake.yaml), with ``goals`` as [{"goal", "rating"}] at intake and
    ``goals_latest`` as [{"goal", "rating"}] now."""
    out: dict[str, Any] = {}
    for section in answers.values():
        out.update(section)
    if goals:
        out[GOALS] = [{"goal": g["goal"], "rating": g["ratings"][0]["rating"]} for g in goals]
        out["goals_latest"] = [{"goal": g["goal"], "rating": g["ratings"][-1]["rating"]} for g in goals]
    return out
