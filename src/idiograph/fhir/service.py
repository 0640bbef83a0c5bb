"""FHIR read, search and export: each a permitted, audited use case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idiograph import __version__
from idiograph.db import utcnow
from idiograph.errors import NotFound, invalid
from idiograph.fhir import mapping_out as out
from idiograph.fhir import vocab
from idiograph.instruments.definitions import by_questionnaire, instruments
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook
from idiograph.patients.access import access_basis, ensure_access
from idiograph.patients.model import Condition, Encounter, Episode, Person, PersonIdentifier
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [out.bundle_entry(r, mode="match") for r in resources],
    }


def _person_id(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.split("/")[-1])
    except ValueError:
        raise invalid(name, f"{value!r} is not a patient id") from None


def read_patient(session: Session, principal: Principal, patient_id: str) -> dict[str, Any]:
    pid = _person_id(patient_id, "id")
    person, basis = ensure_access(session, principal, pid, Permission.PERSON_READ)
    audit.append(session, principal.actor, "read", "Patient", str(pid), pid, detail={"via": "fhir", "basis": basis})
    return out.patient(person)


def search_patients(session: Session, principal: Principal, identifier: str) -> dict[str, Any]:
    """``identifier=SYSTEM|VALUE`` (or ``VALUE`` alone, any system); only records the caller may open."""
    principal.require(Permission.PERSON_READ)
    system, sep, value = identifier.partition("|")
    if not sep:
        system, value = "", identifier
    if not value:
        raise invalid("identifier", "give SYSTEM|VALUE or VALUE")
    q = select(PersonIdentifier.person_id).where(PersonIdentifier.value == value)
    if system:
        q = q.where(PersonIdentifier.system == system)
    ids = set(session.scalars(q))
    if system in ("", vocab.NHS_NUMBER):
        ids |= set(session.scalars(select(Person.id).where(Person.nhs_number == value)))
    found = []
    for pid in sorted(ids):
        basis = access_basis(session, principal, pid)
        if basis is None:
            continue
        found.append(out.patient(session.get(Person, pid)))
        audit.append(
            session, principal.actor, "search", "Patient", str(pid), pid, detail={"via": "fhir", "basis": basis}
        )
    return _searchset(found)


def search_observations(session: Session, principal: Principal, patient: str, code: str | None) -> dict[str, Any]:
    pid = _person_id(patient, "patient")
    ensure_access(session, principal, pid, Permission.PERSON_READ)
    q = select(Observation).where(Observation.person_id == pid)
    if code:
        clauses = []
        for token in code.split(","):
            system, sep, c = token.partition("|")
            clauses.append(
                (Observation.system == system) & (Observation.code == c) if sep else Observation.code == token
            )
        q = q.where(or_(*clauses))
    rows = list(session.scalars(q.order_by(Observation.effective_at, Observation.code)))
    codes = CodeBook(session)
    resources = [out.observation(o, codes.display(o.system, o.code)) for o in rows]
    audit.append(
        session,
        principal.actor,
        "search",
        "Observation",
        None,
        pid,
        detail={"via": "fhir", "code": code, "count": len(rows)},
    )
    return _searchset(resources)


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
    def res(t: str, interactions: list[str], params: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "type": t,
            "interaction": [{"code": i} for i in interactions],
            "searchParam": [{"name": n, "type": ty} for n, ty in params],
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
                "security": {
                    "description": "OAuth2 password flow: POST /api/v1/auth/token; send 'Authorization: Bearer'."
                },
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "resource": [
                    res("Patient", ["read", "search-type"], [("identifier", "token")]),
                    res("Observation", ["search-type"], [("patient", "reference"), ("code", "token")]),
                    res("QuestionnaireResponse", ["create", "update"], []),
                    res("Condition", ["create", "update"], []),
                    res("Encounter", ["create", "update"], []),
                    res("EpisodeOfCare", ["create", "update"], []),
                    res("Flag", ["search-type"], [("patient", "reference"), ("status", "token")]),
                    res("Appointment", ["search-type"], [("patient", "reference")]),
                    res("CarePlan", ["search-type"], [("patient", "reference"), ("category", "token")]),
                    res("Questionnaire", ["read", "search-type"], [("url", "uri")]),
                ],
                "operation": [
                    {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
                ],
            }
        ],
    }


def search_flags(session: Session, principal: Principal, patient: str, status: str | None) -> dict[str, Any]:
    """Alerts of every kind as FHIR Flags (``status=active`` for those not yet closed)."""
    from idiograph.alerts import service as alerts

    if status not in (None, "active", "inactive"):
        raise invalid("status", "must be active or inactive")
    pid = _person_id(patient, "patient")
    found = alerts.for_person(session, principal, pid, via="fhir")
    flags = [out.flag(a) for a in found]
    if status:
        flags = [f for f in flags if f["status"] == status]
    return _searchset(flags)


def read_questionnaire(questionnaire_id: str) -> dict[str, Any]:
    """The FHIR Questionnaire generated from an instrument file."""
    inst = instruments().get(questionnaire_id)
    if inst is None:
        raise NotFound(f"no Questionnaire with id {questionnaire_id!r}")
    return out.questionnaire(inst)


def search_questionnaires(url: str | None) -> dict[str, Any]:
    found = [out.questionnaire(i) for i in instruments().values() if url is None or by_questionnaire(url) is i]
    return _searchset(found)


def search_appointments(session: Session, principal: Principal, patient: str) -> dict[str, Any]:
    from idiograph.care import service as care

    pid = _person_id(patient, "patient")
    return _searchset([out.appointment(a) for a in care.appointments_for(session, principal, pid, via="fhir")])


def search_care_plans(session: Session, principal: Principal, patient: str, category: str | None) -> dict[str, Any]:
    """The current crisis plan and the appointment plan (``category=crisis-plan`` for the crisis plan only)."""
    from idiograph.care import service as care
    from idiograph.care.model import AppointmentPlan

    if category not in (None, "crisis-plan", "appointment-plan"):
        raise invalid("category", "must be crisis-plan or appointment-plan")
    pid = _person_id(patient, "patient")
    plans = []
    crisis = care.crisis_plan(session, principal, pid, via="fhir")
    if crisis is not None and category in (None, "crisis-plan"):
        plans.append(out.crisis_care_plan(crisis))
    appts = session.get(AppointmentPlan, pid)
    if appts is not None and category in (None, "appointment-plan"):
        plans.append(out.appointment_care_plan(appts))
    return _searchset(plans)
