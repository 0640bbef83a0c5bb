"""FHIR R4 routes: transaction/batch import, read, search, $everything, metadata."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.fhir import service
from idiograph.fhir.importer import import_bundle
from idiograph.security.deps import DB, raw_body, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.teams import team_by_name

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, media_type=FHIR_JSON)


@router.get("/metadata", openapi_extra={"x-public": "FHIR capability statement"})
def metadata(request: Request) -> JSONResponse:
    return fhir(service.capability_statement(str(request.app.state.settings.public_base_url).rstrip("/") + "/fhir/R4"))


def _team(db: Session, team: str | None) -> uuid.UUID | None:
    if not team:
        return None
    try:
        return uuid.UUID(team)
    except ValueError:
        pass
    return team_by_name(db, team).id


@router.post("")
def transaction(
    request: Request,
    source: str | None = None,
    team: str | None = None,
    raw: bytes = Depends(raw_body),
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_IMPORT)),
) -> JSONResponse:
    """A transaction (all-or-nothing) or batch Bundle. New people join ``team`` (default: your only team)."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the body is not valid JSON", [FieldProblem("body", str(exc))]) from None
    return fhir(import_bundle(db, p, body, request.app.state.settings.instance_uri, source, _team(db, team)))


@router.get("/Patient/{patient_id}")
def read_patient(
    patient_id: str, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> JSONResponse:
    return fhir(service.read_patient(db, p, patient_id))


@router.get("/Patient/{patient_id}/$everything")
def everything(
    patient_id: uuid.UUID,
    request: Request,
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_EXPORT)),
) -> JSONResponse:
    return fhir(service.export_person(db, p, patient_id, request.app.state.settings.instance_uri))


@router.get("/Patient")
def search_patient(
    identifier: str, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> JSONResponse:
    return fhir(service.search_patients(db, p, identifier))


@router.get("/Observation")
def search_observation(
    patient: str,
    code: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> JSONResponse:
    return fhir(service.search_observations(db, p, patient, code))


@router.get("/Flag")
def search_flag(
    patient: str,
    status: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> JSONResponse:
    return fhir(service.search_flags(db, p, patient, status))


@router.get("/Appointment")
def search_appointment(
    patient: str, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> JSONResponse:
    return fhir(service.search_appointments(db, p, patient))


@router.get("/CarePlan")
def search_care_plan(
    patient: str,
    category: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> JSONResponse:
    return fhir(service.search_care_plans(db, p, patient, category))


@router.get("/Questionnaire/{questionnaire_id}")
def read_questionnaire(questionnaire_id: str, p: Principal = Depends(require(Permission.SIGNED_IN))) -> JSONResponse:
    """A Questionnaire generated from an instrument file (items, answer scores, safety items)."""
    return fhir(service.read_questionnaire(questionnaire_id))


@router.get("/Questionnaire")
def search_questionnaire(url: str | None = None, p: Principal = Depends(require(Permission.SIGNED_IN))) -> JSONResponse:
    return fhir(service.search_questionnaires(url))
