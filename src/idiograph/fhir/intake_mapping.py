"""The intake record to and from FHIR R4 (pure: plain values in, dicts out and back). The QuestionnaireResponse
carries the whole record (every section's answers, who contributed each in which profession and when, the goals
with every rating); the social-history Observations and the Goal resources say the same for systems that read
those, and are derived from it (an import takes the record from the response)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from idiograph.errors import FieldProblem
from idiograph.fhir import vocab
from idiograph.fhir.mapping_in import InvalidEntry, parse_instant
from idiograph.intake.definition import Definition, FieldSpec

GOALS = "goals"


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {})}


def derived_id(record_id: Any, what: str) -> str:
    """A stable id for a resource derived from the intake record (an Observation per field, a Goal per goal)."""
    return str(uuid.uuid5(uuid.UUID(str(record_id)), what))


def canonical(spec: Definition) -> str:
    return f"{vocab.INTAKE_QUESTIONNAIRE}|{spec.version}"


def is_intake(res: Mapping[str, Any]) -> bool:
    """A QuestionnaireResponse of the intake assessment, or a resource derived from one."""
    rt = res.get("resourceType")
    if rt == "QuestionnaireResponse":
        return str(res.get("questionnaire") or "").split("|")[0] == vocab.INTAKE_QUESTIONNAIRE
    if rt == "Observation":
        codings = (res.get("code") or {}).get("coding") or []
        return any(c.get("system") == vocab.INTAKE_CODES for c in codings if isinstance(c, dict))
    return False


# -- out -------------------------------------------------------------------------------------------------------


def _answer(f: FieldSpec, value: Any) -> dict[str, Any]:
    if f.type == "choice":
        system = f"{vocab.INTAKE_CODES}/{f.id}"
        return {"valueCoding": {"system": system, "code": str(value), "display": f.choices.get(str(value))}}
    if f.type == "bool":
        return {"valueBoolean": bool(value)}
    if f.type == "number":
        return {"valueInteger": int(value)} if float(value).is_integer() else {"valueDecimal": float(value)}
    return {"valueString": str(value)}


def _contribution(c: Mapping[str, Any] | None, spec: Definition) -> list[dict[str, Any]]:
    if not c:
        return []
    parts: list[dict[str, Any]] = [
        {"url": "by", "valueString": c["by"]},
        {"url": "name", "valueString": c["name"]},
        {"url": "at", "valueDateTime": c["at"]},
    ]
    if c.get("profession"):
        coding = {
            "system": vocab.PROFESSION_SYSTEM,
            "code": c["profession"],
            "display": spec.professions.get(c["profession"]),
        }
        parts.append({"url": "profession", "valueCoding": coding})
    return [{"url": vocab.CONTRIBUTION_EXT, "extension": parts}]


def _rating_ext(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": vocab.GOAL_RATING_EXT,
        "extension": [
            {"url": "date", "valueDate": r["date"]},
            {"url": "rating", "valueInteger": int(r["rating"])},
            {"url": "by", "valueString": r["by"]},
        ],
    }


def questionnaire_response(rec: Any, spec: Definition) -> dict[str, Any]:
    """The whole intake record: one group per section recorded (a consent answer first), goals as groups of their
    words and intake rating with every later rating as an extension."""
    groups = []
    for s in spec.sections:
        if s.id not in rec.contributions:
            continue
        items = []
        if s.id == GOALS:
            for n, g in enumerate(rec.goals, start=1):
                items.append(
                    {
                        "linkId": f"goal.{n}",
                        "text": f"Goal {n}",
                        "extension": [_rating_ext(r) for r in g["ratings"][1:]],
                        "item": [
                            {"linkId": "goal", "text": "Goal in their words", "answer": [{"valueString": g["goal"]}]},
                            {
                                "linkId": "rating",
                                "text": "Rating at intake (0-10)",
                                "answer": [{"valueInteger": g["ratings"][0]["rating"]}],
                            },
                        ],
                    }
                )
        else:
            answers = rec.answers.get(s.id, {})
            if s.consent and s.consent in answers:
                items.append(
                    {
                        "linkId": s.consent,
                        "text": "The person agreed to record this",
                        "answer": [{"valueBoolean": bool(answers[s.consent])}],
                    }
                )
            items += [
                {"linkId": f.id, "text": f.label, "answer": [_answer(f, answers[f.id])]}
                for f in s.fields
                if answers.get(f.id) is not None
            ]
        groups.append(
            _clean(
                {
                    "linkId": s.id,
                    "text": s.title,
                    "extension": _contribution(rec.contributions.get(s.id), spec),
                    "item": items,
                }
            )
        )
    return _clean(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(rec.id),
            "extension": [
                {"url": vocab.EPISODE_EXT, "valueReference": {"reference": f"EpisodeOfCare/{rec.episode_id}"}}
            ],
            "identifier": {"system": f"urn:idiograph:source:{rec.source}", "value": rec.source_id},
            "questionnaire": canonical(spec),
            "status": "completed",
            "subject": {"reference": f"Patient/{rec.person_id}"},
            "authored": rec.created_at.isoformat(),
            "item": groups,
        }
    )


def social_history(rec: Any, spec: Definition) -> list[dict[str, Any]]:
    """Each psychosocial answer the person agreed to record as an Observation of category social-history."""
    out = []
    for s in spec.sections:
        if not s.consent:
            continue
        answers = rec.answers.get(s.id, {})
        if answers.get(s.consent) is not True:
            continue
        who = rec.contributions.get(s.id) or {}
        for f in s.fields:
            if answers.get(f.id) is None:
                continue
            value = _answer(f, answers[f.id])
            if "valueCoding" in value:
                value = {"valueCodeableConcept": {"coding": [_clean(value["valueCoding"])]}}
            elif "valueInteger" in value or "valueDecimal" in value:
                value = {"valueQuantity": {"value": answers[f.id]}}
            out.append(
                {
                    "resourceType": "Observation",
                    "id": derived_id(rec.id, f"observation:{f.id}"),
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": vocab.OBSERVATION_CATEGORY,
                                    "code": vocab.SOCIAL_HISTORY,
                                    "display": "Social History",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [{"system": vocab.INTAKE_CODES, "code": f.id, "display": f.label}],
                        "text": f.label,
                    },
                    "subject": {"reference": f"Patient/{rec.person_id}"},
                    "effectiveDateTime": who.get("at") or rec.created_at.isoformat(),
                    "derivedFrom": [{"reference": f"QuestionnaireResponse/{rec.id}"}],
                    **value,
                }
            )
    return out


def _achievement(ratings: list[Mapping[str, Any]]) -> tuple[str, str]:
    first, latest = ratings[0]["rating"], ratings[-1]["rating"]
    if latest >= 10:
        return "achieved", "Achieved"
    if len(ratings) < 2:
        return "in-progress", "In Progress"
    if latest > first:
        return "improving", "Improving"
    if latest < first:
        return "worsening", "Worsening"
    return "no-change", "No Change"


def goals(rec: Any) -> list[dict[str, Any]]:
    """Each goal as a Goal: the person's words, the aim of 10 on the 0-10 rating, how it is going (first against
    latest rating), and every rating as an extension."""
    out = []
    for n, g in enumerate(rec.goals, start=1):
        code, display = _achievement(g["ratings"])
        out.append(
            {
                "resourceType": "Goal",
                "id": derived_id(rec.id, f"goal:{n}"),
                "extension": [_rating_ext(r) for r in g["ratings"]],
                "lifecycleStatus": "active",
                "achievementStatus": {"coding": [{"system": vocab.GOAL_ACHIEVEMENT, "code": code, "display": display}]},
                "description": {"text": g["goal"]},
                "subject": {"reference": f"Patient/{rec.person_id}"},
                "startDate": g["ratings"][0]["date"],
                "target": [
                    {
                        "measure": {
                            "coding": [
                                {
                                    "system": vocab.INTAKE_CODES,
                                    "code": vocab.GOAL_RATING_CODE,
                                    "display": "Goal rating (0-10)",
                                }
                            ]
                        },
                        "detailInteger": 10,
                    }
                ],
                "expressedBy": {"reference": f"Patient/{rec.person_id}"},
                "addresses": [{"reference": f"QuestionnaireResponse/{rec.id}"}],
            }
        )
    return out


def resources(rec: Any, spec: Definition) -> list[dict[str, Any]]:
    return [questionnaire_response(rec, spec), *social_history(rec, spec), *goals(rec)]


# -- in --------------------------------------------------------------------------------------------------------


@dataclass
class IntakeIn:
    subject: str
    episode: str | None
    version: int | None
    authored: datetime | None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    who: dict[str, dict[str, Any]] = field(default_factory=dict)
    later_ratings: list[list[dict[str, Any]]] = field(default_factory=list)


def _value(answer: Mapping[str, Any]) -> Any:
    for key in ("valueCoding", "valueBoolean", "valueInteger", "valueDecimal", "valueString"):
        if key in answer:
            v = answer[key]
            return v.get("code") if key == "valueCoding" else v
    return None


def _ext_parts(ext: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ext.get("extension") or []:
        for key, v in part.items():
            if key.startswith("value"):
                out[part["url"]] = v.get("code") if key == "valueCoding" else v
    return out


def ratings_in(item: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    out = []
    for k, ext in enumerate(e for e in item.get("extension") or [] if e.get("url") == vocab.GOAL_RATING_EXT):
        r = _ext_parts(ext)
        try:
            day = date.fromisoformat(str(r.get("date")))
        except ValueError:
            raise InvalidEntry([FieldProblem(f"{where}.extension[{k}]", "a goal rating needs its date")]) from None
        out.append({"date": day.isoformat(), "rating": r.get("rating"), "by": str(r.get("by") or "unknown")})
    return out


def questionnaire_response_in(res: Mapping[str, Any], where: str) -> IntakeIn:
    """The intake record's parts from its QuestionnaireResponse (the inverse of ``questionnaire_response``)."""
    subject = (res.get("subject") or {}).get("reference")
    if not subject:
        raise InvalidEntry([FieldProblem(f"{where}.subject", "the intake needs its person")])
    _, _, version = str(res.get("questionnaire")).partition("|")
    episode = next(
        (
            (e.get("valueReference") or {}).get("reference")
            for e in res.get("extension") or []
            if e.get("url") == vocab.EPISODE_EXT
        ),
        None,
    )
    out = IntakeIn(subject, episode, int(version) if version.isdigit() else None, parse_instant(res.get("authored")))
    for i, group in enumerate(res.get("item") or []):
        at = f"{where}.item[{i}]"
        sid = str(group.get("linkId"))
        contribution = next(
            (_ext_parts(e) for e in group.get("extension") or [] if e.get("url") == vocab.CONTRIBUTION_EXT), None
        )
        if contribution is None:
            raise InvalidEntry([FieldProblem(f"{at}.extension", "who recorded this section is needed")])
        out.who[sid] = contribution
        if sid == GOALS:
            given = []
            for j, item in enumerate(group.get("item") or []):
                parts = {str(x.get("linkId")): _value((x.get("answer") or [{}])[0]) for x in item.get("item") or []}
                given.append({"goal": parts.get("goal"), "rating": parts.get("rating")})
                out.later_ratings.append(ratings_in(item, f"{at}.item[{j}]"))
            out.answers[sid] = {GOALS: given}
        else:
            out.answers[sid] = {
                str(x.get("linkId")): _value((x.get("answer") or [{}])[0]) for x in group.get("item") or []
            }
    return out
