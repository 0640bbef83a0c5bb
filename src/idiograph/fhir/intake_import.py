"""Importing the intake record: its QuestionnaireResponse brings the whole record (stored under the one import
rule, idempotent by its source identifier), a Goal adds ratings given since to a goal held here, and the
social-history Observations derived from a response are left to it (skipped, with the reason)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.fhir import intake_mapping as im
from idiograph.fhir import mapping_in as m
from idiograph.intake import service as intake_service
from idiograph.intake.definition import definition
from idiograph.intake.model import IntakeRecord
from idiograph.patients.model import Episode


class Importer(Protocol):
    s: Session
    own: bool
    source: str

    def person_ref(self, ref: str, where: str) -> uuid.UUID: ...


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _episode(imp: Importer, ref: str | None, person_id: uuid.UUID, where: str) -> uuid.UUID:
    if not ref or not ref.startswith("EpisodeOfCare/"):
        raise m.InvalidEntry([FieldProblem(f"{where}.extension", "the intake needs its EpisodeOfCare")])
    rid = ref.split("/", 1)[1]
    own = _uuid(rid) if imp.own else None
    ep = imp.s.get(Episode, own) if own else None
    ep = ep or imp.s.scalar(select(Episode).where(Episode.source == imp.source, Episode.source_id == rid))
    if ep is None or ep.person_id != person_id:
        raise m.InvalidEntry([FieldProblem(f"{where}.extension", f"{ref} is not in the bundle or on record")])
    return ep.id


def response(imp: Importer, res: dict[str, Any], rid: str, where: str) -> tuple[str, str]:
    """Store the intake record a QuestionnaireResponse carries: (created/updated/unchanged, location)."""
    spec = definition()
    data = im.questionnaire_response_in(res, where)
    if data.version is not None and data.version != spec.version:
        reason = f"made under intake definition version {data.version}; this service uses version {spec.version}"
        raise m.InvalidEntry([FieldProblem(f"{where}.questionnaire", reason)])
    pid = imp.person_ref(data.subject, where)
    episode_id = _episode(imp, data.episode, pid, where)
    who: dict[str, intake_service.Contributor] = {}
    problems: list[FieldProblem] = []
    for i, (sid, c) in enumerate(data.who.items()):
        at = m.parse_instant(c.get("at"))
        profession = c.get("profession")
        if at is None or not c.get("by"):
            problems.append(FieldProblem(f"{where}.item[{i}].extension", "who recorded it and when are needed"))
            continue
        if profession is not None and profession not in spec.professions:
            problems.append(FieldProblem(f"{where}.item[{i}].extension", f"{profession!r} is not a profession"))
        who[sid] = intake_service.Contributor(str(c["by"]), str(c.get("name") or c["by"]), profession, at)
    if problems:
        raise m.InvalidEntry(problems)
    own = _uuid(rid) if imp.own else None
    held = imp.s.get(IntakeRecord, own) if own else None
    key = (held.source, held.source_id) if held else (imp.source, rid)
    try:
        rec = intake_service.build_record(pid, episode_id, data.answers, who, key, data.later_ratings)
    except InvalidInput as exc:
        raise m.InvalidEntry([FieldProblem(f"{where}.item[{p.field}]", p.reason) for p in exc.problems]) from None
    if own is not None:
        rec.id = own
    stored, status = intake_service.upsert_built(imp.s, rec)
    return status, f"QuestionnaireResponse/{stored.id}"


def goal(imp: Importer, res: dict[str, Any], rid: str, where: str) -> tuple[str, str]:
    """Ratings a Goal carries that its intake record does not hold yet are added to that goal."""
    ref = next((a.get("reference") for a in res.get("addresses") or [] if "QuestionnaireResponse/" in str(a)), None)
    if not ref:
        raise m.Skip("a Goal is stored only as a goal of an intake record (addresses its QuestionnaireResponse)")
    qr = str(ref).split("/", 1)[1]
    own = _uuid(qr) if imp.own else None
    rec = imp.s.get(IntakeRecord, own) if own else None
    rec = rec or imp.s.scalar(
        select(IntakeRecord).where(IntakeRecord.source == imp.source, IntakeRecord.source_id == qr)
    )
    if rec is None:
        raise m.Skip(f"{ref} is not an intake record held here")
    pid = imp.person_ref(str((res.get("subject") or {}).get("reference") or ""), where)
    if pid != rec.person_id:
        raise m.InvalidEntry([FieldProblem(f"{where}.subject", "is not the intake record's person")])
    words = str((res.get("description") or {}).get("text") or "").strip().lower()
    goals = [dict(g) for g in rec.goals]
    n = next((k for k, g in enumerate(goals) if g["goal"].strip().lower() == words), None)
    if n is None:
        raise m.Skip("the goal's words are not among the intake record's goals")
    given = im.ratings_in(res, where)
    held = goals[n]["ratings"]
    new = [r for r in given if all((r["date"], r["rating"]) != (h["date"], h["rating"]) for h in held)]
    bad = [
        r
        for r in new
        if isinstance(r["rating"], bool) or not isinstance(r["rating"], int) or not 0 <= r["rating"] <= 10
    ]
    if bad:
        raise m.InvalidEntry([FieldProblem(f"{where}.extension", "a goal rating must be a whole number from 0 to 10")])
    if not new:
        return "unchanged", f"Goal/{rid}"
    goals[n] = {**goals[n], "ratings": sorted([*held, *new], key=lambda r: r["date"])}
    rec.goals = goals
    imp.s.flush()
    return "updated", f"Goal/{rid}"
