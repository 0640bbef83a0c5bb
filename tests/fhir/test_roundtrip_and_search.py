"""FHIR round trip (import, export, re-import leaves data unchanged), search, read and metadata."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.patients.model import Condition, Encounter, Episode, Person, PersonIdentifier

FHIR = {"Content-Type": "application/fhir+json"}


def snapshot(db: Session) -> dict[str, Any]:
    db.expire_all()
    return {
        "people": sorted(
            (
                p.id,
                p.given_name,
                p.family_name,
                p.birth_date,
                p.sex,
                p.gender_identity,
                p.ethnicity,
                p.deprivation_decile,
                p.preferred_language,
                p.nhs_number,
            )
            for p in db.scalars(select(Person))
        ),
        "identifiers": sorted((i.person_id, i.system, i.value) for i in db.scalars(select(PersonIdentifier))),
        "observations": sorted(
            (o.id, o.person_id, o.system, o.code, o.value, o.unit, o.effective_at, o.source, o.source_id, o.group_id)
            for o in db.scalars(select(Observation))
        ),
        "conditions": sorted((c.id, c.code, c.clinical_status, c.onset) for c in db.scalars(select(Condition))),
        "encounters": sorted((e.id, e.status, e.type_code, e.start, e.end) for e in db.scalars(select(Encounter))),
        "episodes": sorted(
            (
                e.id,
                e.referral_date,
                e.referral_source,
                e.presenting_problem,
                e.pathway,
                e.discharge_date,
                e.discharge_reason,
            )
            for e in db.scalars(select(Episode))
        ),
        "responses": sorted(
            (r.id, r.instrument, r.total, r.authored_at) for r in db.scalars(select(QuestionnaireResponseRecord))
        ),
    }


def test_round_trip_leaves_data_unchanged(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    r = client.post("/fhir/R4", json=synthea_bundle, headers={**clin.auth, **FHIR})
    pid = r.json()["entry"][0]["response"]["location"].split("/")[1]
    client.patch(
        f"/api/v1/people/{pid}",
        json={"ethnicity": "C", "deprivation_decile": 4, "gender_identity": "woman"},
        headers=clin.auth,
    )
    client.post(
        f"/api/v1/people/{pid}/episodes",
        headers=clin.auth,
        json={
            "referral_date": "2023-04-01",
            "referral_source": "gp",
            "presenting_problem": "depression",
            "pathway": "CBT",
            "discharge_date": "2023-08-01",
            "discharge_reason": "completed",
        },
    )
    before = snapshot(db)
    exported = client.get(f"/api/v1/people/{pid}/fhir-bundle", headers=clin.auth)
    assert exported.status_code == 200
    bundle = exported.json()
    Bundle.model_validate(bundle)  # a valid FHIR Bundle
    types = sorted({e["resource"]["resourceType"] for e in bundle["entry"]})
    assert types == ["Condition", "Encounter", "EpisodeOfCare", "Observation", "Patient", "QuestionnaireResponse"]
    again = client.post("/fhir/R4", json=bundle, headers={**clin.auth, **FHIR})
    assert again.status_code == 200, again.text
    assert all(e["response"]["status"] == "200 OK" for e in again.json()["entry"])
    assert snapshot(db) == before


def test_search_and_read(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    other = make_staff("other", "clinician", ("South",))
    r = client.post("/fhir/R4", json=synthea_bundle, headers={**clin.auth, **FHIR})
    pid = r.json()["entry"][0]["response"]["location"].split("/")[1]
    found = client.get(
        "/fhir/R4/Patient", params={"identifier": "http://hl7.org/fhir/sid/us-ssn|999-52-6874"}, headers=clin.auth
    ).json()
    assert found["type"] == "searchset" and found["total"] == 1 and found["entry"][0]["resource"]["id"] == pid
    hidden = client.get(
        "/fhir/R4/Patient", params={"identifier": "http://hl7.org/fhir/sid/us-ssn|999-52-6874"}, headers=other.auth
    ).json()
    assert hidden["total"] == 0
    obs = client.get(
        "/fhir/R4/Observation",
        params={"patient": f"Patient/{pid}", "code": "http://loinc.org|44261-6"},
        headers=clin.auth,
    ).json()
    Bundle.model_validate(obs)
    values = sorted(e["resource"]["valueQuantity"]["value"] for e in obs["entry"])
    assert values == [10.0, 12.0]  # reported total, and 1+2+1+3+0+1+2+0+0 scored from the QuestionnaireResponse
    assert client.get("/fhir/R4/Observation", params={"patient": pid}, headers=other.auth).status_code == 403
    read = client.get(f"/fhir/R4/Patient/{pid}", headers=clin.auth).json()
    assert read["name"][0]["family"] == "Kertzmann286"
    missing = client.get("/fhir/R4/Patient/not-a-uuid", headers=clin.auth)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"


def test_metadata_is_public_capability_statement(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/fhir/R4/metadata")
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    CapabilityStatement.model_validate(r.json())
    assert {x["type"] for x in r.json()["rest"][0]["resource"]} >= {"Patient", "Observation"}
