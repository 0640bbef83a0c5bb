"""Importing FHIR: a transaction or batch Bundle, and the type-level create of one Observation or
QuestionnaireResponse (``create_resource``, what a patient or SMART app sends).

Each entry's outcome is said in the response, one entry per request entry in the same order (FHIR R4 3.1.0.11):

- **stored**: ``201 Created`` (new) or ``200 OK`` (an existing record changed), ``location`` the record;
- **unchanged**: ``200 OK`` with an ``information``/``informational`` issue "unchanged: ..." (a re-import of a
  resource identical to the record held);
- **skipped**: ``200 OK`` with an ``information`` issue "skipped: ..." - ``not-supported`` for a resource type
  idiograph does not hold (Claim, Immunization, ...), ``informational`` for a resource with nothing to store
  (an Observation with a coded or text value, a response to a questionnaire idiograph does not score);
- **rejected** (batch only): ``400``/``403``/``409`` with the reason, field by field.

A transaction is refused whole (nothing stored) only for errors that make the data wrong: a resource that fails
strict validation, an invalid value, a reference that resolves to no Patient (or to several). A resource type
not imported and a unit that cannot be converted never refuse it.

A value whose unit cannot be converted exactly to its code's unit (Synthea's eGFR in ``mL/min`` where the code
was learnt in ``mL/min/{1.73_m2}``) is stored as sent, as its own measure: under the unit-qualified local code
``urn:idiograph:unit-qualified:<system>|<code>@<unit>``, learnt with that unit. It forms its own series, so it
never feeds a baseline or an alert computed in the code's unit as if it were in that unit (hazard H-079); the
entry is stored with a ``warning`` issue saying so and the summary counts it. A questionnaire score in a physical
unit is an invalid value and is refused (a score kept apart would escape the safety rule).

The summary (stored, unchanged, skipped, rejected, unit-unconverted) is in the import's audit record and in the
response Bundle's ``meta.extension`` (``SUMMARY_EXT``): R4 has no Bundle-level issues (``Bundle.issues`` is R5)
and a transaction-response may hold no entry beyond one per request entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import DomainError, FieldProblem, Forbidden, InvalidInput
from idiograph.fhir import intake_import, intake_mapping, vocab
from idiograph.fhir import mapping_in as m
from idiograph.instruments.definitions import by_questionnaire
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.measures.responses import answer_values, record_response, unanswered
from idiograph.observations.model import Observation
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import CodeBook, NewObservation, StoredRow
from idiograph.observations.units import convert
from idiograph.observations.validation import observation_problems
from idiograph.patients.access import may_import_into
from idiograph.patients.identity import upsert_person
from idiograph.patients.model import Condition, Encounter, Episode, Person, PersonIdentifier
from idiograph.pipeline import record
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

ORDER = {
    "Patient": 0,
    "EpisodeOfCare": 1,
    "Encounter": 2,
    "Condition": 3,
    "Observation": 4,
    "QuestionnaireResponse": 5,
    "Goal": 6,
}
MAX_ENTRIES = 50_000
CREATABLE = ("Observation", "QuestionnaireResponse")
SUMMARY_EXT = f"{vocab.BASE}/StructureDefinition/import-summary"
SUMMARY_KEYS = ("stored", "unchanged", "skipped", "rejected", "unit-unconverted")
SOURCE_IDENTIFIER = "urn:idiograph:source:"  # how an exported Observation names its source (mapping_out)


class PreconditionFailed(DomainError):
    """A conditional create whose criteria match more than one record (FHIR: 412 Precondition Failed)."""

    def __init__(self, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail, problems or [], 412, "Precondition failed")


@dataclass
class EntryResult:
    status: str
    location: str | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "stored"  # stored | unchanged | skipped | rejected
    unconverted: int = 0  # values kept in a unit that could not be converted


@dataclass
class Pending:
    """An entry whose observations are stored with the batch: its outcome is known once they are."""

    resource_type: str
    keys: list[tuple[str, str]]  # (source, source_id) of its rows
    location: str | None = None  # known for a response; for an Observation, its first row once stored
    created: bool = False  # the resource itself is new (a response record)
    changed: bool = False  # the resource itself changed apart from its rows
    issues: list[dict[str, Any]] = field(default_factory=list)
    unconverted: int = 0


def _status(created: bool) -> str:
    return "201 Created" if created else "200 OK"


def _issue(severity: str, code: str, diagnostics: str, expression: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = [expression]
    return out


def _written(status: str, location: str | None, issues: list[dict[str, Any]] | None = None) -> EntryResult:
    """``status`` from upsert: created, updated or unchanged."""
    if status == "unchanged":
        return _unchanged(location, issues)
    return EntryResult(_status(status == "created"), location, list(issues or []))


def _unchanged(location: str | None, issues: list[dict[str, Any]] | None = None, unconverted: int = 0) -> EntryResult:
    note = _issue("information", "informational", "unchanged: identical to the record already held")
    return EntryResult("200 OK", location, [note, *(issues or [])], "unchanged", unconverted)


def skipped(reason: str, code: str = "informational") -> EntryResult:
    """Not stored, and not an error: a type idiograph does not hold (``not-supported``) or nothing to store."""
    return EntryResult("200 OK", None, [_issue("information", code, f"skipped: {reason}")], "skipped")


def _rejected(status: str, problems: list[FieldProblem], code: str = "invalid") -> EntryResult:
    return EntryResult(status, None, [_issue("error", code, p.reason, p.field) for p in problems], "rejected")


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
    """One import of one Bundle (or one created resource) by one principal."""

    def __init__(
        self,
        session: Session,
        principal: Principal,
        instance_uri: str,
        source: str,
        team_id: uuid.UUID | None,
        *,
        local_patients: bool = False,
        fhir_base: str | None = None,
    ) -> None:
        self.s, self.p, self.instance, self.source, self.team_id = session, principal, instance_uri, source, team_id
        self.own = source == instance_uri
        # ``Patient/<uuid>`` names a person on this instance (an export re-imported, or a create from an app)
        self.creating = local_patients
        self.local_patients = local_patients or self.own
        self.bases = tuple(b.rstrip("/") + "/" for b in (instance_uri, fhir_base) if b)
        self.codes = CodeBook(session)
        self.by_full_url: dict[str, tuple[str, str | None]] = {}
        self.person_for: dict[str, uuid.UUID] = {}  # fullUrl, Type/id or conditional reference -> person id
        self.touched: dict[uuid.UUID, dict[str, int]] = {}
        self.new_people: set[uuid.UUID] = set()
        self.unanswered: list[Unanswered] = []

    def take_unanswered(self) -> list[Unanswered]:
        """Safety items left unanswered on the responses read since the last store (for the safety rule)."""
        taken, self.unanswered = self.unanswered, []
        return taken

    # -- references -------------------------------------------------------------------------------
    def person_ref(self, ref: str, where: str) -> uuid.UUID:
        ref = self._relative(ref)
        conditional = "?" in ref
        key = ref if ref.startswith("urn:") or conditional else "/".join(ref.split("/")[-2:])
        if key in self.person_for:
            return self.person_for[key]
        pid: uuid.UUID | None = None
        if conditional:
            if not ref.startswith("Patient?"):
                raise m.InvalidEntry([FieldProblem(f"{where}.subject", f"{ref!r} is not a Patient")])
            pid = self._by_identifier(ref, f"{where}.subject")
        elif key.startswith("Patient/"):
            rid = key.split("/", 1)[1]
            local = _as_uuid(rid) if self.local_patients and "://" not in ref else None
            if local and self.s.get(Person, local):
                pid = local
            elif not self.creating:  # a bundle may name a Patient held here by its source's id
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

    def _relative(self, ref: str) -> str:
        """An absolute reference under this instance's URI or FHIR base, made relative (``Patient/<id>``)."""
        for base in self.bases:
            if ref.startswith(base):
                return ref[len(base) :]
        return ref

    def _by_identifier(self, ref: str, where: str) -> uuid.UUID | None:
        """``Patient?identifier=[system|]value``: the one person with that identifier; several is an error (FHIR:
        a conditional reference matching more than one resource fails)."""
        system, value = m.conditional_identifier(ref, where)
        q = select(PersonIdentifier.person_id).where(PersonIdentifier.value == value)
        if system is not None:
            q = q.where(PersonIdentifier.system == system)
        found = list(dict.fromkeys(self.s.scalars(q.limit(3))))
        if len(found) > 1:
            raise m.InvalidEntry([FieldProblem(where, f"{ref} matches more than one person")])
        return found[0] if found else None

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
        if status == "created" and self.team_id is None:  # on no caseload, nobody would see them or their alerts
            raise m.InvalidEntry(
                [
                    FieldProblem(
                        where,
                        "a new person needs a team whose caseload they join: name one (--team at the command "
                        "line, ?team= on the API)",
                    )
                ]
            )
        if status == "created":
            self.new_people.add(person.id)
        self._count(person.id, f"patient-{status}")
        self.person_for[f"Patient/{rid}"] = person.id
        if full_url:
            self.person_for[full_url] = person.id
        return _written(status, f"Patient/{person.id}")

    def _upsert(self, model: type, rid: str, values: dict[str, Any]) -> tuple[Any, str]:
        own = _as_uuid(rid) if self.own else None
        row = self.s.get(model, own) if own else None
        row = row or self.s.scalar(select(model).where(model.source == self.source, model.source_id == rid))
        if row is None:
            row = model(id=own or uuid.uuid4(), source=self.source, source_id=rid, **values)
            self.s.add(row)
            self.s.flush()
            return row, "created"
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        for k, v in changed.items():
            setattr(row, k, v)
        self.s.flush()
        return row, "updated" if changed else "unchanged"

    def condition(self, res: dict[str, Any], rid: str, where: str) -> EntryResult:
        c = m.condition(res, where)
        pid = self.person_ref(c.subject, where)
        row, status = self._upsert(
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
        return _written(status, f"Condition/{row.id}")

    def encounter(self, res: dict[str, Any], rid: str, where: str) -> EntryResult:
        e = m.encounter(res, where)
        pid = self.person_ref(e.subject, where)
        row, status = self._upsert(
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
        return _written(status, f"Encounter/{row.id}")

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
        row, status = self._upsert(Episode, rid, values)
        if row.team_id is None:
            row.team_id = self.team_id
        self._count(pid, "episode")
        return _written(status, f"EpisodeOfCare/{row.id}")

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

    def observation(
        self, res: dict[str, Any], rid: str, where: str, source: str | None = None
    ) -> tuple[Pending, list[NewObservation]]:
        """The rows of one Observation (its value and components); a value in a unit that cannot be converted is
        kept as sent under its unit-qualified code (module docstring)."""
        rows: list[NewObservation] = []
        pending = Pending("Observation", [])
        now = utcnow()
        for o in m.observations(res, where):
            pid = self.person_ref(o.subject, where)
            at = f"{where}.component[{o.suffix.rsplit('/', 1)[-1]}]" if o.suffix else where
            system, code, value, unit = o.system, o.code, o.value, o.unit
            known = self.codes.get(system, code)
            if known is None:
                known = self.codes.learn(system, code, o.display, unit or "1")
            if unit is not None and unit != known.unit:
                converted = convert(value, unit, known.unit)
                if converted is None and known.kind.startswith("questionnaire") and m.is_dimensionless(unit):
                    converted = value  # a score's annotation ({points}, {#}): the same dimensionless count
                if converted is not None:
                    value, unit = converted, known.unit
                elif known.kind.startswith("questionnaire"):
                    raise m.InvalidEntry(
                        [FieldProblem(f"{at}.valueQuantity.code", f"a questionnaire score cannot be in {unit!r}")]
                    )
                else:
                    catalogue_unit = known.unit
                    system, code = m.unit_qualified(o.system, o.code, unit)
                    if len(code) > m.MAX_CODE or len(system) > m.MAX_SYSTEM:
                        reason = f"{unit!r} cannot be converted to {catalogue_unit!r} and is too long to keep apart"
                        raise m.InvalidEntry([FieldProblem(f"{at}.valueQuantity.code", reason)])
                    display = f"{o.display} (as sent in {unit}; not convertible to {catalogue_unit})"
                    known = self.codes.get(system, code) or self.codes.learn(system, code, display, unit)
                    pending.unconverted += 1
                    pending.issues.append(
                        _issue(
                            "warning",
                            "not-supported",
                            f"unit-unconverted: {unit!r} cannot be converted to {catalogue_unit!r}; the value is "
                            f"stored as sent under its own code {system}|{code}, apart from results in "
                            f"{catalogue_unit!r} (no baseline or alert mixes them)",
                            f"{at}.valueQuantity.code",
                        )
                    )
            problems = observation_problems(where, known, system, code, value, unit, o.time, now)
            if problems:
                raise m.InvalidEntry(problems)
            src, source_id = source or self.source, rid + o.suffix
            if self.own:
                own = self.s.get(Observation, _as_uuid(rid)) if _as_uuid(rid) else None
                if own is not None:
                    src, source_id = own.source, own.source_id
            rows.append(NewObservation(pid, system, code, value, unit, o.time, src, source_id))
            pending.keys.append((src, source_id))
            self._count(pid, "observation")
        return pending, rows

    def response(
        self, res: dict[str, Any], rid: str, where: str, source: str | None = None
    ) -> tuple[Pending, list[NewObservation]]:
        qr = m.questionnaire_response(res, where)
        inst = by_questionnaire(qr.questionnaire)
        if inst is None:
            raise m.Skip(f"questionnaire {qr.questionnaire!r} is not an instrument idiograph scores")
        if qr.authored > utcnow() + timedelta(minutes=5):  # the same rule as the API's (measures.service)
            raise m.InvalidEntry([FieldProblem(f"{where}.authored", "is in the future")])
        pid = self.person_ref(qr.subject, where)
        values, unknown = answer_values(inst, qr.answers)
        if unknown:
            raise m.InvalidEntry(
                [FieldProblem(f"{where}.item", f"not items or answers of {inst.id}: {', '.join(unknown[:5])}")]
            )
        own = _as_uuid(rid) if self.own else None
        existing = self.s.get(QuestionnaireResponseRecord, own) if own else None
        src, source_id = (existing.source, existing.source_id) if existing else (source or self.source, rid)
        existing = existing or self.s.scalar(
            select(QuestionnaireResponseRecord).where(
                QuestionnaireResponseRecord.source == src, QuestionnaireResponseRecord.source_id == source_id
            )
        )
        before = _response_state(existing) if existing else None
        rec, score, rows = record_response(
            self.s, pid, inst, values, qr.authored, src, source_id, qr.status, record_id=own
        )
        self.unanswered += unanswered(rec, score)
        self._count(pid, "questionnaire-response")
        pending = Pending(
            "QuestionnaireResponse",
            [(r.source, r.source_id or "") for r in rows],
            f"QuestionnaireResponse/{rec.id}",
            created=before is None,
            changed=before is not None and before != _response_state(rec),
        )
        return pending, rows


def _response_state(rec: QuestionnaireResponseRecord) -> tuple[Any, ...]:
    return (rec.person_id, rec.instrument, rec.authored_at, rec.status, rec.total, rec.prorated)


def _observation_ids(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    by_source: dict[str, list[str]] = {}
    for src, sid in keys:
        by_source.setdefault(src, []).append(sid)
    out: dict[tuple[str, str], uuid.UUID] = {}
    for src, ids in by_source.items():
        for start in range(0, len(ids), 1000):
            q = select(Observation.id, Observation.source_id).where(
                Observation.source == src, Observation.source_id.in_(ids[start : start + 1000])
            )
            for oid, sid in session.execute(q):
                out[(src, sid)] = oid
    return out


def resolve(session: Session, pending: dict[int, Pending], stored: Sequence[StoredRow]) -> dict[int, EntryResult]:
    """Each pending entry's outcome from the rows the store created or changed."""
    changed = {(r.source, r.source_id): r for r in stored}
    missing = [k for p in pending.values() if p.location is None for k in p.keys[:1] if k not in changed]
    ids = _observation_ids(session, missing) if missing else {}
    out: dict[int, EntryResult] = {}
    for i, p in pending.items():
        rows = [changed[k] for k in p.keys if k in changed]
        location = p.location
        if location is None and p.keys:
            first = changed.get(p.keys[0])
            oid = first.observation_id if first is not None else ids.get(p.keys[0])
            location = f"Observation/{oid}" if oid else None
        if p.created or any(r.created for r in rows):
            out[i] = EntryResult("201 Created", location, p.issues, "stored", p.unconverted)
        elif rows or p.changed:
            out[i] = EntryResult("200 OK", location, p.issues, "stored", p.unconverted)
        else:
            out[i] = _unchanged(location, p.issues, p.unconverted)
    return out


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
    """Import a Bundle and return the transaction-response / batch-response Bundle (module docstring)."""
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
            results[i] = skipped(f"{rt} resources are not stored by idiograph", "not-supported")
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
            results[idx] = _rejected("400 Bad Request", [p])
    typed.sort(key=lambda t: (ORDER[t[1]], t[0]))
    detail: dict[str, object] = {"via": "fhir", "source": source}

    def all_or_nothing(imp: BundleImport) -> None:
        pending: dict[int, Pending] = {}
        rows: list[NewObservation] = []
        wrong: list[FieldProblem] = []  # every entry's problems are named, then nothing is stored
        for i, rt, res, rid in typed:
            full = str(entries[i].get("fullUrl") or "")
            try:
                out, new = _one(imp, rt, res, rid, full, f"Bundle.entry[{i}].resource")
            except m.Skip as skip:
                results[i] = skipped(str(skip))
                continue
            except m.InvalidEntry as exc:
                wrong += exc.problems
                continue
            if wrong:
                continue
            if isinstance(out, Pending):
                pending[i] = out
            else:
                results[i] = out
            rows += new
        if wrong:
            raise m.InvalidEntry(wrong)
        stored: Sequence[StoredRow] = ()
        if rows:
            recorded = record(
                imp.s,
                principal.actor,
                imp.codes,
                rows,
                unanswered=imp.take_unanswered(),
                audit_action="import",
                audit_detail=detail,
            )
            stored = recorded.stored
        for i, r in resolve(imp.s, pending, stored).items():
            results[i] = r

    def batch(imp: BundleImport) -> None:
        for i, rt, res, rid in typed:
            if results[i] is not None:
                continue
            full = str(entries[i].get("fullUrl") or "")
            try:
                with imp.s.begin_nested():
                    out, rows = _one(imp, rt, res, rid, full, f"Bundle.entry[{i}].resource")
                    stored: Sequence[StoredRow] = ()
                    if rows:
                        stored = record(
                            imp.s,
                            principal.actor,
                            imp.codes,
                            rows,
                            unanswered=imp.take_unanswered(),
                            audit_action="import",
                            audit_detail=detail,
                        ).stored
                    results[i] = resolve(imp.s, {i: out}, stored)[i] if isinstance(out, Pending) else out
            except m.Skip as skip:
                results[i] = skipped(str(skip))
            except (m.InvalidEntry, DomainError, ValueError) as exc:
                imp.take_unanswered()  # the entry was rolled back: nothing of it to prompt about
                status = {403: "403 Forbidden", 409: "409 Conflict"}.get(getattr(exc, "status", 400), "400 Bad Request")
                probs = getattr(exc, "problems", None) or [FieldProblem(f"Bundle.entry[{i}]", str(exc))]
                results[i] = _rejected(status, probs, "forbidden" if isinstance(exc, Forbidden) else "invalid")

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
            all_or_nothing(imp)
        except m.InvalidEntry as exc:
            raise InvalidInput("the transaction was rejected; nothing was stored", exc.problems) from exc
        except ValueError as exc:
            raise InvalidInput(
                "the transaction was rejected; nothing was stored", [FieldProblem("Bundle.entry", str(exc))]
            ) from exc
    else:
        batch(imp)
    summary = summarise(results)
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
        detail={
            "via": "fhir",
            "source": source,
            "type": kind,
            "entries": len(entries),
            "people": len(imp.touched),
            **summary,
        },
    )
    return {
        "resourceType": "Bundle",
        "type": f"{kind}-response",
        "meta": {"extension": [summary_extension(summary)]},
        "entry": [_response_entry(r) for r in results],
    }


def summarise(results: Sequence[EntryResult | None]) -> dict[str, int]:
    """Counts of each outcome (``SUMMARY_KEYS``); unit-unconverted counts values, the others entries."""
    out = dict.fromkeys(SUMMARY_KEYS, 0)
    for r in results:
        if r is not None:
            out[r.outcome] += 1
            out["unit-unconverted"] += r.unconverted
    return out


def summary_extension(summary: dict[str, int]) -> dict[str, Any]:
    """The summary as an R4 extension (on the response Bundle's ``meta``): one unsignedInt per outcome."""
    return {"url": SUMMARY_EXT, "extension": [{"url": k, "valueUnsignedInt": summary[k]} for k in SUMMARY_KEYS]}


def summary_of(response: dict[str, Any]) -> dict[str, int]:
    """The counts carried by a transaction-response / batch-response from ``import_bundle`` (for a header or the
    command line)."""
    for ext in (response.get("meta") or {}).get("extension", []):
        if ext.get("url") == SUMMARY_EXT:
            return {e["url"]: e["valueUnsignedInt"] for e in ext["extension"]}
    return {}


def _one(
    imp: BundleImport, rt: str, res: dict[str, Any], rid: str, full_url: str, where: str
) -> tuple[EntryResult | Pending, list[NewObservation]]:
    if rt == "Patient":
        return imp.patient(res, rid, full_url, where), []
    if rt == "Goal":
        return _written(*intake_import.goal(imp, res, rid, where)), []
    if intake_mapping.is_intake(res):
        if rt == "Observation":
            raise m.Skip("derived from the intake QuestionnaireResponse, which brings the intake record")
        status, location = intake_import.response(imp, res, rid, where)
        imp._count(imp.person_ref(res["subject"]["reference"], where), "intake")
        return _written(status, location), []
    if rt == "Observation":
        return imp.observation(res, rid, where)
    if rt == "QuestionnaireResponse":
        return imp.response(res, rid, where)
    handler = {"Condition": imp.condition, "Encounter": imp.encounter, "EpisodeOfCare": imp.episode}[rt]
    return handler(res, rid, where), []


def _response_entry(r: EntryResult | None) -> dict[str, Any]:
    r = r or EntryResult("500 Internal Server Error", outcome="rejected")
    out: dict[str, Any] = {"response": {"status": r.status}}
    if r.location:
        out["response"]["location"] = r.location
    if r.issues:
        out["response"]["outcome"] = {"resourceType": "OperationOutcome", "issue": r.issues}
    return out


# -- type-level create ---------------------------------------------------------------------------------------------
def create_resource(
    session: Session,
    principal: Principal,
    resource_type: str,
    resource: dict[str, Any],
    *,
    instance_uri: str,
    if_none_exist: str | None,
    team_id: uuid.UUID | None,
    fhir_base: str | None = None,
) -> tuple[int, str, dict[str, Any] | None]:
    """``POST [base]/Observation`` or ``/QuestionnaireResponse``: (HTTP status, the record's id, an
    OperationOutcome or None). The same strict validation, unit handling, scoring, safety rule, statistical rules
    and audit as a Bundle entry (``BundleImport`` and ``pipeline.record``).

    The subject must be a Patient already held: ``Patient/<id>`` (relative, or absolute under ``instance_uri`` or
    ``fhir_base``, the server's FHIR base URL), or ``Patient?identifier=...`` (or a logical reference by
    identifier). The resource's identifier (``system|value``), else the
    ``If-None-Exist`` identifier, is its source key, so sending it again changes nothing (200, unchanged); without
    either, the server assigns the id. ``If-None-Exist: identifier=[system|]value``: no match creates (201), one
    match returns that record's id with 200 and writes nothing, more than one is 412 (``PreconditionFailed``).
    A resource with nothing to store (a coded value, an unscored questionnaire, an in-progress response) is 422:
    a create must create. ``team_id`` is accepted for symmetry with import: no person is created here."""
    principal.require(Permission.DATA_IMPORT)
    where = resource_type
    if resource_type not in CREATABLE:
        raise InvalidInput(
            f"{resource_type} cannot be created here", [FieldProblem("resourceType", f"one of {', '.join(CREATABLE)}")]
        )
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        raise InvalidInput(
            f"the body must be a {resource_type} resource", [FieldProblem("resourceType", f"must be {resource_type!r}")]
        )
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        raise InvalidInput(
            f"the {resource_type} is not valid FHIR; nothing was stored", _validation_problems(exc, where)
        ) from exc
    criteria = _if_none_exist(if_none_exist) if if_none_exist else None
    if criteria is not None:
        matches = _matching(session, resource_type, *criteria)
        for _found, person_id in matches:  # access first: a record elsewhere is neither shown nor counted
            may_import_into(session, principal, person_id, where)
        if len(matches) > 1:
            raise PreconditionFailed(
                f"If-None-Exist matches {len(matches)} {resource_type} records; nothing was stored",
                [FieldProblem("If-None-Exist", f"{if_none_exist} matches more than one record")],
            )
        if matches:
            found, person_id = matches[0]
            audit.append(
                session,
                principal.actor,
                "read",
                resource_type,
                str(found),
                person_id,
                detail={"via": "fhir", "if-none-exist": if_none_exist, "matched": 1},
            )
            note = _issue(
                "information", "informational", "a matching record exists (If-None-Exist): nothing was stored"
            )
            return 200, str(found), {"resourceType": "OperationOutcome", "issue": [note]}
    key = _identifier_key(resource, where) or (_source_key(*criteria, where) if criteria and criteria[0] else None)
    source, rid = key if key else (instance_uri, str(uuid.uuid4()))
    imp = BundleImport(session, principal, instance_uri, source, team_id, local_patients=True, fhir_base=fhir_base)
    try:
        ref = imp._relative(m.subject_of(resource, where))
        if not (ref.startswith("Patient?") or (ref.startswith("Patient/") and ref.count("/") == 1)):
            raise m.InvalidEntry(
                [
                    FieldProblem(
                        f"{where}.subject",
                        f"{ref!r}: must be a Patient held here (Patient/<id>) or Patient?identifier=system|value",
                    )
                ]
            )
        if resource_type == "Observation":
            pending, rows = imp.observation(resource, rid, where)
        else:
            pending, rows = imp.response(resource, rid, where)
    except m.Skip as skip:
        raise InvalidInput(f"nothing to store: {skip}", [FieldProblem(where, f"not stored: {skip}")]) from skip
    except m.InvalidEntry as exc:
        raise InvalidInput(f"the {resource_type} was rejected; nothing was stored", exc.problems) from exc
    stored: Sequence[StoredRow] = ()
    detail: dict[str, object] = {"via": "fhir", "source": source, "interaction": "create"}
    if rows:
        stored = record(
            session,
            principal.actor,
            imp.codes,
            rows,
            unanswered=imp.take_unanswered(),
            audit_action="create",
            audit_detail=detail,
        ).stored
    result = resolve(session, {0: pending}, stored)[0]
    record_id = (result.location or "/").split("/", 1)[1]
    person_id = next(iter(imp.touched))
    audit.append(
        session,
        principal.actor,
        "create",
        resource_type,
        record_id,
        person_id,
        detail={**detail, "outcome": result.outcome, "unit-unconverted": result.unconverted},
    )
    outcome = {"resourceType": "OperationOutcome", "issue": result.issues} if result.issues else None
    return (201 if result.status.startswith("201") else 200), record_id, outcome


def _if_none_exist(header: str) -> tuple[str | None, str]:
    """(system or None, value) of ``identifier=[system|]value``: the one search idiograph supports here."""
    try:
        return m.conditional_identifier("?" + header.strip().lstrip("?"), "If-None-Exist")
    except m.InvalidEntry as exc:
        raise DomainError("If-None-Exist: only identifier=system|value is supported", exc.problems) from exc


def _source_key(system: str | None, value: str, where: str) -> tuple[str, str]:
    """The (source, source_id) an identifier names; an exported Observation's ``urn:idiograph:source:`` prefix
    names the source itself."""
    system = system or ""
    if system.startswith(SOURCE_IDENTIFIER):
        system = system[len(SOURCE_IDENTIFIER) :]
    if not system or len(system) > 300 or len(value) > 200:
        raise InvalidInput(
            "the identifier cannot key the record",
            [FieldProblem(f"{where}.identifier", "needs a system (at most 300 characters) and a value (at most 200)")],
        )
    return system, value


def _identifier_key(resource: dict[str, Any], where: str) -> tuple[str, str] | None:
    idents = resource.get("identifier")
    for ident in [idents] if isinstance(idents, dict) else idents or []:
        if ident.get("system") and ident.get("value"):
            return _source_key(ident["system"], ident["value"], where)
    return None


def _matching(session: Session, resource_type: str, system: str | None, value: str) -> list[tuple[Any, uuid.UUID]]:
    """(id, person) of each record an identifier search finds (at most a few: more than one is refused)."""
    sources = None
    if system is not None:
        sources = {system, system[len(SOURCE_IDENTIFIER) :] if system.startswith(SOURCE_IDENTIFIER) else system}
    if resource_type == "QuestionnaireResponse":
        q = select(QuestionnaireResponseRecord.id, QuestionnaireResponseRecord.person_id).where(
            QuestionnaireResponseRecord.source_id == value
        )
        if sources is not None:
            q = q.where(QuestionnaireResponseRecord.source.in_(sources))
        return [(rid, pid) for rid, pid in session.execute(q.limit(3))]
    q2 = select(Observation.id, Observation.person_id, Observation.source).where(
        or_(Observation.source_id == value, Observation.source_id.startswith(f"{value}/component/", autoescape=True))
    )
    if sources is not None:
        q2 = q2.where(Observation.source.in_(sources))
    found: dict[str, tuple[Any, uuid.UUID]] = {}
    for oid, pid, src in session.execute(q2.order_by(Observation.source_id).limit(50)):
        found.setdefault(src, (oid, pid))  # one Observation resource per source: its value and components
    return list(found.values())
