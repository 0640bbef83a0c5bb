"""DIALOG as FHIR: its Questionnaire and a QuestionnaireResponse validate as R4B; the Questionnaire describes means
(never a total), and a response carries its 1-7 answers with no total."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from fhir.resources.R4B import get_fhir_model_class

from idiograph.fhir import mapping_out
from idiograph.instruments.definitions import instruments

DIALOG = instruments()["dialog"]


def test_the_questionnaire_validates_and_describes_means() -> None:
    q = mapping_out.questionnaire(DIALOG)
    get_fhir_model_class("Questionnaire").model_validate(q)
    assert "Scored as means, not totals" in q["description"] and "Total " not in q["description"]
    assert "urn:idiograph:code|dialog-sqol) = mean of items 1, 2, 3, 4, 5, 6, 7, 8 (range 1-7)" in q["description"]
    assert "dialog-treatment) = mean of items 9, 10, 11 (range 1-7)" in q["description"]
    assert "higher is better" in q["description"]
    options = q["item"][1]["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [o["extension"][0]["valueDecimal"] for o in options] == [1, 2, 3, 4, 5, 6, 7]
    # a summed instrument's description is as before
    phq9 = mapping_out.questionnaire(instruments()["phq-9"])["description"]
    assert "problems? Total 0-27 (http://loinc.org|44261-6); with up to 2 item(s) missing the total is prorated" in phq9
    assert "Bands: 0-4 minimal; 5-9 mild" in phq9


def test_a_response_validates_with_its_answers() -> None:
    rec = SimpleNamespace(
        id=uuid.uuid4(),
        source="test",
        source_id="r1",
        status="completed",
        person_id=uuid.uuid4(),
        authored_at=datetime(2026, 11, 1, 10, tzinfo=UTC),
        adaptive=False,
        total=None,
    )
    values = {i.code: 5.0 for i in DIALOG.items}
    qr = mapping_out.questionnaire_response(rec, DIALOG, values)
    get_fhir_model_class("QuestionnaireResponse").model_validate(qr)
    assert len(qr["item"]) == 11 and qr["item"][0]["answer"][0]["valueCoding"]["code"] == "5"
    assert "modifierExtension" not in qr and "extension" not in qr


def test_a_dialog_response_imported_through_fhir_stores_its_means_and_no_total(  # type: ignore[no-untyped-def]
    client, db, make_staff, synthea_bundle
) -> None:
    from sqlalchemy import select

    from idiograph.measures.model import QuestionnaireResponseRecord
    from idiograph.observations.model import Observation

    patient = synthea_bundle["entry"][0]
    answers = [2, 3, 4, 5, 6, 7, 1, 2, 6, 6, None]  # life domains: 30 / 8 = 3.75; item 11 unanswered
    qr = {
        "fullUrl": "urn:uuid:0f0e0d0c-0b0a-4999-8888-0000000000d1",
        "resource": {
            "resourceType": "QuestionnaireResponse",
            "id": "0f0e0d0c-0b0a-4999-8888-0000000000d1",
            "questionnaire": DIALOG.url,
            "status": "completed",
            "subject": {"reference": patient["fullUrl"]},
            "authored": "2026-05-10T09:20:00Z",
            "item": [
                {"linkId": i.code, "answer": [{"valueCoding": {"system": DIALOG.answer_system, "code": str(v)}}]}
                for i, v in zip(DIALOG.items, answers, strict=True)
                if v is not None
            ],
        },
        "request": {"method": "POST", "url": "QuestionnaireResponse"},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [patient, qr]}
    clin = make_staff("clin", "clinician", ("North",))
    r = client.post("/fhir/R4", json=bundle, headers={**clin.auth, "Content-Type": "application/fhir+json"})
    assert r.status_code == 200, r.text
    rec = db.scalar(select(QuestionnaireResponseRecord).where(QuestionnaireResponseRecord.instrument == "dialog"))
    assert rec is not None and rec.total is None
    means = {o.code: o.value for o in db.scalars(select(Observation).where(Observation.group_id == rec.id))}
    assert means["dialog-sqol"] == 3.75 and "dialog-treatment" not in means
