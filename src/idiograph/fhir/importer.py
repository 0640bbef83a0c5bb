"""Importing a FHIR transaction or batch Bundle: all-or-nothing for a transaction, per entry for a batch,
idempotent on re-import (same resource id from the same source is the same record)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import FieldProblem, Forbidden, InvalidInput
from idiograph.fhir import mapping_in as m
from idiograph.fhir import vocab
from idiograph.instruments.definitions import by_questionnaire
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.measures.responses import answer_values, record_response, unanswered
from idiograph.observations.model import Observation
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.observations.units import convert
from idiograph.observations.validation import observation_problems
from idiograph.patients.access import may_import_into
from idiograph.patients.identity import upsert_person
from idiograph.patients.model import Condition, Encounter, Episode, Person, PersonIdentifier
from idiograph.pipeline import record
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

ORDER = {"Patient": 0, "EpisodeOfCare": 1, "Encounter": 2, "Condition": 3, "Observation": 4, "QuestionnaireResponse": 5}
MAX_ENTRIES = 50_000


@dataclass
class EntryResult:
    status: str
    location: str | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)


def _status(created: bool) -> str:
    return "201 Created" if created else "200 OK"


def _issue(severity: str, code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def _validation_problems(exc: ValidationError, where: str) -> list[FieldProblem]:
    out = []
    for err in exc.errors()[:20]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"] if p != "__root__")
        out.append(FieldProblem(f"{where}{loc}", err["msg"]))
    return out


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class BundleImport:
    """One import of one Bundle by one principal."""

    def __init__(
        self, session: Session, principal: Principal, instance_uri: str, source: str, team_id: uuid.UUID | None
    ) -> None:
        self.s, self.p, self.instance, self.source, self.team_id = session, principal, instance_uri, source, team_id
        self.own = source == instance_uri
        self.codes = CodeBook(session)
        self.by_full_url: dict[str, tuple[str, str | None]] = {}
        self.person_for: dict[str, uuid.UUID] = {}  # fullUrl or Type/id -> person id
        self.touched: dict[uuid.UUID, dict[str, int]] = {}
        self.new_people: set[uuid.UUID] = set()
        self.unanswered: list[Unanswered] = []

    def take_unanswered(self) -> list[Unanswered]:
        """Safety items left unanswered on the responses read since the last store (for the safety rule)."""
        taken, self.unanswered = self.unanswered, []
        return taken

    # -- references -------------------------------------------------------------------------------
    def person_ref(self, ref: str, where: str) -> uuid.UUID:
        key = ref if ref.startswith("urn:") else "/".join(ref.split("/")[-2:])
        if key in self.person_for:
            return self.person_for[key]
        pid: uuid.UUID | None = None
        if ref.startswith("Patient?identifier="):
            system, _, value = ref.split("=", 1)[1].partition("|")
            pid = self.s.scalar(
                select(PersonIdentifier.person_id).where(
                    PersonIdentifier.system == system, PersonIdentifier.value == value
                )
            )
        elif key.startswith("Patient/"):
            rid = key.split("/", 1)[1]
            own = _as_uuid(rid) if self.own else None
            if own and self.s.get(Person, own):
                pid = own
            else:
                pid = self.s.scalar(
                    select(PersonIdentifier.person_id).where(
                        PersonIdentifier.system == vocab.source_identifier_system(self.source),
                        PersonIdentifier.value == rid,
                    )
                )
        if pid is None:
            raise m.InvalidEntry([FieldProblem(f"{where}.subject", f"{ref} is not in the bundle or on record")])
        self._may_write(pid, where)
        self.person_for[key] = pid
        return pid

    def _may_write(self, person_id: uuid.UUID, where: str) -> None:
        """The one import rule (``patients.access.may_import_into``), for people not created by this bundle."""
        if person_id not in self.new_people:
            may_import_into(self.s, self.p, person_id, where)

    def _count(self, person_id: uuid.UUID, what: str) -> None:
        c = self.touched.setdefault(person_id, {})
        c[what] = c.get(what, 0) + 1

    # -- resources --------------------------------------------------------------------------------
    def patient(self, res: dict[str, Any], rid: str, full_url: str, where: str) -> EntryResult:
        data = m.patient(res, where)
        own = _as_uuid(rid) if self.own else None
        idents = (
            data.identifiers if self.own else [*data.identifiers, (vocab.source_identifier_system(self.source), rid)]
        )
        person, status = upsert_person(self.s, self.p, data.fields, idents, self.team_id, person_id=own, where=where)
        if status == "created":
            self.new_people.add(person.id)
        self._count(person.id, f"patient-{status}")
        self.person_for[f"Patient/{rid}"] = person.id
        if full_url:
            self.person_for[full_url] = person.id
        return EntryResult(_status(status == "created"), f"Patient/{person.id}")

    def _upsert(self, model: type, rid: str, values: dict[str, Any]) -> tuple[Any, bool]:
        own = _as_uuid(rid) if self.own else None
        row = self.s.get(model, own) if own else None
        row = row or self.s.scalar(select(model).where(model.source == self.source, model.source_id == rid))
        if row is None:
            row = model(id=own or uuid.uuid4(), source=self.source, source_id=rid, **values)
            self.s.add(row)
            self.s.flush()
            return row, True
        for k, v in values.items():
            setattr(row, k, v)
        self.s.flush()
        return row, False

    def condition(self, res: dict[str, Any], rid: str, where: str) -> EntryResult:
        c = m.condition(res, where)
        pid = self.person_ref(c.subject, where)
        row, created = self._upsert(
            Condition,
            rid,
            {
                "person_id": pid,
                "system": c.system,
                "code": c.code,
                "display": c.display[:300],
                "clinical_status": c.clinical_status,
                "onset": c.onset,
                "abatement": c.abatement,
            },
        )
        self._count(pid, "condition")
        return EntryResult(_status(created), f"Condition/{row.id}")

    def encounter(self, res: dict[str, Any], rid: str, where: str) -> EntryResult:
        e = m.encounter(res, where)
        pid = self.person_ref(e.subject, where)
        row, created = self._upsert(
            Encounter,
            rid,
            {
                "person_id": pid,
                "status": e.status,
                "class_code": e.class_code,
                "type_system": e.type_system,
                "type_code": e.type_code,
                "type_display": (e.type_display or "")[:300] or None,
                "start": e.start,
                "end": e.end,
            },
        )
        self._count(pid, "encounter")
        return EntryResult(_status(created), f"Encounter/{row.id}")

    def episode(self, res: dict[str, Any], rid: str, where: str) -> EntryResult:
        e = m.episode(res, where)
        pid = self.person_ref(e.subject, where)
        if e.discharge_date and e.discharge_date < e.referral_date:
            raise m.InvalidEntry([FieldProblem(f"{where}.period.end", "is before period.start")])
        exists = self._governed_unchanged(rid, e, where)
        values: dict[str, Any] = {
            "person_id": pid,
            "referral_date": e.referral_date,
            "referral_source": e.referral_source,
            "presenting_problem": e.presenting_problem,
        }
        if not exists:  # a new episode comes in as it is; an existing one keeps its governed facts
            values |= {"pathway": e.pathway, "discharge_date": e.discharge_date, "discharge_reason": e.discharge_reason}
        row, created = self._upsert(Episode, rid, values)
        if row.team_id is None:
            row.team_id = self.team_id
        self._count(pid, "episode")
        return EntryResult(_status(created), f"EpisodeOfCare/{row.id}")

    def _governed_unchanged(self, rid: str, e: m.EpisodeIn, where: str) -> bool:
        """An import may bring an episode in, but never discharge one or change its intervention: those are
        governed facts, changed only by a decision (hazard H-032)."""
        own = _as_uuid(rid) if self.own else None
        row = self.s.get(Episode, own) if own else None
        row = row or self.s.scalar(select(Episode).where(Episode.source == self.source, Episode.source_id == rid))
        if row is None:
            return False
        problems = []
        if row.pathway != e.pathway:
            problems.append(FieldProblem(f"{where}.type", "would change the intervention: request it as a decision"))
        if (row.discharge_date, row.discharge_reason) != (e.discharge_date, e.discharge_reason):
            problems.append(FieldProblem(f"{where}.period.end", "would change the discharge: request it as a decision"))
        if problems:
            raise m.InvalidEntry(problems)
        return True

    def observation(self, res: dict[str, Any], rid: str, where: str) -> tuple[EntryResult, list[NewObservation]]:
        rows: list[NewObservation] = []
        now = utcnow()
        for o in m.observations(res, where):
            pid = self.person_ref(o.subject, where)
            unit = o.unit
            known = self.codes.get(o.system, o.code)
            if known is None:
                known = self.codes.learn(o.system, o.code, o.display, unit or "1")
            value = o.value
            if unit is not None and unit != known.unit:
                converted = convert(value, unit, known.unit)
                if converted is None:
                    raise m.InvalidEntry(
                        [FieldProblem(f"{where}.valueQuantity.code", f"{unit!r} cannot be converted to {known.unit!r}")]
                    )
                value, unit = converted, known.unit
            problems = observation_problems(where, known, o.system, o.code, value, unit, o.time, now)
            if problems:
                raise m.InvalidEntry(problems)
            source, source_id = self.source, rid + o.suffix
            if self.own:
                own = self.s.get(Observation, _as_uuid(rid)) if _as_uuid(rid) else None
                if own is not None:
                    source, source_id = own.source, own.source_id
            rows.append(NewObservation(pid, o.system, o.code, value, unit, o.time, source, source_id))
            self._count(pid, "observation")
        return EntryResult("200 OK", f"Observation/{rid}"), rows

    def response(self, res: dict[str, Any], rid: str, where: str) -> tuple[EntryResult, list[NewObservation]]:
        qr = m.questionnaire_response(res, where)
        inst = by_questionnaire(qr.questionnaire)
        if inst is None:
            raise m.Skip(f"questionnaire {qr.questionnaire!r} is not an instrument idiograph scores")
        pid = self.person_ref(qr.subject, where)
        values, unknown = answer_values(inst, qr.answers)
        if unknown:
            raise m.InvalidEntry(
                [FieldProblem(f"{where}.item", f"not items or answers of {inst.id}: {', '.join(unknown[:5])}")]
            )
        own = _as_uuid(rid) if self.own else None
        existing = self.s.get(QuestionnaireResponseRecord, own) if own else None
        source, source_id = (existing.source, existing.source_id) if existing else (self.source, rid)
        rec, score, rows = record_response(
            self.s, pid, inst, values, qr.authored, source, source_id, qr.status, record_id=own
        )
        self.unanswered += unanswered(rec, score)
        self._count(pid, "questionnaire-response")
        return EntryResult("200 OK", f"QuestionnaireResponse/{rec.id}"), rows


def _entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise InvalidInput("the body must be a FHIR Bundle", [FieldProblem("resourceType", "must be 'Bundle'")])
    if body.get("type") not in ("transaction", "batch"):
        raise InvalidInput(
            "only transaction and batch Bundles can be imported",
            [FieldProblem("Bundle.type", f"{body.get('type')!r} is not 'transaction' or 'batch'")],
        )
    entries = body.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput("Bundle.entry must be a list of entries", [FieldProblem("Bundle.entry", "not a list")])
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput("too many entries", [FieldProblem("Bundle.entry", f"more than {MAX_ENTRIES}")])
    return entries


def import_bundle(
    session: Session,
    principal: Principal,
    body: dict[str, Any],
    instance_uri: str,
    source: str | None = None,
    team_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Import a Bundle and return the transaction-response / batch-response Bundle."""
    principal.require(Permission.DATA_IMPORT)
    entries = _entries(body)
    kind = body["type"]
    source = source or (body.get("meta") or {}).get("source") or "fhir"
    results: list[EntryResult | None] = [None] * len(entries)
    # Strictly validate every resource idiograph stores, before touching the database.
    problems: list[FieldProblem] = []
    typed: list[tuple[int, str, dict[str, Any], str]] = []
    for i, e in enumerate(entries):
        res = e.get("resource")
        where = f"Bundle.entry[{i}].resource"
        if not isinstance(res, dict) or "resourceType" not in res:
            problems.append(FieldProblem(where, "each entry needs a resource with a resourceType"))
            continue
        rt = res["resourceType"]
        if rt not in vocab.SUPPORTED:
            results[i] = EntryResult(
                "422 Unprocessable Entity",
                None,
                [_issue("information", "not-supported", f"skipped: {rt} resources are not stored by idiograph")],
            )
            continue
        try:
            get_fhir_model_class(rt).model_validate(res)
        except ValidationError as exc:
            problems += _validation_problems(exc, where)
            continue
        full = str(e.get("fullUrl") or "")
        rid = res.get("id") or (full[9:] if full.startswith("urn:uuid:") else None)
        if not rid:
            problems.append(
                FieldProblem(f"{where}.id", "an id (or a urn:uuid fullUrl) is needed for idempotent import")
            )
            continue
        typed.append((i, rt, res, str(rid)))
    if problems and kind == "transaction":
        raise InvalidInput(f"{len(problems)} problem(s) in the bundle; nothing was stored", problems)
    for p in problems:
        idx = int(p.field.split("[", 1)[1].split("]", 1)[0])
        if results[idx] is None:
            results[idx] = EntryResult("400 Bad Request", None, [_issue("error", "invalid", p.reason, p.field)])
    typed.sort(key=lambda t: (ORDER[t[1]], t[0]))

    def run_all(imp: BundleImport, on_error: Callable[[int, Exception], None] | None) -> None:
        pending: list[NewObservation] = []
        for i, rt, res, rid in typed:
            if results[i] is not None:
                continue
            where = f"Bundle.entry[{i}].resource"
            full = str(entries[i].get("fullUrl") or "")
            try:
                if on_error is None:
                    results[i], rows = _one(imp, rt, res, rid, full, where)
                    pending += rows
                else:
                    with imp.s.begin_nested():
                        results[i], rows = _one(imp, rt, res, rid, full, where)
                        if rows:
                            record(
                                imp.s,
                                principal.actor,
                                imp.codes,
                                rows,
                                unanswered=imp.take_unanswered(),
                                audit_action="import",
                                audit_detail={"via": "fhir", "source": source},
                            )
            except m.Skip as skip:
                results[i] = EntryResult(
                    "422 Unprocessable Entity", None, [_issue("information", "not-supported", f"skipped: {skip}")]
                )
            except (m.InvalidEntry, InvalidInput, Forbidden, ValueError) as exc:
                if on_error is None:
                    raise
                imp.take_unanswered()  # the entry was rolled back: nothing of it to prompt about
                on_error(i, exc)
        if pending:
            record(
                imp.s,
                principal.actor,
                imp.codes,
                pending,
                unanswered=imp.take_unanswered(),
                audit_action="import",
                audit_detail={"via": "fhir", "source": source},
            )

    from idiograph.patients.service import resolve_team

    needs_team = any(rt == "Patient" for _, rt, _, _ in typed)
    team = (
        resolve_team(session, principal, team_id, "team").id
        if needs_team and (team_id is not None or not principal.is_system)
        else team_id
    )
    imp = BundleImport(session, principal, instance_uri, source, team)
    if kind == "transaction":
        try:
            run_all(imp, None)
        except m.InvalidEntry as exc:
            raise InvalidInput("the transaction was rejected; nothing was stored", exc.problems) from exc
        except ValueError as exc:
            raise InvalidInput(
                "the transaction was rejected; nothing was stored", [FieldProblem("Bundle.entry", str(exc))]
            ) from exc
    else:

        def on_error(i: int, exc: Exception) -> None:
            status = "403 Forbidden" if isinstance(exc, Forbidden) else "400 Bad Request"
            probs = getattr(exc, "problems", None) or [FieldProblem(f"Bundle.entry[{i}]", str(exc))]
            results[i] = EntryResult(status, None, [_issue("error", "invalid", p.reason, p.field) for p in probs])

        run_all(imp, on_error)
    for pid, counts in imp.touched.items():
        audit.append(
            session,
            principal.actor,
            "import",
            "Bundle",
            None,
            pid,
            detail={"via": "fhir", "source": source, "type": kind, **counts},
        )
    audit.append(
        session,
        principal.actor,
        "import",
        "Bundle",
        None,
        None,
        detail={"via": "fhir", "source": source, "type": kind, "entries": len(entries), "people": len(imp.touched)},
    )
    return {
        "resourceType": "Bundle",
        "type": f"{kind}-response",
        "entry": [_response_entry(r) for r in results],
    }


def _one(
    imp: BundleImport, rt: str, res: dict[str, Any], rid: str, full_url: str, where: str
) -> tuple[EntryResult, list[NewObservation]]:
    if rt == "Patient":
        return imp.patient(res, rid, full_url, where), []
    if rt == "Observation":
        return imp.observation(res, rid, where)
    if rt == "QuestionnaireResponse":
        return imp.response(res, rid, where)
    handler = {"Condition": imp.condition, "Encounter": imp.encounter, "EpisodeOfCare": imp.episode}[rt]
    return handler(res, rid, where), []


def _response_entry(r: EntryResult | None) -> dict[str, Any]:
    r = r or EntryResult("500 Internal Server Error")
    out: dict[str, Any] = {"response": {"status": r.status}}
    if r.location:
        out["response"]["location"] = r.location
    if r.issues:
        out["response"]["outcome"] = {"resourceType": "OperationOutcome", "issue": r.issues}
    return out
