"""Experience of choice (issue 19): a clinician sends the assessment or discharge form through a single-use link;
the person answers on their phone; the answers are stored whole with their audit record, or not at all."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from idiograph.measures.experience import Forms, check, forms
from idiograph.measures.model import ExperienceResponse, SelfReportLink
from idiograph.observations.model import Observation
from idiograph.security.model import AuditRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female", "nhs_number": "9434765919"}
Q1, Q2, Q3 = "747861000000100", "747871000000107", "747881000000109"


def _link(client, clin, form: str) -> str:  # type: ignore[no-untyped-def]
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    made = client.post(
        f"/api/v1/people/{pid}/self-report-links",
        json={"instrument": form, "mode": "experience"},
        headers=clin.auth,
    )
    assert made.status_code == 201, made.text
    assert made.json()["mode"] == "experience"
    return "/" + made.json()["url"].split("/", 3)[3]


def test_the_person_answers_once_and_nothing_reaches_the_observation_store(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    path = _link(client, clin, "peq-assessment")
    client.cookies.clear()  # the person has no account
    page = client.get(path)
    assert page.status_code == 200
    assert "Were you given information about options for choosing a treatment" in page.text
    assert "Lovelace" not in page.text and "Not applicable" in page.text
    done = client.post(path, data={Q1: "Y", Q2: "N", Q3: "NA", "choice-time": ""})
    assert done.status_code == 200 and "Thank you" in done.text
    assert client.get(path).status_code == 410 and client.post(path, data={Q1: "N"}).status_code == 410
    stored = db.scalars(select(ExperienceResponse)).all()
    assert len(stored) == 1
    assert stored[0].form == "peq-assessment" and stored[0].answers == {Q1: "Y", Q2: "N", Q3: "NA"}
    assert stored[0].version == forms().version
    assert db.scalar(select(func.count()).select_from(Observation)) == 0  # about the service, not the person
    link = db.scalar(select(SelfReportLink))
    assert link is not None and link.response_id == stored[0].id
    who = db.scalars(select(AuditRecord.actor).where(AuditRecord.resource_type == "ExperienceResponse")).all()
    assert len(who) == 1 and who[0].startswith("self-report:")


def test_a_bad_or_empty_form_keeps_nothing_and_leaves_the_link_usable(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    path = _link(client, clin, "peq-discharge")
    client.cookies.clear()
    empty = client.post(path, data={})
    assert empty.status_code == 422 and "at least one question must be answered" in empty.text
    bad = client.post(path, data={"747921000000103": "9", "choice-time": "Y"})
    assert bad.status_code == 422 and "answers.747921000000103" in bad.text
    assert 'value="Y" checked' in bad.text  # the person's other answers are kept on the page
    assert db.scalar(select(func.count()).select_from(ExperienceResponse)) == 0
    assert client.get(path).status_code == 200  # the link was not spent
    assert client.post(path, data={"747921000000103": "4"}).status_code == 200


def test_links_name_a_real_form_and_do_not_open_as_questionnaires(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    bad = client.post(
        f"/api/v1/people/{pid}/self-report-links",
        json={"instrument": "phq-9", "mode": "experience"},
        headers=clin.auth,
    )
    assert bad.status_code == 422 and "not an experience form" in bad.text
    assert bad.json()["errors"][0]["field"] == "instrument"
    wrong = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "peq-assessment"}, headers=clin.auth
    )
    assert wrong.status_code == 422  # a full questionnaire link needs an instrument


def test_the_clinician_sends_it_from_the_record(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    csrf = login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert "Ask about their experience of choice" in page and 'value="peq-discharge">' in page
    assert 'value="peq-assessment" selected' in page  # not discharged: the assessment form first
    made = client.post(
        f"/people/{pid}/self-report-links",
        data={"instrument": "peq-discharge", "mode": "experience", "valid_hours": "336", "csrf_token": csrf},
    )
    assert made.status_code == 200 and re.search(r"/r/[\w-]{20,}", made.text)
    assert "Experience-of-choice link for Ada Lovelace" in made.text
    assert "Experience of choice (at discharge)" in client.get(f"/people/{pid}").text


def test_forms_check_answers_and_definitions_by_hand() -> None:
    form = forms().form("peq-assessment")
    assert form is not None
    assert check(form, {Q1: "Y"}) == []
    assert check(form, {Q1: "maybe"}) == [(f"answers.{Q1}", "answer 'maybe' is not one of Y, N, NA")]
    assert check(form, {"nope": "Y"})[0] == ("answers.nope", "not a question of peq-assessment")
    assert check(form, {Q1: None}) == [("answers", "at least one question must be answered")]
    raw = forms().model_dump()
    raw["forms"][0]["items"][2]["only_if"] = {"not-an-item": "Y"}
    with pytest.raises(ValueError, match="only_if"):
        Forms.model_validate(raw)
    raw = forms().model_dump()
    raw["forms"][1]["items"][0]["positive"] = ["7"]
    with pytest.raises(ValueError, match="positive"):
        Forms.model_validate(raw)
