"""Taking an adaptive PHQ-9 from a self-report link (issue 18), on both backends: one question at a time with the
safety item first, the record marked adaptive with its estimate and interval and never a total, bad answers
refused naming the field with nothing stored, and NHS Talking Therapies outcomes, reliable change and recovery
counting full forms only (H-105)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from idiograph.adaptive.banks import default_rule, load_bank
from idiograph.alerts.model import Alert
from idiograph.db import utcnow
from idiograph.instruments.definitions import instruments
from idiograph.measures.model import QuestionnaireResponseRecord, SelfReportLink
from idiograph.observations.model import Observation
from idiograph.patients.model import Episode
from idiograph.reporting.outcomes import episode_outcomes
from idiograph.security.model import AuditRecord

PERSON = {"given_name": "Ada", "family_name": "Lovelace", "sex": "female", "nhs_number": "9434765919"}
PHQ9 = instruments()["phq-9"]
CODES = [i.code for i in PHQ9.items]
ITEM9 = CODES[8]
TOTAL = PHQ9.total.code


def _person(client, clin) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/people", json=PERSON, headers=clin.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _adaptive_link(client, clin, pid: str) -> str:  # type: ignore[no-untyped-def]
    made = client.post(
        f"/api/v1/people/{pid}/self-report-links", json={"instrument": "phq-9", "mode": "adaptive"}, headers=clin.auth
    )
    assert made.status_code == 201, made.text
    assert made.json()["mode"] == "adaptive"
    return "/" + made.json()["url"].split("/", 3)[3]


def _asked(page: str) -> str:
    found = re.search(r'name="item" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _take(client, path: str, answers: dict[str, int]) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    """Answer the form as a person would, one question per page; (items asked in order, the last page)."""
    asked: list[str] = []
    page = client.get(path)
    assert page.status_code == 200, page.text
    for _ in range(len(CODES)):
        code = _asked(page.text)
        asked.append(code)
        r = client.post(path, data={"item": code, "answer": str(answers[code])}, follow_redirects=False)
        if r.status_code == 200:  # the thank-you page: the form stopped
            return asked, r.text
        assert r.status_code == 303 and r.headers["location"] == path, r.text
        page = client.get(path)
        assert page.status_code == 200
    raise AssertionError("the form asked more questions than the PHQ-9 has")


def test_one_question_at_a_time_safety_item_first_and_an_adaptive_record(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()  # the person has no account and no session
    first = client.get(path)
    assert first.status_code == 200 and "Lovelace" not in first.text
    assert _asked(first.text) == ITEM9 and PHQ9.item(ITEM9).text in first.text  # the safety item first
    assert first.text.count('name="answer"') == 4  # one question on the page, its four answers
    answers = dict.fromkeys(CODES, 2) | {ITEM9: 1}
    asked, done = _take(client, path, answers)
    assert asked[0] == ITEM9 and len(asked) < len(CODES) and len(set(asked)) == len(asked)
    assert "Thank you" in done and "999" in done  # crisis numbers shown at once, as for the full form
    # the link is spent: opening it again, or replaying an answer, is refused
    assert client.get(path).status_code == 410
    assert client.post(path, data={"item": ITEM9, "answer": "0"}).status_code == 410
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and rec.adaptive and rec.status == "completed" and rec.total is None
    assert rec.adaptive_asked == asked
    assert rec.estimate is not None and rec.estimate_lower <= rec.estimate <= rec.estimate_upper
    assert rec.decision == "above" and rec.adaptive_cut == 10 and rec.stop_reason == "classification"
    assert rec.bank_version == load_bank("phq-9").version
    # the items asked are stored as the answers they are; no total is stored, so nothing reads one
    stored = dict(db.execute(select(Observation.code, Observation.value).where(Observation.group_id == rec.id)).all())
    assert stored == {c: float(answers[c]) for c in asked}
    assert db.scalar(select(func.count()).select_from(Observation).where(Observation.code == TOTAL)) == 0
    # the safety answer raised the safety alert, exactly as on a full form
    alert = db.scalar(select(Alert).where(Alert.kind == "safety"))
    assert alert is not None and alert.person_id == rec.person_id and "PHQ-9 item 9" in alert.reason
    who = db.scalars(select(AuditRecord.actor).where(AuditRecord.resource_type == "Observation")).all()
    assert len(who) == len(asked) and all(a.startswith("self-report:") for a in who)
    kinds = db.execute(
        select(AuditRecord.action, AuditRecord.resource_type).where(
            AuditRecord.resource_type == "QuestionnaireResponse"
        )
    ).all()
    assert ("create", "QuestionnaireResponse") in kinds and ("write", "QuestionnaireResponse") in kinds


def test_the_safety_alert_is_raised_at_the_first_answer_even_if_the_person_stops_there(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    assert "999" not in client.get(path).text
    r = client.post(path, data={"item": ITEM9, "answer": "3"}, follow_redirects=False)
    assert r.status_code == 303
    assert "999" in client.get(path).text and "Samaritans" in client.get(path).text  # crisis numbers at once
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "safety")) == 1
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and rec.status == "in-progress" and rec.adaptive and rec.adaptive_asked == [ITEM9]
    link = db.scalar(select(SelfReportLink))
    assert link is not None and link.used_at is None and link.step == 1 and link.response_id == rec.id


def test_bad_answers_name_the_field_and_store_nothing(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()

    def nothing_stored() -> None:
        db.expire_all()
        assert db.scalar(select(func.count()).select_from(Observation)) == 0
        assert db.scalar(select(func.count()).select_from(QuestionnaireResponseRecord)) == 0
        link = db.scalar(select(SelfReportLink))
        assert link is not None and link.step == 0 and not link.progress and link.used_at is None

    wrong_item = client.post(path, data={"item": CODES[0], "answer": "1"})
    assert (
        wrong_item.status_code == 422 and "(item)" in wrong_item.text and "please answer question 1" in wrong_item.text
    )
    out_of_range = client.post(path, data={"item": ITEM9, "answer": "7"})
    assert (
        out_of_range.status_code == 422 and "(answer)" in out_of_range.text and "7 is not one of" in out_of_range.text
    )
    missing = client.post(path, data={"item": ITEM9})
    assert missing.status_code == 422 and "(answer)" in missing.text
    full_form = client.post(path, data=dict.fromkeys(CODES, "0"))  # the full form's fields sent to this link
    assert full_form.status_code == 422 and "(item)" in full_form.text
    nothing_stored()
    # the page asks the same question again, and a good answer then goes through
    assert client.post(path, data={"item": ITEM9, "answer": "0"}, follow_redirects=False).status_code == 303
    # answering the same question again (a second tab, a replay) is refused: the next one is being asked
    again = client.post(path, data={"item": ITEM9, "answer": "3"})
    assert again.status_code == 422 and "(item)" in again.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Observation)) == 1
    assert db.scalar(select(func.count()).select_from(Alert)) == 0
    # an expired link is gone, answers and all
    db.execute(update(SelfReportLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert client.get(path).status_code == 410
    assert client.post(path, data={"item": CODES[1], "answer": "1"}).status_code == 410


def test_an_adaptive_form_is_only_offered_where_a_calibrated_bank_exists(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    url = f"/api/v1/people/{pid}/self-report-links"
    for instrument in ("gad-7", "core-10"):  # GAD-7's bank is provisional: not offered to people
        r = client.post(url, json={"instrument": instrument, "mode": "adaptive"}, headers=clin.auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mode", r.text
    r = client.post(url, json={"instrument": "phq-9", "mode": "short"}, headers=clin.auth)
    assert r.status_code == 422 and "mode" in r.text
    full = client.post(url, json={"instrument": "phq-9"}, headers=clin.auth)
    assert full.status_code == 201 and full.json()["mode"] == "full"


def test_the_engine_and_the_page_agree_on_every_question(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.adaptive import engine

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    answers = dict(zip(CODES, [0, 1, 0, 1, 0, 0, 1, 0, 0], strict=True))
    asked, _ = _take(client, path, answers)
    bank, rule = load_bank("phq-9"), default_rule("phq-9")
    expected: list[str] = []
    while (code := engine.next_item(bank, rule, [(c, answers[c]) for c in expected])) is not None:
        expected.append(code)
    assert asked == expected
    rec = db.scalar(select(QuestionnaireResponseRecord))
    res = engine.result(bank, rule, [(c, answers[c]) for c in expected])
    assert rec is not None and rec.decision == res.decision == "below"
    assert (rec.estimate, rec.estimate_lower, rec.estimate_upper) == (res.estimate, res.lower, res.upper)


def _full(client, clin, pid: str, instrument: str, value: int, authored: datetime) -> None:  # type: ignore[no-untyped-def]
    items = [i.code for i in instruments()[instrument].items]
    r = client.post(
        f"/api/v1/people/{pid}/responses",
        json={"instrument": instrument, "answers": dict.fromkeys(items, value), "authored": authored.isoformat()},
        headers=clin.auth,
    )
    assert r.status_code == 201, r.text


def test_outcome_metrics_reliable_change_and_recovery_count_full_forms_only(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """H-105: an adaptive estimate is never a PHQ-9 total. At caseness at the start (full PHQ-9 18, GAD-7 14),
    then a GAD-7 of 0 with an ADAPTIVE PHQ-9 answered all 0 on the same day: counted as a total it would pair
    with the GAD-7 and make this a reliable recovery; counted as it must be, there is one paired score only."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    start = utcnow() - timedelta(days=20)
    _full(client, clin, pid, "phq-9", 2, start)
    _full(client, clin, pid, "gad-7", 2, start)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    _take(client, path, dict.fromkeys(CODES, 0))
    _full(client, clin, pid, "gad-7", 0, utcnow())
    db.add(
        Episode(
            person_id=db.scalar(select(QuestionnaireResponseRecord.person_id)),
            referral_date=start.date() - timedelta(days=1),
            referral_source="self",
            presenting_problem="depression",
            pathway="talking-therapies",
            discharge_date=date.today() + timedelta(days=1),
            discharge_reason="completed",
        )
    )
    db.commit()
    rec = db.scalar(select(QuestionnaireResponseRecord).where(QuestionnaireResponseRecord.adaptive))
    assert rec is not None and rec.decision == "below" and rec.total is None
    (outcome,) = episode_outcomes(db)
    assert outcome.paired_scores == 1 and outcome.caseness_start and not outcome.recovered
    assert not outcome.reliable_improvement and not outcome.reliable_recovery
    change = {c["instrument"]: c for c in client.get(f"/api/v1/people/{pid}/reliable-change", headers=clin.auth).json()}
    assert change["phq-9"]["n"] == 1 and change["phq-9"]["direction"] is None  # one full PHQ-9: nothing to judge
    assert change["gad-7"]["n"] == 2
    listed = client.get(f"/api/v1/people/{pid}/responses", headers=clin.auth)
    assert listed.status_code == 200, listed.text
    adaptive = [r for r in listed.json() if r["adaptive"]]
    full = [r for r in listed.json() if not r["adaptive"]]
    assert len(adaptive) == 1 and len(full) == 3 and all(r["total"] is not None for r in full)
    (a,) = adaptive
    assert a["total"] is None and a["status"] == "completed" and a["adaptive"]["asked"][0] == ITEM9
    assert a["adaptive"]["lower"] <= a["adaptive"]["estimate"] <= a["adaptive"]["upper"]
    assert a["adaptive"]["decision"] == "below" and a["adaptive"]["stopped"] and "not a total" in a["adaptive"]["note"]
    assert a["safety"] == ["item 9: Not at all"]


def test_the_person_page_marks_it_adaptive_and_offers_the_full_form(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import login

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    csrf = login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert 'value="adaptive"' in page and "Send the adaptive PHQ-9 short form" in page
    made = client.post(
        f"/people/{pid}/self-report-links", data={"instrument": "phq-9", "mode": "adaptive", "csrf_token": csrf}
    )
    assert made.status_code == 200 and "ADAPTIVE" in made.text
    path = re.search(r"(/r/[\w-]{20,})", made.text).group(1)  # type: ignore[union-attr]
    with client.__class__(client.app) as person:  # the person's phone: no session
        _take(person, path, dict.fromkeys(CODES, 3))
    page = client.get(f"/people/{pid}").text
    assert "ADAPTIVE" in page and "estimated" in page and "95% interval" in page and "not a total" in page
    assert (
        "Questions asked, in order: item 9 (Thoughts that you would be better off dead, or…): Nearly every day" in page
    )
    assert "at or above 10" in page and "Send the full PHQ-9" in page
    assert 'id="adaptive-not-plotted"' in page  # the chart says why the estimate is not on it
    # asking for the full form from the adaptive record
    full = client.post(
        f"/people/{pid}/self-report-links", data={"instrument": "phq-9", "mode": "full", "csrf_token": csrf}
    )
    assert full.status_code == 200 and "ADAPTIVE" not in full.text
    modes = db.scalars(select(SelfReportLink.mode).order_by(SelfReportLink.created_at)).all()
    assert modes == ["adaptive", "full"]
    reads = db.scalars(
        select(AuditRecord.actor).where(AuditRecord.action == "read", AuditRecord.person_id == uuid.UUID(pid))
    ).all()
    assert reads and all("clin" in a for a in reads)  # the page's read of the record is audited


def test_fhir_carries_the_estimate_as_an_extension_and_never_a_total(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from idiograph.fhir import vocab
    from idiograph.fhir.mapping_in import Skip, questionnaire_response

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    asked, _ = _take(client, path, dict.fromkeys(CODES, 0))  # stops early: an estimate, not a total
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and len(asked) < len(CODES)
    r = client.get(f"/fhir/R4/QuestionnaireResponse/{rec.id}", headers=clin.auth)
    assert r.status_code == 200, r.text
    qr = r.json()
    # a modifier extension: a receiver may not ignore it and prorate the few answers into a total (found by review)
    assert not [e for e in qr.get("extension", []) if e["url"] == vocab.ADAPTIVE_EXT]
    (ext,) = [e for e in qr["modifierExtension"] if e["url"] == vocab.ADAPTIVE_EXT]
    parts = ext["extension"]
    assert {"url": "complete", "valueBoolean": True} not in parts
    assert {"url": "adaptive", "valueBoolean": True} in parts
    assert [p["valueString"] for p in parts if p["url"] == "asked"] == asked
    values = {p["url"]: next(v for k, v in p.items() if k != "url") for p in parts if p["url"] != "asked"}
    assert values["lower"] <= values["estimate"] <= values["upper"] and values["decision"] in ("above", "below")
    assert "not a total" in values["note"]
    assert [i["linkId"] for i in qr["item"]] == [c for c in CODES if c in asked]  # the answers given, no total
    obs = client.get(f"/fhir/R4/Observation?patient={pid}&code={TOTAL}", headers=clin.auth).json()
    assert obs.get("total", 0) == 0 and not obs.get("entry")
    # an adaptive response sent back in is not scored as a (prorated) full form
    try:
        questionnaire_response(qr, "QuestionnaireResponse")
    except Skip as exc:
        assert "adaptive" in str(exc)
    else:
        raise AssertionError("an adaptive QuestionnaireResponse was imported as a scored response")


def test_two_answers_to_the_same_question_at_once_let_one_through(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The second of two simultaneous answers (two tabs, a double tap) finds the step moved on: 409, nothing of it
    stored."""
    import pytest

    from idiograph import pipeline
    from idiograph.adaptive import taking
    from idiograph.errors import Conflict
    from idiograph.measures import service as measures

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    token = _adaptive_link(client, clin, pid).rsplit("/", 1)[1]
    opened = measures.open_link

    def raced(session, tok):  # type: ignore[no-untyped-def]
        link, inst = opened(session, tok)
        # the other answer to the same question commits between this one's read and its write
        bump = update(SelfReportLink).where(SelfReportLink.id == link.id).values(step=1)
        session.execute(bump.execution_options(synchronize_session=False))
        return link, inst

    monkeypatch.setattr(measures, "open_link", raced)
    with pytest.raises(Conflict) as caught:
        taking.answer(db, token, ITEM9, 2, pipeline.record)
    assert caught.value.status == 409 and caught.value.problems[0].field == "item"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Observation)) == 0
    assert db.scalar(select(func.count()).select_from(QuestionnaireResponseRecord)) == 0


def test_a_form_that_asked_every_question_is_a_full_total(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by a new user's trial: nine answers were shown as "not a total" and left off the chart, reliable change
    and the outcome measures. When the engine ends up asking every question the total is a full-form total."""
    from idiograph.adaptive import engine

    every = engine.Rule(stop="length", cut=10, max_items=len(CODES))  # asks all nine, whatever the answers
    monkeypatch.setattr("idiograph.adaptive.taking.default_rule", lambda _instrument: every)
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    answers = {c: (2 if i < 5 else 1) for i, c in enumerate(CODES)}
    asked, _ = _take(client, path, answers)
    assert sorted(asked) == sorted(CODES)
    db.expire_all()
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and rec.adaptive and rec.total == sum(answers.values()) == 14
    totals = db.scalars(select(Observation.value).where(Observation.code == TOTAL)).all()
    assert totals == [14.0]  # the total observation the chart and the outcome measures read
    listed = client.get(f"/api/v1/people/{pid}/responses", headers=clin.auth).json()
    assert listed[0]["total"] == 14 and "full-form total" in listed[0]["adaptive"]["note"]

    # exported, it is a full form: a plain extension marked complete, imported as a scored response again
    from idiograph.fhir import vocab
    from idiograph.fhir.mapping_in import questionnaire_response

    qr = client.get(f"/fhir/R4/QuestionnaireResponse/{rec.id}", headers=clin.auth).json()
    assert "modifierExtension" not in qr
    (ext,) = [e for e in qr["extension"] if e["url"] == vocab.ADAPTIVE_EXT]
    assert {"url": "complete", "valueBoolean": True} in ext["extension"]
    assert len(questionnaire_response(qr, "QuestionnaireResponse").answers) == len(CODES)


def test_coming_back_to_a_used_link_still_shows_the_crisis_numbers(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found by review: after a positive item 9 the last answer shows the crisis numbers, but a reload, a double tap
    or the back button reaches the "link no longer valid" page, which had none."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    _, done = _take(client, path, {c: (2 if c == ITEM9 else 0) for c in CODES})
    assert "tel:999" in done and "You told us" in done
    again = client.get(path)
    assert again.status_code == 410
    assert 'href="tel:999"' in again.text and 'href="tel:116123"' in again.text
    assert "You told us" not in again.text  # the numbers alone: this page does not know what was answered
    assert 'href="tel:999"' in client.get("/r/no-such-token").text


def test_a_rule_changed_mid_form_completes_it_instead_of_stranding_it(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by review: a deploy that loosens the stopping rule between two questions left the form in progress for
    good behind a "link no longer valid" page. The answers given settle it now: the form is completed with them."""
    from dataclasses import replace

    from idiograph.adaptive import banks

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    page = client.get(path)
    assert _asked(page.text) == ITEM9
    assert client.post(path, data={"item": ITEM9, "answer": "0"}, follow_redirects=False).status_code == 303
    shipped = banks.default_rule("phq-9")
    loose = replace(shipped, confidence=0.5)  # item 9 alone now settles it
    monkeypatch.setattr("idiograph.adaptive.taking.default_rule", lambda _instrument: loose)
    settled = client.get(path)  # a read changes nothing: the page asks the person to send what they have
    assert settled.status_code == 200 and "answered enough questions" in settled.text
    done = client.post(path, data={"item": ""}, follow_redirects=False)
    assert done.status_code == 200 and "Thank you" in done.text
    db.expire_all()
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and rec.status == "completed" and rec.adaptive_asked == [ITEM9]
    assert rec.stop_reason == "classification" and rec.total is None
    assert client.get(path).status_code == 410  # spent


def test_an_unfinished_form_shows_no_decision(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found by review: the API and FHIR said "below" after item 9 alone; nothing is decided until the form stops."""
    from idiograph.fhir import vocab

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    client.cookies.clear()
    client.get(path)
    assert client.post(path, data={"item": ITEM9, "answer": "0"}, follow_redirects=False).status_code == 303
    listed = client.get(f"/api/v1/people/{pid}/responses", headers=clin.auth).json()
    assert listed[0]["status"] == "in-progress" and listed[0]["adaptive"]["decision"] is None
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None
    qr = client.get(f"/fhir/R4/QuestionnaireResponse/{rec.id}", headers=clin.auth).json()
    (ext,) = [e for e in qr["modifierExtension"] if e["url"] == vocab.ADAPTIVE_EXT]
    assert not [p for p in ext["extension"] if p["url"] in ("decision", "estimate")]


def test_two_sends_of_a_settled_form_spend_the_link_once(client, db, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Read again: a double tap on Send finished the form twice (two audit records); the second finds the link spent
    and nothing of it is stored."""
    from dataclasses import replace

    import pytest

    from idiograph import pipeline
    from idiograph.adaptive import banks, taking
    from idiograph.measures import service as measures

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    path = _adaptive_link(client, clin, pid)
    token = path.rsplit("/", 1)[1]
    client.cookies.clear()
    client.get(path)
    assert client.post(path, data={"item": ITEM9, "answer": "0"}, follow_redirects=False).status_code == 303
    loose = replace(banks.default_rule("phq-9"), confidence=0.5)
    monkeypatch.setattr("idiograph.adaptive.taking.default_rule", lambda _instrument: loose)
    opened = measures.open_link

    def raced(session, tok):  # type: ignore[no-untyped-def]
        link, inst = opened(session, tok)
        # the other Send commits between this one's read and its write
        spend = update(SelfReportLink).where(SelfReportLink.id == link.id).values(used_at=link.created_at)
        session.execute(spend.execution_options(synchronize_session=False))
        return link, inst

    monkeypatch.setattr(measures, "open_link", raced)
    finished = db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "write"))
    with pytest.raises(measures.LinkGone):
        taking.answer(db, token, "", None, pipeline.record)
    rec = db.scalar(select(QuestionnaireResponseRecord))
    assert rec is not None and rec.status == "in-progress" and rec.stop_reason is None  # this send changed nothing
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "write")) == finished
