"""DIALOG on the pages: entered and sent like any questionnaire, its 1-7 scale on the form and the phone page, and
its means (never a total) on the person's record."""

from __future__ import annotations

import re

from sqlalchemy import select

from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from tests.web.test_pages import PERSON, login

CODES = [f"dialog-{i:02d}" for i in range(1, 12)]


def _answers(values: list[int | None]) -> dict[str, int | None]:
    return dict(zip(CODES, values, strict=True))


def test_dialog_is_entered_stored_as_means_and_shown_as_means(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    first = {"instrument": "dialog", "answers": _answers([3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4])}
    first["authored"] = "2026-09-01T10:00:00Z"
    r = client.post(f"/api/v1/people/{pid}/responses", json=first, headers=clin.auth)
    assert r.status_code == 201, r.text
    assert (r.json()["total"], r.json()["band"]) == (None, None)  # a mean is not a total
    # life domains 1+2+3+4+5+6+7+7 = 35 / 8 = 4.375; treatment item 11 missing: that mean is not scored
    latest = {"instrument": "dialog", "answers": _answers([1, 2, 3, 4, 5, 6, 7, 7, 2, 4, None])}
    latest["authored"] = "2026-11-01T10:00:00Z"
    assert client.post(f"/api/v1/people/{pid}/responses", json=latest, headers=clin.auth).status_code == 201
    db.expire_all()
    assert [r.total for r in db.scalars(select(QuestionnaireResponseRecord))] == [None, None]
    stored = sorted(
        (o.code, o.value)
        for o in db.scalars(select(Observation).where(Observation.code.like("dialog-%")))
        if o.code in ("dialog-sqol", "dialog-treatment")
    )
    assert stored == [("dialog-sqol", 3.0), ("dialog-sqol", 4.375), ("dialog-treatment", 4.0)]

    login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert "DIALOG subjective quality of life (mean of 8 life domains): 4.38" in page
    assert "DIALOG treatment satisfaction (mean of 3 treatment items): not scored (an item missing)" in page
    assert "DIALOG subjective quality of life (mean of 8 life domains): 3<br>" in page
    assert "not scored (too many items missing)" not in page
    # change since the first score: a decimal change, no reliable-change judgement (none published)
    row = re.search(r"<tr><td>DIALOG <span class=\"muted\">mean 1-7, higher is better</span>.*?</tr>", page, re.S)
    assert row is not None, page
    assert '<td class="num">+1.38</td>' in row.group(0) and "reliability not known" in row.group(0)


def test_the_form_and_the_phone_page_offer_the_1_to_7_scale(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json=PERSON, headers=clin.auth).json()["id"]
    login(client, "clin")
    person = client.get(f"/people/{pid}").text
    assert f'href="/people/{pid}/questionnaires/dialog"' in person
    assert '<option value="dialog">DIALOG scale (satisfaction with life and treatment)</option>' in person
    form = client.get(f"/people/{pid}/questionnaires/dialog").text
    values = re.findall(r'name="dialog-01" value="(\d+)"', form)
    assert values == ["1", "2", "3", "4", "5", "6", "7"]
    assert "1 - Totally dissatisfied" in form and "7 - Totally satisfied" in form
    link = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "dialog"}, headers=clin.auth
    ).json()
    client.cookies.clear()
    phone = client.get(link["url"].split("testserver")[-1])
    assert phone.status_code == 200
    assert re.findall(r'name="dialog-11" value="(\d+)"', phone.text) == ["1", "2", "3", "4", "5", "6", "7"]
    assert "How satisfied are you with your meetings with mental health professionals?" in phone.text
    sent = client.post(link["url"].split("testserver")[-1], data={c: "5" for c in CODES})
    assert sent.status_code == 200 and "Thank you" in sent.text
