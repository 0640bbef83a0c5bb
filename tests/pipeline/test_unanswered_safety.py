"""A safety item left unanswered is said wherever the response appears and prompts the team to ask it."""

from __future__ import annotations

import copy

from sqlalchemy import select

from idiograph.alerts.model import Alert
from idiograph.instruments.definitions import instruments
from idiograph.measures.model import QuestionnaireResponseRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female"}
PHQ9 = [i.code for i in instruments()["phq-9"].items]
ITEM9 = PHQ9[-1]


def test_item_nine_unanswered_is_prorated_but_said_and_prompted(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    answers = dict.fromkeys(PHQ9[:-1], 2) | {ITEM9: None}
    r = client.post(
        f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": answers}, headers=clin.auth
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["total"], body["prorated"], body["safety_unanswered"]) == (18, True, [ITEM9])
    assert body["alerts_raised"] == 1
    alerts = client.get(f"/api/v1/people/{pid}/alerts", headers=clin.auth).json()
    assert [(a["kind"], a["title"]) for a in alerts] == [("safety-unanswered", "PHQ-9 item 9 not answered: ask it")]
    assert "left unanswered" in alerts[0]["reason"]
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec.safety_unanswered == [ITEM9]
    page = client.get(f"/people/{pid}", headers=clin.auth).text
    assert "item 9 not answered" in page
    # an answered item 9 of 0 prompts nothing
    full = dict.fromkeys(PHQ9, 1) | {ITEM9: 0}
    client.post(f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": full}, headers=clin.auth)
    db.expire_all()
    assert db.scalar(select(Alert.kind).where(Alert.kind != "safety-unanswered")) is None
    # and an answer above 0 is shown in words, marked for attention
    risky = dict.fromkeys(PHQ9, 1) | {ITEM9: 2}
    client.post(f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": risky}, headers=clin.auth)
    page = client.get(f"/people/{pid}", headers=clin.auth).text
    assert '<strong class="warning">item 9: More than half the days</strong>' in page
    assert '<span class="muted">item 9: Not at all</span>' in page


def test_a_self_report_with_item_nine_left_blank_prompts_the_team(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    url = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "phq-9"}, headers=clin.auth
    ).json()["url"]
    path = "/" + url.split("/", 3)[3]
    client.cookies.clear()
    form = dict.fromkeys(PHQ9[:-1], "1")
    assert client.post(path, data=form).status_code == 200
    db.expire_all()
    assert db.scalar(select(Alert.kind)) == "safety-unanswered"


def test_a_fhir_response_without_item_nine_prompts_the_team(client, db, make_staff, synthea_bundle) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    bundle = copy.deepcopy(synthea_bundle)
    qr = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse")
    qr["item"] = [i for i in qr["item"] if not i["linkId"].endswith(ITEM9)]
    assert (
        client.post("/fhir/R4", json=bundle, headers={**clin.auth, "Content-Type": "application/fhir+json"}).status_code
        == 200
    )
    db.expire_all()
    assert db.scalars(select(Alert.kind)).all() == ["safety-unanswered"]
