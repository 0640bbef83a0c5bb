"""FHIR import: Synthea-shaped US Core bundles, all-or-nothing transactions, per-entry batches, idempotency."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation, ObservationCode
from idiograph.patients.model import Condition, Encounter, Person, PersonIdentifier
from idiograph.security.model import AuditRecord

FHIR = {"Content-Type": "application/fhir+json"}


def count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def post(client, staff, bundle: dict[str, Any], **params: str):  # type: ignore[no-untyped-def]
    return client.post("/fhir/R4", json=bundle, params=params, headers={**staff.auth, **FHIR})


def test_synthea_style_transaction_imports(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    r = post(client, clin, synthea_bundle)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    out = r.json()
    assert out["type"] == "transaction-response" and len(out["entry"]) == len(synthea_bundle["entry"])
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses[:3] == ["201 Created", "201 Created", "201 Created"]
    assert set(statuses) == {"201 Created", "200 OK"}  # a skip is not a failure
    skipped = [
        e["response"]["outcome"]["issue"][0]["diagnostics"] for e in out["entry"] if "location" not in e["response"]
    ]
    assert sorted(skipped) == sorted(
        [
            "skipped: valueCodeableConcept is not stored: only numeric results (valueQuantity, valueInteger) are",
            "skipped: Claim resources are not stored by idiograph",
            "skipped: ExplanationOfBenefit resources are not stored by idiograph",
            "skipped: Immunization resources are not stored by idiograph",
            "skipped: Provenance resources are not stored by idiograph",
        ]
    )
    person = db.scalar(select(Person))
    assert (person.given_name, person.family_name, str(person.birth_date), person.sex) == (
        "Lorita217 Ila",
        "Kertzmann286",
        "1988-07-14",
        "female",
    )
    assert person.preferred_language == "en-US"
    systems = {i.system for i in db.scalars(select(PersonIdentifier))}
    assert {"http://hl7.org/fhir/sid/us-ssn", "urn:idiograph:fhir-source:fhir"} <= systems
    obs = {(o.code, o.value, o.unit) for o in db.scalars(select(Observation).where(Observation.group_id.is_(None)))}
    assert obs == {
        ("55758-7", 3.0, "{score}"),
        ("44261-6", 12.0, "{score}"),
        ("29463-7", 71.4, "kg"),
        ("8462-4", 82.0, "mm[Hg]"),
        ("8480-6", 128.0, "mm[Hg]"),
        ("718-7", 139.0, "g/L"),
        ("2093-3", 187.4, "mg/dL"),
    }
    assert db.get(ObservationCode, ("http://loinc.org", "2093-3")).unit == "mg/dL"  # learnt, not guessed
    qr = db.scalar(select(QuestionnaireResponseRecord))
    assert (qr.instrument, qr.total, qr.prorated) == ("phq-9", 1 + 2 + 1 + 3 + 0 + 1 + 2 + 0 + 0, False)
    assert count(db, Observation) == 7 + 9 + 1
    assert (count(db, Condition), count(db, Encounter)) == (1, 1)
    when = db.scalar(select(Observation.effective_at).where(Observation.code == "29463-7"))
    assert when.isoformat() == "2023-05-10T13:30:00+00:00"
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.person_id == person.id, AuditRecord.action == "import")
        )
        >= 1
    )


def test_re_import_is_idempotent(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    post(client, clin, synthea_bundle)
    before = [count(db, m) for m in (Person, Observation, Condition, Encounter, QuestionnaireResponseRecord)]
    again = post(client, clin, synthea_bundle)
    assert again.status_code == 200 and again.json()["entry"][0]["response"]["status"] == "200 OK"
    stored = [e["response"] for e in again.json()["entry"] if "location" in e["response"]]
    assert len(stored) == 10 and all(r["outcome"]["issue"][0]["diagnostics"].startswith("unchanged") for r in stored), (
        stored
    )
    assert [count(db, m) for m in (Person, Observation, Condition, Encounter, QuestionnaireResponseRecord)] == before


def test_a_bad_entry_rejects_the_whole_transaction(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    cases = [
        (4, ("valueQuantity", "value"), 40, "above the possible maximum 27"),
        (4, ("effectiveDateTime",), "2023-02-30T10:00:00Z", "effectiveDateTime"),
        (4, ("valueQuantity", "code"), "kg", "a questionnaire score cannot be in 'kg'"),
        (4, ("subject", "reference"), "urn:uuid:0f0e0d0c-0b0a-4999-8888-00000000ffff", "is not in the bundle"),
    ]
    for index, path, value, expected in cases:
        bundle = copy.deepcopy(synthea_bundle)
        target = bundle["entry"][index]["resource"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        r = post(client, clin, bundle)
        assert r.status_code == 422, (path, r.text)
        oo = r.json()
        assert oo["resourceType"] == "OperationOutcome"
        assert any(expected in (i.get("diagnostics", "") + " ".join(i.get("expression", []))) for i in oo["issue"]), oo
        assert count(db, Person) == 0 and count(db, Observation) == 0


def test_a_refused_transaction_names_every_bad_entry(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = copy.deepcopy(synthea_bundle)
    obs = [i for i, e in enumerate(bundle["entry"]) if "valueQuantity" in e["resource"]]
    first, second = 4, obs[-1]  # valid FHIR both, wrong here: a PHQ-9 of 40, a subject nowhere
    assert second != first
    bundle["entry"][first]["resource"]["valueQuantity"]["value"] = 40
    bundle["entry"][second]["resource"]["subject"]["reference"] = "urn:uuid:0f0e0d0c-0b0a-4999-8888-00000000ffff"
    r = post(client, clin, bundle)
    assert r.status_code == 422, r.text
    named = " ".join(" ".join(i.get("expression", [])) + i.get("diagnostics", "") for i in r.json()["issue"])
    assert f"Bundle.entry[{first}]" in named and f"Bundle.entry[{second}]" in named, named
    assert count(db, Person) == 0 and count(db, Observation) == 0


def test_batch_keeps_good_entries_and_reports_bad_ones(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    synthea_bundle["type"] = "batch"
    synthea_bundle["entry"][4]["resource"]["valueQuantity"]["value"] = 40  # PHQ-9 total out of range
    r = post(client, clin, synthea_bundle)
    assert r.status_code == 200 and r.json()["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses[4] == "400 Bad Request" and statuses[0] == "201 Created"
    assert "44261-6" not in {o.code for o in db.scalars(select(Observation).where(Observation.group_id.is_(None)))}
    assert count(db, Observation) == 6 + 9 + 1


def test_malformed_and_wrong_bodies(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    r = client.post("/fhir/R4", content=b"{not json", headers={**clin.auth, **FHIR})
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
    r = post(client, clin, {"resourceType": "Patient"})
    assert r.status_code == 422 and "Bundle" in r.text
    r = post(client, clin, {"resourceType": "Bundle", "type": "collection", "entry": []})
    assert r.status_code == 422 and "Bundle.type" in r.text
    bad_type = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1", "birthDate": "1990-13-45"}}
        ],
    }
    r = post(client, clin, bad_type)
    assert r.status_code == 422 and "birthDate" in r.text
    assert count(db, Person) == 0


def test_uk_core_patient_with_nhs_number_and_ethnicity(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    patient = {
        "resourceType": "Patient",
        "id": "uk-1",
        "extension": [
            {
                "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland", "code": "N"}
                    ]
                },
            }
        ],
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"family": "Okoye", "given": ["Chidi"]}],
        "gender": "male",
        "birthDate": "1979-03-02",
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient}]}
    r = post(client, clin, bundle, source="https://ehr.example.nhs.uk")
    assert r.status_code == 200, r.text
    p = db.scalar(select(Person))
    assert (p.nhs_number, p.ethnicity) == ("9434765919", "N")
    patient["identifier"][0]["value"] = "9434765918"
    r = post(client, clin, {**bundle, "entry": [{"resource": {**patient, "id": "uk-2"}}]})
    assert r.status_code == 422 and "check digit" in r.text


def test_staff_cannot_write_into_another_teams_record_by_import(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    north = make_staff("north", "clinician", ("North",))
    south = make_staff("south", "clinician", ("South",))
    assert post(client, north, synthea_bundle).status_code == 200
    n = count(db, Observation)
    synthea_bundle["entry"][4]["resource"]["id"] = "another-observation"
    r = post(client, south, synthea_bundle)
    assert r.status_code == 403 and count(db, Observation) == n


def _episode_bundle(end: str | None, pathway: str = "cbt") -> dict[str, Any]:
    period = {"start": "2026-01-05"} | ({"end": end} if end else {})
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {"source": "urn:other-trust"},
        "entry": [
            {
                "fullUrl": "urn:uuid:0c8a5d52-6b0e-4a54-8a34-5f0cf2d1e001",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "name": [{"given": ["Ada"], "family": "Lovelace"}],
                    "birthDate": "1990-01-01",
                    "gender": "female",
                },
                "request": {"method": "PUT", "url": "Patient/p1"},
            },
            {
                "resource": {
                    "resourceType": "EpisodeOfCare",
                    "id": "e1",
                    "status": "finished" if end else "active",
                    "patient": {"reference": "urn:uuid:0c8a5d52-6b0e-4a54-8a34-5f0cf2d1e001"},
                    "period": period,
                    "type": [{"coding": [{"system": "urn:idiograph:pathway", "code": pathway}]}],
                },
                "request": {"method": "PUT", "url": "EpisodeOfCare/e1"},
            },
        ],
    }


def test_a_reimport_cannot_discharge_or_change_the_intervention(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Hazard H-032: an EpisodeOfCare re-imported with period.end once closed the episode with no decision."""
    from idiograph.patients.model import Episode

    clin = make_staff("clin", "clinician", ("North",))
    assert post(client, clin, _episode_bundle(None)).status_code == 200
    for bundle, field in ((_episode_bundle("2026-03-01"), "period.end"), (_episode_bundle(None, "dbt"), "type")):
        r = post(client, clin, bundle)
        assert r.status_code == 422, r.text
        issues = r.json()["issue"]
        assert any(i.get("expression", [""])[0].endswith(field) and "decision" in i["diagnostics"] for i in issues)
    db.expire_all()
    ep = db.scalar(select(Episode))
    assert (ep.discharge_date, ep.pathway) == (None, "cbt")
