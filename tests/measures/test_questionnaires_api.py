"""Questionnaires end to end: instruments, clinician entry, single-use self-report links, FHIR Questionnaire."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from idiograph.alerts.model import Alert
from idiograph.db import utcnow
from idiograph.instruments.definitions import instruments
from idiograph.measures.model import QuestionnaireResponseRecord, SelfReportLink
from idiograph.observations.model import Observation
from idiograph.security.model import AuditRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female", "nhs_number": "9434765919"}
PHQ9 = [i.code for i in instruments()["phq-9"].items]


def _person(client, clin) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/people", json=PERSON, headers=clin.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_instruments_are_listed_with_items_and_thresholds(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    listed = {i["id"]: i for i in client.get("/api/v1/instruments", headers=clin.auth).json()}
    assert {"phq-9", "gad-7", "pcl-5", "audit", "wsas", "core-10"} <= set(listed)
    assert listed["phq-9"]["reliable_change_points"] == 6 and listed["phq-9"]["caseness_min"] == 10
    assert listed["gad-7"]["reliable_change_points"] == 4 and listed["pcl-5"]["reliable_change_points"] is None
    assert [o["value"] for o in listed["audit"]["items"][8]["options"]] == [0, 2, 4]
    assert client.get("/api/v1/instruments/nope", headers=clin.auth).status_code == 422


def test_clinician_entry_stores_items_and_total_and_alerts_on_safety(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    answers = dict.fromkeys(PHQ9, 2) | {PHQ9[-1]: 1}
    r = client.post(
        f"/api/v1/people/{pid}/responses", json={"instrument": "phq-9", "answers": answers}, headers=clin.auth
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["total"], body["band"], body["alerts_raised"]) == (17, "moderately severe", 1)
    assert body["safety_positive"] == [PHQ9[-1]]
    assert db.scalar(select(func.count()).select_from(Observation)) == 10  # nine items plus the total
    # A bad answer names the item and stores nothing.
    bad = client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": {PHQ9[0]: 7}},
        headers=clin.auth,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == f"answers.{PHQ9[0]}"
    assert db.scalar(select(func.count()).select_from(Observation)) == 10
    # A second score 9 points lower: reliable improvement on the PHQ-9.
    client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": "phq-9", "answers": dict.fromkeys(PHQ9, 1)},
        headers=clin.auth,
    )
    change = client.get(f"/api/v1/people/{pid}/reliable-change", headers=clin.auth).json()
    assert change == [
        {
            "instrument": "phq-9",
            "title": "Patient Health Questionnaire (PHQ-9)",
            "first": 17.0,
            "latest": 9.0,
            "n": 2,
            "change": -8.0,
            "rci": None,  # the national criterion decides: no RCI beside it to contradict it
            "reliable_change_points": 6.0,
            "direction": "improved",
            "method": "national criterion (a change of 6 or more points)",
            "caseness_at_first": True,
            "caseness_at_latest": False,
        }
    ]


def test_a_self_report_link_works_once_and_alerts_the_team(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    made = client.post(f"/api/v1/people/{pid}/self-report-links", json={"instrument": "phq-9"}, headers=clin.auth)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    path = "/" + url.split("/", 3)[3]
    token = path.rsplit("/", 1)[1]
    assert db.scalar(select(SelfReportLink.token_hash)) != token  # only a hash is kept
    client.cookies.clear()  # the person has no account and no session
    form = client.get(path)
    assert form.status_code == 200 and "Little interest or pleasure" in form.text
    assert "Lovelace" not in form.text  # a forwarded link reveals nothing about the person
    data = dict.fromkeys(PHQ9, "0") | {PHQ9[-1]: "1"}
    done = client.post(path, data=data)
    assert done.status_code == 200 and "999" in done.text  # crisis numbers shown at once
    assert client.get(path).status_code == 410
    assert client.post(path, data=data).status_code == 410
    assert db.scalar(select(func.count()).select_from(QuestionnaireResponseRecord)) == 1
    alert = db.scalar(select(Alert))
    assert alert is not None and alert.kind == "safety" and alert.status == "raised"
    who = db.scalars(select(AuditRecord.actor).where(AuditRecord.resource_type == "Observation")).all()
    assert who and all(a.startswith("self-report:") for a in who)


def test_expired_and_unknown_links_are_refused_and_bad_answers_do_not_spend_the_link(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    url = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "gad-7"}, headers=clin.auth
    ).json()["url"]
    path = "/" + url.split("/", 3)[3]
    assert client.post(path, data={}).status_code == 422  # nothing answered: the form again, link not spent
    assert client.get(path).status_code == 200
    db.execute(update(SelfReportLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert client.get(path).status_code == 410
    assert client.get("/r/not-a-real-token").status_code == 410
    r = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "gad-7", "valid_hours": 0}, headers=clin.auth
    )
    assert r.status_code == 422


def test_clinician_form_page_and_person_page(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    csrf = login(client, "clin")
    page = client.get(f"/people/{pid}/questionnaires/core-10")
    assert page.status_code == 200 and "I made plans to end my life" in page.text
    data = {i.code: "0" for i in instruments()["core-10"].items} | {"csrf_token": csrf}
    r = client.post(f"/people/{pid}/questionnaires/core-10", data=data, follow_redirects=False)
    assert r.status_code == 303
    person = client.get(f"/people/{pid}").text
    assert "Change since the first score" in person and "CORE-10" in person
    made = client.post(
        f"/people/{pid}/self-report-links", data={"instrument": "wsas", "valid_hours": "24", "csrf_token": csrf}
    )
    assert made.status_code == 200 and re.search(r"/r/[\w-]{20,}", made.text)
    assert "waiting" in client.get(f"/people/{pid}").text


def test_fhir_questionnaires_are_generated_from_the_files(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.questionnaire import Questionnaire

    clin = make_staff("clin", "clinician", ("North",))
    for inst in instruments().values():
        body = client.get(f"/fhir/R4/Questionnaire/{inst.id}", headers=clin.auth).json()
        Questionnaire.model_validate(body)  # valid FHIR
        assert [i["linkId"] for i in body["item"][1:]] == [i.code for i in inst.items]
    core = client.get("/fhir/R4/Questionnaire/core-10", headers=clin.auth).json()
    item2 = core["item"][2]
    assert [o["extension"][0]["valueDecimal"] for o in item2["answerOption"]] == [4, 3, 2, 1, 0]  # reversed
    found = client.get("/fhir/R4/Questionnaire", params={"url": "http://loinc.org/q/44249-1"}, headers=clin.auth).json()
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == "phq-9"
    assert client.get("/fhir/R4/Questionnaire/nope", headers=clin.auth).status_code == 404


GAD7 = [i.code for i in instruments()["gad-7"].items]


def test_a_gad7_change_of_exactly_four_points_is_reliable_on_the_record(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """The boundary the NHS Talking Therapies metrics count as reliable: the record and the API agree."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    for answers in (
        dict.fromkeys(GAD7, 1) | {GAD7[0]: 3, GAD7[1]: 2},
        dict.fromkeys(GAD7, 1) | {GAD7[0]: 0},
    ):
        r = client.post(
            f"/api/v1/people/{pid}/responses", json={"instrument": "gad-7", "answers": answers}, headers=clin.auth
        )
        assert r.status_code == 201, r.text
    change = client.get(f"/api/v1/people/{pid}/reliable-change", headers=clin.auth).json()
    assert [(c["first"], c["latest"], c["direction"]) for c in change] == [(10.0, 6.0, "improved")]
    page = client.get(f"/people/{pid}", headers=clin.auth).text
    section = page[page.index('id="change"') :]
    assert "reliably improved" in section and "national criterion (a change of 4 or more points)" in section
