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
