"""FHIR read, search, $everything and export: each a permitted, audited use case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph import __version__
from idiograph.db import utcnow
from idiograph.errors import NotFound
from idiograph.fhir import intake_mapping, sources
from idiograph.fhir import mapping_out as out
from idiograph.fhir import search as fs
from idiograph.fhir.importer import CREATABLE as CREATE
from idiograph.instruments.definitions import by_questionnaire, instruments
from idiograph.intake.definition import definition as intake_definition
from idiograph.intake.model import IntakeRecord
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Condition, Encounter, Episode, Person
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

# What $everything returns, in this order (a page runs on from one type into the next).
EVERYTHING = (
    "Patient",
    "EpisodeOfCare",
    "Encounter",
    "Condition",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
    "RiskAssessment",
    "Appointment",
    "CarePlan",
)
PERSON_TYPES = tuple(fs.PARAMETERS)


def _entry(base: str, resource: dict[str, Any], mode: str = "match") -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def _outcome_entry(ignored: list[str]) -> dict[str, Any]:
    text = f"ignored (not supported here): {', '.join(ignored)}; send Prefer: handling=strict to have them refused"
    oo = out.operation_outcome([("warning", "not-supported", text, None)])
    return {"resource": oo, "search": {"mode": "outcome"}}


def _bundle(
    base: str, path: str, entries: list[dict[str, Any]], total: int | None, links: dict[str, str]
) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": utcnow().isoformat()},
        **({"total": total} if total is not None else {}),
        "link": [{"relation": rel, "url": f"{base}/{path}?{q}" if q else f"{base}/{path}"} for rel, q in links.items()],
        "entry": entries,
    }


def _named_people(session: Session, principal: Principal, s: fs.Search) -> list[uuid.UUID] | None:
    """The people a search names (``patient``/``subject``/``actor``), each checked for access; None when it names
    none (the search then runs over every record the caller may open). A person named twice must be both."""
    groups = s.person_ids()
    if not groups:
        return None
    allowed: set[uuid.UUID] | None = None
    for group in groups:
        ids = set(sources._uuids(group))
        allowed = ids if allowed is None else allowed & ids
    for pid in sorted(allowed or ()):
        if session.get(Person, pid) is not None:
            ensure_access(session, principal, pid, Permission.PERSON_READ)
    return sorted(pid for pid in allowed or () if session.get(Person, pid) is not None)


def _audit_page(session: Session, principal: Principal, rt: str, page: sources.Page, detail: dict[str, Any]) -> None:
    entries = [
        audit.Entry("search", rt, None, pid, None, {"via": "fhir", "count": n, **detail})
        for pid, n in sorted(page.people.items())
    ]
    if not entries:  # a search that found no one is audited too: who looked for what
        entries = [audit.Entry("search", rt, None, None, None, {"via": "fhir", "count": 0, **detail})]
    audit.append_many(session, principal.actor, entries)


def search_type(
    session: Session,
    principal: Principal,
    resource_type: str,
    pairs: list[tuple[str, str]],
    base: str,
    strict: bool = False,
) -> dict[str, Any]:
    """``GET [base]/[type]?...``: one page of matches on records the caller may open, with links to the others."""
    principal.require(Permission.PERSON_READ)
    s = fs.parse(resource_type, pairs, strict)
    people = _named_people(session, principal, s)
    page = sources.search(session, principal, s, people)
    _audit_page(session, principal, resource_type, page, {"query": s.query()[:500]})
    links = {"self": s.query(s.cursor), "first": s.query()}
    if page.next is not None:
        links["next"] = s.query(page.next)
    if page.previous is not None:
        links["previous"] = s.query(page.previous)
    entries = [_entry(base, r) for r in page.resources]
    if s.ignored:
        entries.append(_outcome_entry(s.ignored))
    return _bundle(base, resource_type, entries, page.total, links)


def read(session: Session, principal: Principal, resource_type: str, rid: str) -> dict[str, Any]:
    """``GET [base]/[type]/[id]``: 404 for an id this server does not hold (whatever its shape)."""
    principal.require(Permission.PERSON_READ)
    for src in sources.sources(session, resource_type):
        text = rid.removeprefix("appointments-") if src.kind == "appts" else rid
        if src.kind == "appts" and not rid.startswith("appointments-"):
            continue
        try:
            key = src.key_of(text)
        except ValueError:
            continue
        # the type's own conditions too (a Flag read from the risk table only for a high-risk assessment)
        row = session.scalar(select(src.model).where(src.id == key, *src.where(fs.Search(resource_type))))
        if row is None:
            continue
        pid = row.id if resource_type == "Patient" else row.person_id
        _person, basis = ensure_access(session, principal, pid, Permission.PERSON_READ)
        audit.append(session, principal.actor, "read", resource_type, rid, pid, detail={"via": "fhir", "basis": basis})
        return src.load(session, [row])[0]
    raise NotFound(f"{resource_type}/{rid} is not known here")


EVERYTHING_DATE = {"QuestionnaireResponse": "authored", "Condition": "onset-date"}  # else "date"; Patient has none
EVERYTHING_PARAMETERS = ("_count", "_type", "start", "end")


def everything(
    session: Session,
    principal: Principal,
    patient_id: str,
    pairs: list[tuple[str, str]],
    base: str,
    strict: bool = False,
) -> dict[str, Any]:
    """``Patient/[id]/$everything``: every resource about the person idiograph holds, as a paged searchset (the
    person first, then each type in ``EVERYTHING`` order); ``_type`` narrows it, ``_count`` sets the page, ``start``
    and ``end`` keep what is dated in that range (the Patient always). Paging is forward (``next``)."""
    try:
        pid = uuid.UUID(patient_id)
    except ValueError:
        raise NotFound(f"Patient/{patient_id} is not known here") from None
    _person, basis = ensure_access(session, principal, pid, Permission.DATA_EXPORT)
    count, types, cursor = fs.DEFAULT_COUNT, list(EVERYTHING), None
    applied: list[tuple[str, str]] = []
    dated: list[str] = []
    ignored: list[str] = []
    for name, value in pairs:
        if name == "_count":
            count = fs.parse("Observation", [("_count", value)]).count
        elif name == "_type":
            asked = [t for t in value.split(",") if t]
            unknown = [t for t in asked if t not in EVERYTHING]
            if unknown:
                raise fs.bad_search(
                    "_type", f"{', '.join(unknown)} not held here (choose from {', '.join(EVERYTHING)})"
                )
            types = [t for t in EVERYTHING if t in asked]
            applied.append((name, value))
        elif name in ("start", "end"):
            fs.parse_date(name, value)
            dated.append(("ge" if name == "start" else "le") + value)
            applied.append((name, value))
        elif name == "_cursor":
            cursor = fs.Cursor.decode(value)
        elif name == "_format":
            fs.parse("Observation", [("_format", value)])
        elif strict:
            raise fs.bad_search(
                name, f"is not supported by $everything here (supported: {', '.join(EVERYTHING_PARAMETERS)})"
            )
        else:
            ignored.append(name)
    start, inner = 0, None
    if cursor is not None:
        if not cursor.key or cursor.key[0] not in types:
            raise fs.bad_search("_cursor", "belongs to another search: follow the bundle's links")
        start = types.index(str(cursor.key[0]))
        inner = fs.Cursor(cursor.key[1:]) if len(cursor.key) > 1 else None
    resources: list[dict[str, Any]] = []
    total = 0
    nxt: fs.Cursor | None = None
    counts: dict[str, int] = {}
    for i, rt in enumerate(types):
        room = count - len(resources) if i >= start else 0
        date_name = EVERYTHING_DATE.get(rt, "date")
        s = fs.parse(rt, [] if rt == "Patient" else [(date_name, d) for d in dated])
        s.count, s.sort = max(room, 1), "_id" if rt == "Patient" else "date"
        s.cursor = inner if i == start else None
        page = sources.search(session, principal, s, [pid])
        total += page.total or 0
        if i < start or count == 0:
            continue
        if room <= 0:  # the page is full: anything of a later type starts the next page
            if nxt is None and page.resources:
                nxt = fs.Cursor([rt])
            continue
        resources += page.resources
        counts[rt] = len(page.resources)
        if page.next is not None:
            nxt = fs.Cursor([rt, *page.next.key])
    audit.append(
        session,
        principal.actor,
        "export",
        "Patient",
        str(pid),
        pid,
        detail={"via": "fhir", "operation": "$everything", "basis": basis, "resources": counts},
    )
    path = f"Patient/{pid}/$everything"
    q = [*applied, ("_count", str(count))]
    links = {"self": _q(q, cursor), "first": _q(q, None)}
    if nxt is not None:
        links["next"] = _q(q, nxt)
    entries = [_entry(base, r) for r in resources]
    if ignored:
        entries.append(_outcome_entry(ignored))
    return _bundle(base, path, entries, total, links)


def _q(pairs: list[tuple[str, str]], cursor: fs.Cursor | None) -> str:
    from urllib.parse import urlencode

    return urlencode([*pairs, *([("_cursor", cursor.encode())] if cursor is not None else [])])


def export_person(
    session: Session, principal: Principal, person_id: uuid.UUID, instance_uri: str, via: str = "fhir"
) -> dict[str, Any]:
    """The person's whole record as a transaction Bundle that this or another idiograph re-imports as is."""
    person, basis = ensure_access(session, principal, person_id, Permission.DATA_EXPORT)
    resources: list[dict[str, Any]] = [out.patient(person)]
    resources += [
        out.episode_of_care(e)
        for e in session.scalars(
            select(Episode).where(Episode.person_id == person_id).order_by(Episode.referral_date, Episode.id)
        )
    ]
    resources += [
        out.encounter(e)
        for e in session.scalars(
            select(Encounter).where(Encounter.person_id == person_id).order_by(Encounter.start, Encounter.id)
        )
    ]
    resources += [
        out.condition(c)
        for c in session.scalars(
            select(Condition).where(Condition.person_id == person_id).order_by(Condition.onset, Condition.id)
        )
    ]
    codes = CodeBook(session)
    grouped: dict[uuid.UUID, dict[str, float]] = {}
    for o in session.scalars(
        select(Observation)
        .where(Observation.person_id == person_id)
        .order_by(Observation.effective_at, Observation.code, Observation.id)
    ):
        if o.group_id is not None:
            grouped.setdefault(o.group_id, {})[o.code] = o.value
            continue
        resources.append(out.observation(o, codes.display(o.system, o.code)))
    insts = instruments()
    for rec in session.scalars(
        select(QuestionnaireResponseRecord)
        .where(QuestionnaireResponseRecord.person_id == person_id)
        .order_by(QuestionnaireResponseRecord.authored_at)
    ):
        resources.append(out.questionnaire_response(rec, insts[rec.instrument], grouped.get(rec.id, {})))
    spec = intake_definition()
    for intake in session.scalars(
        select(IntakeRecord).where(IntakeRecord.person_id == person_id).order_by(IntakeRecord.created_at)
    ):
        resources += intake_mapping.resources(intake, spec)
    audit.append(
        session,
        principal.actor,
        "export",
        "Patient",
        str(person_id),
        person_id,
        detail={"via": via, "basis": basis, "resources": len(resources)},
    )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {"source": instance_uri, "lastUpdated": utcnow().isoformat()},
        "entry": [out.bundle_entry(r, method="PUT") for r in resources],
    }


def capability_statement(base_url: str) -> dict[str, Any]:
    """What this server does, built from the same tables the search parser and the routes use."""

    def res(t: str) -> dict[str, Any]:
        interactions = ["read", "search-type", *(["create"] if t in CREATE else [])]
        params = {**fs.COMMON, **fs.PARAMETERS[t]}
        entry: dict[str, Any] = {
            "type": t,
            "interaction": [{"code": i} for i in interactions],
            "searchParam": [{"name": n, "type": ty} for n, ty in sorted(params.items())],
        }
        if t in CREATE:
            entry["conditionalCreate"] = True
        if t == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]
        return entry

    questionnaire = {
        "type": "Questionnaire",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": "url", "type": "uri"}],
    }
    measure_report = {  # the KPI report (issue 19): aggregates only, for service leads and commissioners
        "type": "MeasureReport",
        "interaction": [{"code": "search-type"}],
        "searchParam": [{"name": "period-start", "type": "date"}, {"name": "period-end", "type": "date"}],
        "documentation": "Two summary reports (talking-therapies and community teams), equity strata under "
        "disclosure control, only for one whole ended NHS financial quarter (the default period; the publication "
        "grid, so that no two published strata overlap); any other period gives the totals and an OperationOutcome "
        "entry (search mode outcome) saying why; needs the service-summary permission.",
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": utcnow().date().isoformat(),
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "software": {"name": "idiograph", "version": __version__},
        "implementation": {"description": "idiograph FHIR R4 endpoint", "url": base_url},
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Searches are paged by keyset (follow the Bundle's next/previous links; _count up to "
                    f"{fs.MAX_COUNT}, default {fs.DEFAULT_COUNT}). Unknown parameters are ignored and left out of "
                    "the self link, or refused with 400 under 'Prefer: handling=strict'. JSON only: other formats "
                    "get 406."
                ),
                "security": {
                    "description": "OAuth2 password flow: POST /api/v1/auth/token; send 'Authorization: Bearer'."
                },
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "resource": [*(res(t) for t in PERSON_TYPES), questionnaire, measure_report],
            }
        ],
    }


def read_questionnaire(questionnaire_id: str) -> dict[str, Any]:
    """The FHIR Questionnaire generated from an instrument file."""
    inst = instruments().get(questionnaire_id)
    if inst is None:
        raise NotFound(f"no Questionnaire with id {questionnaire_id!r}")
    return out.questionnaire(inst)


def search_questionnaires(url: str | None, base: str) -> dict[str, Any]:
    found = [out.questionnaire(i) for i in instruments().values() if url is None or by_questionnaire(url) is i]
    q = f"url={url}" if url else ""
    return _bundle(base, "Questionnaire", [_entry(base, r) for r in found], len(found), {"self": q})
