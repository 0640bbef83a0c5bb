"""FHIR import of bundles in the shapes of real failures (issue 15): US units that cannot be converted, conditional
and logical Patient references, resource types idiograph does not hold. Per-entry outcomes and their counts are
checked, and every response validates as FHIR R4B. Data: tests/fhir/data/README.md."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.baselines.service import MODELLED
from idiograph.fhir.importer import summary_of
from idiograph.observations.model import Observation, ObservationCode
from idiograph.patients.model import Condition, Encounter, Person
from idiograph.security.model import AuditRecord

DATA = Path(__file__).parent / "data"
FHIR = {"Content-Type": "application/fhir+json"}
LOINC = "http://loinc.org"
QUALIFIED_LOINC = "urn:idiograph:unit-qualified:http://loinc.org"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
SYNTHEA = "https://github.com/synthetichealth/synthea"
PATIENT_ID = "5c1b2f3e-8a4d-4c6b-9e7f-1a2b3c4d5e6f"

# entry index -> outcome a client reads from the response (the fixture's comments say why)
EXPECTED = (
    ["stored"] * 8  # Patient, Encounter, Condition, eGFR x2, lithium, creatinine, weight
    + ["skipped"] * 4  # coded value, text value, panel without a value, unscored questionnaire
    + ["skipped"] * 10  # DiagnosticReport ... Provenance
)
NOT_HELD = [
    "DiagnosticReport",
    "Immunization",
    "Procedure",
    "MedicationRequest",
    "CarePlan",
    "CareTeam",
    "Claim",
    "ExplanationOfBenefit",
    "AllergyIntolerance",
    "Provenance",
]


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / name).read_text()))


def post(client, staff, bundle: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post("/fhir/R4", json=bundle, headers={**staff.auth, **FHIR})


def valid(response: dict[str, Any]) -> dict[str, Any]:
    """The response as strict R4B validates it (raises otherwise)."""
    get_fhir_model_class(response["resourceType"]).model_validate(response)
    return response


def outcome(entry: dict[str, Any]) -> str:
    """What a client reads from one response entry."""
    r = entry["response"]
    said = [i.get("diagnostics", "") for i in (r.get("outcome") or {}).get("issue", [])]
    if not r["status"].startswith("2"):
        return "rejected"
    if any(d.startswith("skipped:") for d in said):
        return "skipped"
    if any(d.startswith("unchanged:") for d in said):
        return "unchanged"
    return "stored"


def count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def rows(db: Session, system: str, code: str) -> set[tuple[str, float]]:
    db.expire_all()
    q = select(Observation.unit, Observation.value).where(Observation.system == system, Observation.code == code)
    return {(u, round(v, 3)) for u, v in db.execute(q)}


def test_a_real_shaped_bundle_imports_whole_with_each_outcome_said(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = load("synthea_style_units_and_refs.json")
    r = post(client, clin, bundle)
    assert r.status_code == 200, r.text
    out = valid(r.json())
    assert out["type"] == "transaction-response" and len(out["entry"]) == len(bundle["entry"])
    assert [outcome(e) for e in out["entry"]] == EXPECTED
    assert summary_of(out) == {"stored": 8, "unchanged": 0, "skipped": 14, "rejected": 0, "unit-unconverted": 2}
    statuses = {e["response"]["status"] for e in out["entry"]}
    assert statuses == {"201 Created", "200 OK"}  # no 422 for a skip
    # skips say why, with the information severity and a code that fits
    skips = [e["response"]["outcome"]["issue"][0] for e in out["entry"][8:]]
    assert all(i["severity"] == "information" for i in skips)
    assert [i["code"] for i in skips] == ["informational"] * 4 + ["not-supported"] * 10
    assert [i["diagnostics"] for i in skips[4:]] == [
        f"skipped: {t} resources are not stored by idiograph" for t in NOT_HELD
    ]
    assert skips[0]["diagnostics"].startswith("skipped: valueCodeableConcept is not stored")
    assert skips[1]["diagnostics"].startswith("skipped: valueString is not stored")
    assert skips[2]["diagnostics"].startswith("skipped: a panel (hasMember)")
    assert "is not an instrument idiograph scores" in skips[3]["diagnostics"]

    # the unconvertible values are stored as sent, each under its own unit-qualified code, and reported
    for index, unit in ((4, "mL/min"), (5, "mg/dL")):
        issue = out["entry"][index]["response"]["outcome"]["issue"][0]
        assert (issue["severity"], issue["code"]) == ("warning", "not-supported")
        assert issue["diagnostics"].startswith(f"unit-unconverted: {unit!r} cannot be converted")
        assert issue["expression"] == [f"Bundle.entry[{index}].resource.valueQuantity.code"]
    assert rows(db, LOINC, "33914-3") == {("mL/min/{1.73_m2}", 78.2)}  # the learnt unit's series holds only it
    assert rows(db, QUALIFIED_LOINC, "33914-3@mL/min") == {("mL/min", 91.0)}
    assert rows(db, LOINC, "14334-7") == set()  # the catalogue's lithium (mmol/L) did not get a mg/dL value
    assert rows(db, QUALIFIED_LOINC, "14334-7@mg/dL") == {("mg/dL", 0.52)}
    kept_apart = db.get(ObservationCode, (QUALIFIED_LOINC, "14334-7@mg/dL"))
    assert (kept_apart.unit, kept_apart.kind) == ("mg/dL", "imported") and kept_apart.kind not in MODELLED
    assert "not convertible to mmol/L" in kept_apart.display
    # a conditional reference found the Patient; pounds were converted exactly
    person = db.scalar(select(Person))
    assert rows(db, LOINC, "29463-7") == {("kg", round(176.4 * 0.45359237, 3))}
    assert db.scalar(select(Observation.person_id).where(Observation.code == "29463-7")) == person.id
    assert (count(db, Observation), count(db, Encounter), count(db, Condition)) == (5, 1, 1)
    # each stored entry's location is the record
    for e in out["entry"][3:8]:
        kind, _, rid = e["response"]["location"].partition("/")
        assert kind == "Observation" and db.get(Observation, uuid.UUID(rid)) is not None
    audit = db.scalar(
        select(AuditRecord).where(
            AuditRecord.action == "import", AuditRecord.resource_type == "Bundle", AuditRecord.person_id.is_(None)
        )
    )
    assert {k: audit.detail[k] for k in summary_of(out)} == summary_of(out)


def test_a_re_import_is_unchanged_entry_by_entry(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    first = post(client, clin, load("synthea_style_units_and_refs.json")).json()
    n = count(db, Observation)
    again = post(client, clin, load("synthea_style_units_and_refs.json"))
    assert again.status_code == 200
    out = valid(again.json())
    assert [outcome(e) for e in out["entry"]] == [x.replace("stored", "unchanged") for x in EXPECTED]
    assert summary_of(out) == {"stored": 0, "unchanged": 8, "skipped": 14, "rejected": 0, "unit-unconverted": 2}
    assert all(e["response"]["status"] == "200 OK" for e in out["entry"])
    assert [e["response"].get("location") for e in out["entry"]] == [
        e["response"].get("location") for e in first["entry"]
    ]
    assert count(db, Observation) == n and count(db, Person) == 1


def test_a_changed_value_is_stored_again_not_unchanged(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    post(client, clin, load("synthea_style_units_and_refs.json"))
    bundle = load("synthea_style_units_and_refs.json")
    bundle["entry"][6]["resource"]["valueQuantity"]["value"] = 1.3  # creatinine corrected
    out = valid(post(client, clin, bundle).json())
    assert outcome(out["entry"][6]) == "stored" and out["entry"][6]["response"]["status"] == "200 OK"
    assert summary_of(out)["stored"] == 1 and summary_of(out)["unchanged"] == 7
    assert rows(db, LOINC, "2160-0") == {("mg/dL", 1.3)}


def test_a_batch_keeps_what_is_right_and_rejects_what_is_wrong(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = load("synthea_style_units_and_refs.json")
    bundle["type"] = "batch"
    bundle["entry"][7]["resource"]["valueQuantity"]["value"] = -5  # weight below any possible
    bundle["entry"][6]["resource"]["subject"]["reference"] = "Patient?identifier=urn:nobody|x"
    r = post(client, clin, bundle)
    assert r.status_code == 200, r.text
    out = valid(r.json())
    assert out["type"] == "batch-response"
    got = [outcome(e) for e in out["entry"]]
    assert got == [*EXPECTED[:6], "rejected", "rejected", *EXPECTED[8:]]
    assert summary_of(out) == {"stored": 6, "unchanged": 0, "skipped": 14, "rejected": 2, "unit-unconverted": 2}
    bad = out["entry"][6]["response"]
    assert bad["status"] == "400 Bad Request"
    assert bad["outcome"]["issue"][0]["expression"] == ["Bundle.entry[6].resource.subject"]
    assert "is not in the bundle or on record" in bad["outcome"]["issue"][0]["diagnostics"]
    assert "below the possible minimum" in out["entry"][7]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert rows(db, LOINC, "29463-7") == set() and rows(db, LOINC, "2160-0") == set()
    assert count(db, Observation) == 3


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("Patient?identifier=urn:nobody|x", "is not in the bundle or on record"),
        ("Patient?name=Dewey930", "only a conditional reference on one identifier"),
        ("Group/5", "is not in the bundle or on record"),
    ],
)
def test_a_transaction_with_a_broken_reference_is_refused_whole(client, db, make_staff, reference, reason) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = load("synthea_style_units_and_refs.json")
    bundle["entry"][6]["resource"]["subject"]["reference"] = reference
    r = post(client, clin, bundle)
    assert r.status_code == 422, r.text
    issues = r.json()["issue"]
    assert any(
        reason in i["diagnostics"] and i.get("expression") == ["Bundle.entry[6].resource.subject"] for i in issues
    )
    assert "nothing was stored" in r.text
    assert count(db, Person) == 0 and count(db, Observation) == 0


def test_a_conditional_reference_matching_two_people_is_refused(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    other = {
        "resourceType": "Patient",
        "id": "other",
        "identifier": [{"system": "http://other.example/mrn", "value": PATIENT_ID}],
        "name": [{"family": "Other", "given": ["Someone"]}],
    }
    assert (
        post(
            client, clin, {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": other}]}
        ).status_code
        == 200
    )
    bundle = load("synthea_style_units_and_refs.json")
    bundle["entry"][7]["resource"]["subject"]["reference"] = f"Patient?identifier={PATIENT_ID}"  # any system
    r = post(client, clin, bundle)
    assert r.status_code == 422 and "matches more than one person" in r.text, r.text
    assert count(db, Person) == 1
    # with its system the same reference is one person: stored
    bundle["entry"][7]["resource"]["subject"]["reference"] = f"Patient?identifier={SYNTHEA}|{PATIENT_ID}"
    assert post(client, clin, bundle).status_code == 200 and count(db, Person) == 2


def test_uk_core_logical_and_encoded_conditional_references(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    r = post(client, clin, load("uk_core_style.json"))
    assert r.status_code == 200, r.text
    out = valid(r.json())
    assert [outcome(e) for e in out["entry"]] == ["stored", "stored"]
    person = db.scalar(select(Person))
    assert (person.nhs_number, person.ethnicity) == ("9434765919", "A")
    assert rows(db, LOINC, "14334-7") == {("mmol/L", 0.61)}
    later = load("uk_core_style.json")
    obs = later["entry"][1]["resource"]
    obs |= {"id": "UKCore-Observation-Lithium-2", "effectiveDateTime": "2025-02-03T09:30:00+00:00"}
    obs["valueQuantity"]["value"] = 0.74
    obs["subject"] = {"reference": "Patient?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9434765919"}
    r = post(client, clin, {"resourceType": "Bundle", "type": "transaction", "entry": [later["entry"][1]]})
    assert r.status_code == 200, r.text
    assert rows(db, LOINC, "14334-7") == {("mmol/L", 0.61), ("mmol/L", 0.74)}
    assert set(db.scalars(select(Observation.person_id))) == {person.id}
    # a logical reference to an NHS number held by no one is a broken reference
    obs["subject"] = {"identifier": {"system": NHS, "value": "9000000009"}}
    r = post(client, clin, {"resourceType": "Bundle", "type": "transaction", "entry": [later["entry"][1]]})
    assert r.status_code == 422 and "is not in the bundle or on record" in r.text


def test_the_record_with_values_kept_apart_exports_valid_and_re_imports_unchanged(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.fhir.importer import import_bundle
    from idiograph.fhir.service import export_person

    clin = make_staff("clin", "clinician", ("North",))
    assert post(client, clin, load("synthea_style_units_and_refs.json")).status_code == 200
    pid = db.scalar(select(Person.id))
    exported = valid(export_person(db, clin.principal, pid, "urn:idiograph:test"))
    kept_apart = [
        e["resource"]
        for e in exported["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["system"] == QUALIFIED_LOINC
    ]
    assert sorted(o["valueQuantity"]["code"] for o in kept_apart) == ["mL/min", "mg/dL"]
    # a receiving system still recognises the test: the code it was sent under rides beside the local one
    assert sorted(o["code"]["coding"][1]["code"] for o in kept_apart) == ["14334-7", "33914-3"]
    assert all(o["code"]["coding"][1]["system"] == LOINC and "not converted" in o["code"]["text"] for o in kept_apart)
    n = count(db, Observation)
    out = valid(import_bundle(db, clin.principal, exported, "urn:idiograph:test"))
    assert summary_of(out)["stored"] == 0 and summary_of(out)["rejected"] == 0
    assert count(db, Observation) == n
