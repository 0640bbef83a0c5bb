"""The intake record through FHIR: exported as a QuestionnaireResponse (the definition's canonical and version),
social-history Observations (only what the person agreed to) and Goals with their ratings, and imported back to
the same record; a response recording psychosocial context without agreement is refused (H-092)."""

from __future__ import annotations

import copy

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import delete, select

from idiograph.intake.definition import definition
from idiograph.intake.model import IntakeRecord
from idiograph.security.principal import Principal
from idiograph.security.service import set_profession
from tests.intake.test_record import EPISODE, GOALS, PERSON, PRESENTING, SOCIAL

FHIR = {"Content-Type": "application/fhir+json"}
HISTORY = {"previous_treatment": "cbt", "previous_response": "partial", "current_medication": "sertraline 50 mg"}


def _intake(client, db, make_staff):  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    set_profession(db, Principal.system(), "clin", "social_worker", definition().professions)
    db.commit()
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    client.post(f"/api/v1/people/{pid}/episodes", json=EPISODE, headers=clin.auth)
    for section, answers in (
        ("presenting", PRESENTING),
        ("history", HISTORY),
        ("psychosocial", SOCIAL),
        ("goals", GOALS),
    ):
        r = client.put(f"/api/v1/people/{pid}/intake/{section}", json={"answers": answers}, headers=clin.auth)
        assert r.status_code == 200, r.text
    rating = {"ratings": [{"goal": 2, "rating": 7}]}
    assert client.post(f"/api/v1/people/{pid}/intake/goals/ratings", json=rating, headers=clin.auth).status_code == 200
    return clin, pid


def _state(db):  # type: ignore[no-untyped-def]
    db.expire_all()
    return sorted(
        (str(r.episode_id), r.answers, r.contributions, r.psychosocial_consent, r.goals, r.definition_version)
        for r in db.scalars(select(IntakeRecord))
    )


def _is_intake(res) -> bool:  # type: ignore[no-untyped-def]
    return res["resourceType"] == "QuestionnaireResponse" and "Questionnaire/intake" in res["questionnaire"]


def test_the_intake_goes_out_as_fhir_and_comes_back_the_same(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = _intake(client, db, make_staff)
    before = _state(db)
    bundle = client.get(f"/api/v1/people/{pid}/fhir-bundle", headers=clin.auth).json()
    Bundle.model_validate(bundle)
    by_type: dict[str, list] = {}  # type: ignore[type-arg]
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    qr = next(r for r in by_type["QuestionnaireResponse"] if _is_intake(r))
    assert qr["questionnaire"] == f"https://idiograph.org/fhir/Questionnaire/intake|{definition().version}"
    presenting = next(g for g in qr["item"] if g["linkId"] == "presenting")
    assert presenting["extension"][0]["extension"][-1]["valueCoding"]["code"] == "social_worker"
    social = [o for o in by_type["Observation"] if o["category"][0]["coding"][0]["code"] == "social-history"]
    assert sorted(o["code"]["coding"][0]["code"] for o in social) == ["housing", "money_worries"]
    goals = sorted(by_type["Goal"], key=lambda g: g["description"]["text"])
    assert [g["achievementStatus"]["coding"][0]["code"] for g in goals] == ["in-progress", "improving"]
    assert [len(g["extension"]) for g in goals] == [1, 2]
    # re-imported as is: nothing changes
    again = client.post("/fhir/R4", json=bundle, headers={**clin.auth, **FHIR})
    assert again.status_code == 200, again.text
    assert _state(db) == before
    # imported with no intake held: the same record comes back from the response
    db.execute(delete(IntakeRecord))
    db.commit()
    back = client.post("/fhir/R4", json=bundle, headers={**clin.auth, **FHIR})
    assert back.status_code == 200, back.text
    assert "201 Created" in [e["response"]["status"] for e in back.json()["entry"]]
    assert _state(db) == before


def test_an_imported_intake_without_agreement_is_refused_whole(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """H-092 on the import path: psychosocial answers with the agreement answer false."""
    clin, pid = _intake(client, db, make_staff)
    bundle = client.get(f"/api/v1/people/{pid}/fhir-bundle", headers=clin.auth).json()
    db.execute(delete(IntakeRecord))
    db.commit()
    bad = copy.deepcopy(bundle)
    for e in bad["entry"]:
        if _is_intake(e["resource"]):
            group = next(g for g in e["resource"]["item"] if g["linkId"] == "psychosocial")
            group["item"][0]["answer"] = [{"valueBoolean": False}]
    r = client.post("/fhir/R4", json=bad, headers={**clin.auth, **FHIR})
    assert r.status_code == 422, r.text
    assert "has not agreed" in r.text
    assert db.scalar(select(IntakeRecord.id)) is None


def test_everything_search_and_read_include_the_intake_response(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin, pid = _intake(client, db, make_staff)
    everything = client.get(f"/fhir/R4/Patient/{pid}/$everything", headers=clin.auth).json()
    intakes = [e["resource"] for e in everything["entry"] if _is_intake(e["resource"])]
    assert len(intakes) == 1
    url = "https://idiograph.org/fhir/Questionnaire/intake"
    found = client.get("/fhir/R4/QuestionnaireResponse", params={"questionnaire": url}, headers=clin.auth).json()
    assert [e["resource"]["id"] for e in found["entry"] if e["search"]["mode"] == "match"] == [intakes[0]["id"]]
    read = client.get(f"/fhir/R4/QuestionnaireResponse/{intakes[0]['id']}", headers=clin.auth)
    assert read.status_code == 200 and read.json()["questionnaire"].startswith(url)
    other = make_staff("south", "clinician", ("South",))
    assert client.get(f"/fhir/R4/QuestionnaireResponse/{intakes[0]['id']}", headers=other.auth).status_code in (
        403,
        404,
    )
