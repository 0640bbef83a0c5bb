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


def test_item_rows_without_item_nine_prompt_the_team_by_api_and_csv(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Items sent one row each (an API batch, a CSV file) are one questionnaire per person and time: without
    item 9 it is a PHQ-9 with its safety question unanswered, said as on every other path."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    system = instruments()["phq-9"].item_system
    at = "2026-03-02T10:00:00+00:00"
    rows = [{"person_id": pid, "system": system, "code": c, "value": 1, "time": at} for c in PHQ9[:-1]]
    assert client.post("/api/v1/observations", json={"observations": rows}, headers=clin.auth).status_code == 200
    prompts = [a for a in client.get(f"/api/v1/people/{pid}/alerts", headers=clin.auth).json()]
    assert [(a["kind"], a["title"]) for a in prompts] == [("safety-unanswered", "PHQ-9 item 9 not answered: ask it")]
    # sending the same rows again prompts nothing new; item 9 sent later for that time answers it, no new prompt
    client.post("/api/v1/observations", json={"observations": rows}, headers=clin.auth)
    item9 = {"person_id": pid, "system": system, "code": ITEM9, "value": 0, "time": at}
    client.post("/api/v1/observations", json={"observations": [item9]}, headers=clin.auth)
    assert len(client.get(f"/api/v1/people/{pid}/alerts", headers=clin.auth).json()) == 1
    # a complete set at another time prompts nothing; and the CSV path says the same as the API
    later = "2026-04-02T10:00:00+00:00"
    full = [{"person_id": pid, "system": system, "code": c, "value": 0, "time": later} for c in PHQ9]
    client.post("/api/v1/observations", json={"observations": full}, headers=clin.auth)
    assert len(client.get(f"/api/v1/people/{pid}/alerts", headers=clin.auth).json()) == 1
    csv = "person_id,system,code,value,time,given_name,family_name\n" + "".join(
        f"E1,{system},{c},1,2026-05-04T09:00:00Z,Mary,Seacole\n" for c in PHQ9[:-1]
    )
    r = client.post("/api/v1/import/csv", files={"file": ("phq.csv", csv, "text/csv")}, headers=clin.auth)
    assert r.status_code == 200, r.text
    people = client.get("/api/v1/people", headers=clin.auth).json()["items"]
    seacole = next(p["id"] for p in people if p["family_name"] == "Seacole")
    prompts = client.get(f"/api/v1/people/{seacole}/alerts", headers=clin.auth).json()
    assert [a["kind"] for a in prompts] == ["safety-unanswered"]


def test_the_grouping_by_hand() -> None:
    import uuid
    from datetime import UTC, datetime

    from idiograph.observations.items import missing_safety_items
    from idiograph.observations.service import NewObservation

    system = instruments()["phq-9"].item_system
    a, b = uuid.uuid4(), uuid.uuid4()
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)

    def row(p, code, t):  # type: ignore[no-untyped-def]
        return NewObservation(p, system, code, 1.0, None, t, "x")

    rows = [row(a, PHQ9[0], t1), row(a, PHQ9[1], t1), row(a, ITEM9, t2), row(a, PHQ9[0], t2), row(b, PHQ9[2], t1)]
    found = sorted((u.person_id == a, u.time, u.code) for u in missing_safety_items(rows))
    assert found == sorted([(True, t1, ITEM9), (False, t1, ITEM9)])
    assert missing_safety_items([NewObservation(a, "http://loinc.org", "718-7", 140.0, None, t1, "x")]) == []
