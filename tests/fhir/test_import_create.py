"""Type-level create (``importer.create_resource``) of a QuestionnaireResponse or an Observation, as a patient or
SMART app sends it: the same validation, scoring, safety rule and audit as a Bundle entry, conditional create on
identifier (If-None-Exist), and a subject that must be a Patient already held."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.alerts.model import Alert
from idiograph.errors import DomainError, Forbidden, InvalidInput
from idiograph.fhir.importer import PreconditionFailed, create_resource, import_bundle
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.patients.model import Person
from idiograph.security.model import AuditRecord

INSTANCE = "urn:idiograph:test"
LOINC = "http://loinc.org"
APP = "https://app.example/observations"


def count(db: Session, model: type, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def person(db, make_staff, synthea_bundle):  # type: ignore[no-untyped-def]
    """(clinician, the person's id) after the Synthea-shaped bundle is imported by that clinician."""
    clin = make_staff("clin", "clinician", ("North",))
    import_bundle(db, clin.principal, synthea_bundle, INSTANCE)
    db.commit()
    return clin, db.scalar(select(Person.id))


def phq9(subject: str, item9: str = "LA6568-5") -> dict[str, Any]:
    answers = ["LA6569-3", "LA6570-1", "LA6569-3", "LA6571-9", "LA6568-5", "LA6569-3", "LA6570-1", "LA6568-5", item9]
    links = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"reference": subject},
        "authored": "2026-01-12T08:30:00+00:00",
        "item": [
            {"linkId": f"/{link}", "answer": [{"valueCoding": {"system": LOINC, "code": code}}]}
            for link, code in zip(links, answers, strict=True)
        ],
    }


def lithium(subject: str, value: float = 0.6, unit: str = "mmol/L", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "14334-7", "display": "Lithium [Moles/volume] in Serum"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-01-12T08:30:00+00:00",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        **extra,
    }


def create(db, staff, resource, if_none_exist=None):  # type: ignore[no-untyped-def]
    out = create_resource(
        db,
        staff.principal,
        resource["resourceType"],
        copy.deepcopy(resource),
        instance_uri=INSTANCE,
        if_none_exist=if_none_exist,
        team_id=None,
    )
    if out[2] is not None:
        get_fhir_model_class("OperationOutcome").model_validate(out[2])
    return out


def test_a_created_response_is_scored_alerted_and_audited(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    status, rid, outcome = create(db, clin, phq9(f"Patient/{pid}", item9="LA6571-9"))  # item 9: nearly every day
    assert (status, outcome) == (201, None)
    rec = db.get(QuestionnaireResponseRecord, uuid.UUID(rid))
    assert (rec.person_id, rec.instrument, rec.total) == (pid, "phq-9", 1 + 2 + 1 + 3 + 0 + 1 + 2 + 0 + 3)
    assert count(db, Alert, Alert.kind == "safety", Alert.person_id == pid) == 1
    assert count(db, Observation, Observation.group_id == rec.id) == 10  # nine items and the total
    audit = db.scalar(select(AuditRecord).where(AuditRecord.action == "create", AuditRecord.resource_id == rid))
    assert (audit.resource_type, audit.person_id, audit.actor) == ("QuestionnaireResponse", pid, "clin")
    assert audit.detail["outcome"] == "stored"


def test_a_created_observation_is_held_under_its_identifier_and_not_duplicated(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    body = lithium(f"Patient/{pid}", identifier=[{"system": APP, "value": "r-1"}])
    status, rid, outcome = create(db, clin, body)
    assert (status, outcome) == (201, None)
    obs = db.get(Observation, uuid.UUID(rid))
    assert (obs.person_id, obs.code, obs.value, obs.unit, obs.source, obs.source_id) == (
        pid,
        "14334-7",
        0.6,
        "mmol/L",
        APP,
        "r-1",
    )
    n = count(db, Observation)
    again = create(db, clin, body)  # an app retrying the same POST
    assert again[:2] == (200, rid) and again[2]["issue"][0]["diagnostics"].startswith("unchanged")
    assert count(db, Observation) == n
    # without an identifier the server assigns one: a second POST is a second result
    assert create(db, clin, lithium(f"Patient/{pid}"))[0] == 201
    assert create(db, clin, lithium(f"Patient/{pid}"))[0] == 201
    assert count(db, Observation) == n + 2


def test_conditional_create_on_identifier(db, person, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    header = f"identifier={APP}|abc"
    status, rid, _ = create(db, clin, lithium(f"Patient/{pid}"), header)
    assert status == 201
    assert db.get(Observation, uuid.UUID(rid)).source_id == "abc"  # the criteria key the record: retries match
    n = count(db, Observation)
    status, same, outcome = create(db, clin, lithium(f"Patient/{pid}", value=0.9), header)
    assert (status, same) == (200, rid) and "nothing was stored" in outcome["issue"][0]["diagnostics"]
    assert count(db, Observation) == n and db.get(Observation, uuid.UUID(rid)).value == 0.6
    # the identifier an export carries names the same record
    assert create(db, clin, lithium(f"Patient/{pid}"), f"identifier=urn:idiograph:source:{APP}|abc")[1] == rid
    # the same value under another system: two matches for a search on any system
    other = lithium(f"Patient/{pid}", identifier=[{"system": "https://other.example/lab", "value": "abc"}])
    assert create(db, clin, other)[0] == 201
    with pytest.raises(PreconditionFailed) as exc:
        create(db, clin, lithium(f"Patient/{pid}"), "identifier=abc")
    assert exc.value.status == 412 and exc.value.problems[0].field == "If-None-Exist"
    # someone who may not open the person is refused before any count of their records is told
    stranger = make_staff("stranger", "clinician", ("South",))
    with pytest.raises(DomainError) as refused:
        create(db, stranger, lithium(f"Patient/{pid}"), "identifier=abc")
    assert refused.value.status == 403 and "2" not in refused.value.detail
    # a response too
    qr_header = "identifier=https://app.example/qr|q-7"
    first = create(db, clin, phq9(f"Patient/{pid}"), qr_header)
    assert first[0] == 201 and create(db, clin, phq9(f"Patient/{pid}"), qr_header)[:2] == (200, first[1])
    with pytest.raises(DomainError) as bad:
        create(db, clin, lithium(f"Patient/{pid}"), "code=14334-7")
    assert bad.value.status == 400 and "identifier" in bad.value.detail


def test_the_subject_must_be_a_patient_held_here(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    cases = [
        (f"Patient/{uuid.uuid4()}", "is not in the bundle or on record"),
        (f"https://elsewhere.example/fhir/Patient/{pid}", "must be a Patient held here"),
        ("https://elsewhere.example/fhir/R4/Patient?identifier=x|y", "must be a Patient held here"),
        (f"Group/{pid}", "must be a Patient held here"),
        ("Patient?identifier=http://hl7.org/fhir/sid/us-ssn|000-00-0000", "is not in the bundle or on record"),
    ]
    for ref, reason in cases:
        with pytest.raises(InvalidInput) as exc:
            create(db, clin, lithium(ref))
        assert exc.value.problems[0].field == "Observation.subject" and reason in exc.value.problems[0].reason, ref
    missing = lithium("x")
    del missing["subject"]
    with pytest.raises(InvalidInput) as exc:
        create(db, clin, missing)
    assert exc.value.problems[0].field == "Observation.subject"
    assert count(db, Observation, Observation.code == "14334-7") == 0
    # a conditional reference to the person's identifier, and an absolute reference on this server, are found
    status, rid, _ = create(db, clin, lithium("Patient?identifier=http://hl7.org/fhir/sid/us-ssn|999-52-6874"))
    assert status == 201 and db.get(Observation, uuid.UUID(rid)).person_id == pid
    status, rid, _ = create(db, clin, lithium(f"{INSTANCE}/Patient/{pid}", value=0.7))
    assert status == 201 and db.get(Observation, uuid.UUID(rid)).person_id == pid
    base = "https://idiograph.example.nhs.uk/fhir/R4"
    status, rid, _ = create_resource(
        db,
        clin.principal,
        "Observation",
        lithium(f"{base}/Patient/{pid}", value=0.8),
        instance_uri=INSTANCE,
        if_none_exist=None,
        team_id=None,
        fhir_base=base,
    )
    assert status == 201 and db.get(Observation, uuid.UUID(rid)).person_id == pid


def test_what_cannot_be_created_is_refused_with_the_field(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    text = lithium(f"Patient/{pid}")
    del text["valueQuantity"]
    text["valueString"] = "in range"
    with pytest.raises(InvalidInput, match="nothing to store: valueString is not stored"):
        create(db, clin, text)
    with pytest.raises(InvalidInput) as exc:
        create(db, clin, lithium(f"Patient/{pid}", effectiveDateTime="2026-02-30T08:30:00Z"))
    assert exc.value.problems[0].field.startswith("Observation.effectiveDateTime")
    assert "not valid FHIR" in exc.value.detail
    with pytest.raises(InvalidInput) as exc:
        create(db, clin, lithium(f"Patient/{pid}", value=40))
    assert "above the possible maximum" in exc.value.problems[0].reason
    with pytest.raises(InvalidInput, match="cannot be created here"):
        create_resource(
            db,
            clin.principal,
            "Patient",
            {"resourceType": "Patient"},
            instance_uri=INSTANCE,
            if_none_exist=None,
            team_id=None,
        )
    with pytest.raises(InvalidInput, match="must be a Observation"):
        create_resource(
            db,
            clin.principal,
            "Observation",
            phq9(f"Patient/{pid}"),
            instance_uri=INSTANCE,
            if_none_exist=None,
            team_id=None,
        )
    in_progress = phq9(f"Patient/{pid}") | {"status": "in-progress"}
    with pytest.raises(InvalidInput, match="only completed responses are scored"):
        create(db, clin, in_progress)
    assert count(db, Observation, Observation.code == "14334-7") == 0


def test_a_response_dated_in_the_future_is_refused(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    n = count(db, QuestionnaireResponseRecord)
    with pytest.raises(InvalidInput) as exc:
        create(db, clin, phq9(f"Patient/{pid}") | {"authored": "2030-01-01T09:00:00Z"})
    assert [(p.field, p.reason) for p in exc.value.problems] == [("QuestionnaireResponse.authored", "is in the future")]
    assert count(db, QuestionnaireResponseRecord) == n


def test_an_unconvertible_unit_is_stored_apart_and_said(db, person) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    status, rid, outcome = create(db, clin, lithium(f"Patient/{pid}", value=0.42, unit="mg/dL"))
    assert status == 201
    issue = outcome["issue"][0]
    assert (issue["severity"], issue["code"]) == ("warning", "not-supported")
    assert issue["expression"] == ["Observation.valueQuantity.code"]
    obs = db.get(Observation, uuid.UUID(rid))
    assert (obs.system, obs.code, obs.unit, obs.value) == (
        "urn:idiograph:unit-qualified:http://loinc.org",
        "14334-7@mg/dL",
        "mg/dL",
        0.42,
    )
    audit = db.scalar(select(AuditRecord).where(AuditRecord.action == "create", AuditRecord.resource_id == rid))
    assert audit.detail["unit-unconverted"] == 1


def test_another_teams_record_cannot_be_written_or_probed(db, person, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = person
    south = make_staff("south", "clinician", ("South",))
    with pytest.raises(Forbidden):
        create(db, south, lithium(f"Patient/{pid}"))
    header = f"identifier={APP}|seen"
    create(db, clin, lithium(f"Patient/{pid}"), header)
    with pytest.raises(Forbidden):  # a match on someone else's record does not hand its id out
        create(db, south, lithium(f"Patient/{pid}"), header)
    commissioner = make_staff("comm", "commissioner")
    with pytest.raises(Forbidden):
        create(db, commissioner, lithium(f"Patient/{pid}"))
