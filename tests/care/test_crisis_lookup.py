"""The crisis lookup: found by NHS number, a local identifier, or family name with date of birth (never a name
alone), with a reason that is audited; several matches are a list to choose from; the summary shows the care
team and recent safety alerts beside the plan, and phone numbers in the plan are tap-to-call."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.alerts.model import Alert
from idiograph.care import service as care
from idiograph.care.model import CrisisPlan, RiskAssessment
from idiograph.db import transaction, utcnow
from idiograph.errors import Forbidden, InvalidInput
from idiograph.patients.model import CaseloadAssignment, Person, PersonIdentifier
from idiograph.security.model import AuditRecord, User
from idiograph.security.teams import team_by_name
from tests.web.test_pages import login

WHY = "Police welfare check at home"
BORN = date(1992, 10, 3)


def _person(db: Session, given: str, family: str, born: date | None, nhs: str | None = None, **kw: Any) -> Person:
    p = Person(given_name=given, family_name=family, birth_date=born, nhs_number=nhs, **kw)
    db.add(p)
    db.flush()
    return p


@pytest.fixture
def people(db: Session, make_staff):  # type: ignore[no-untyped-def]
    """Ryan Smith (no NHS number, a hospital number, on North with a named lead, a high risk, a plan and a recent
    safety alert); Ava Smith-Jones with the same birthday and an NHS number; Rían Smith born another day."""
    crisis = make_staff("crisis.team", "crisis_team")
    make_staff("lead.north", "care_coordinator", ("North Talking Therapies",))
    with transaction(db):
        lead = db.scalar(select(User).where(User.username == "lead.north"))
        lead.display_name = "Sam Whitfield"
        north = team_by_name(db, "North Talking Therapies", create=True)
        cmht = team_by_name(db, "Community Mental Health Team", create=True)
        ryan = _person(db, "Ryan", "Smith", BORN)
        db.add(PersonIdentifier(person_id=ryan.id, system="urn:trust:hospital-number", value="RX40021"))
        db.add(CaseloadAssignment(person_id=ryan.id, team_id=north.id, lead_user_id=lead.id))
        db.add(RiskAssessment(person_id=ryan.id, level="high", author="lead.north", summary="Recent overdose"))
        db.add(
            CrisisPlan(
                person_id=ryan.id,
                version=1,
                content={"contacts": ["Sister Mary on 07700 900123", "Crisis line 0800 123 4567"]},
                updated_by="lead.north",
            )
        )
        now = utcnow()
        for key, when, status in (
            ("recent", now - timedelta(days=3), "raised"),
            ("old-closed", now - timedelta(days=90), "closed"),
            ("old-open", now - timedelta(days=60), "seen"),
        ):
            db.add(
                Alert(
                    person_id=ryan.id,
                    kind="safety",
                    status=status,
                    title=f"Safety answer ({key})",
                    reason="answered 2 (above 0)",
                    detail={"time": when.isoformat()},
                    source_key=key,
                    raised_at=now,  # a late import raises today alerts about old answers
                )
            )
        db.add(
            Alert(
                person_id=ryan.id,
                kind="deviation",
                title="Outside own range",
                reason="not a safety alert",
                source_key="dev",
            )
        )
        other = _person(db, "Ava", "Smith-Jones", BORN, "9434765919")
        db.add(CaseloadAssignment(person_id=other.id, team_id=cmht.id))
        _person(db, "Rían", "Smith", date(1992, 10, 4))
    return crisis, ryan.id, other.id


def _audit(db: Session, kind: str) -> list[AuditRecord]:
    return list(db.scalars(select(AuditRecord).where(AuditRecord.resource_type == kind).order_by(AuditRecord.seq)))


def test_a_person_without_an_nhs_number_is_found_by_name_and_date_of_birth(db, people) -> None:  # type: ignore[no-untyped-def]
    crisis, ryan, _ = people
    # case, accents and punctuation do not matter; the given name narrows
    q = care.CrisisQuery(family_name="  SMITH ", given_name="ryan", birth_date=BORN)
    found = care.crisis_search(db, crisis.principal, q, WHY)
    assert [m.person.id for m in found.matches] == [ryan]
    s = found.summary
    assert s is not None and s.person.nhs_number is None
    assert s.risk is not None and s.risk.level == "high" and s.plan is not None and s.plan.version == 1
    assert [(c.team, c.coordinator) for c in s.care_team] == [("North Talking Therapies", "Sam Whitfield")]
    # safety alerts only, by the answer's time: the recent one and the old one still open; not the old closed one
    assert [a.source_key for a in s.safety_alerts] == ["recent", "old-open"]
    rec = _audit(db, "CrisisSummary")[0]
    assert rec.person_id == ryan and rec.actor == "crisis.team" and rec.reason == WHY
    assert rec.detail["reason"] == WHY and rec.detail["searched_by"] == "name"
    assert rec.detail["terms"] == {"family_name": "SMITH", "given_name": "ryan", "birth_date": "1992-10-03"}
    # accents and hyphens typed or not: Rían is found as Rian, Smith-Jones as "SmithJones"; "smith jones" also
    # finds plain Smith (either part of a double-barrelled name), a near miss shown with its date of birth
    q = care.CrisisQuery(family_name="smith", given_name="Rian", birth_date=date(1992, 10, 4))
    assert [m.person.given_name for m in care.crisis_search(db, crisis.principal, q, WHY).matches] == ["Rían"]
    q = care.CrisisQuery(family_name="SmithJones", birth_date=BORN)
    assert [m.person.given_name for m in care.crisis_search(db, crisis.principal, q, WHY).matches] == ["Ava"]
    q = care.CrisisQuery(family_name="smith jones", birth_date=BORN)
    assert [m.person.given_name for m in care.crisis_search(db, crisis.principal, q, WHY).matches] == ["Ryan", "Ava"]


def test_by_local_identifier_and_by_nhs_number(db, people) -> None:  # type: ignore[no-untyped-def]
    crisis, ryan, other = people
    found = care.crisis_search(db, crisis.principal, care.CrisisQuery(identifier=" rx40021 "), WHY)
    assert found.summary is not None and found.summary.person.id == ryan
    assert found.searched == "local identifier rx40021"
    found = care.crisis_search(db, crisis.principal, care.CrisisQuery(nhs_number="943-476-5919"), WHY)
    assert found.summary is not None and found.summary.person.id == other and found.summary.risk is None
    assert found.summary.care_team[0].coordinator is None  # the team, with nobody named
    assert [r.detail["searched_by"] for r in _audit(db, "CrisisSummary")] == ["identifier", "nhs_number"]
    with pytest.raises(InvalidInput) as bad:
        care.crisis_search(db, crisis.principal, care.CrisisQuery(nhs_number="9434765918"), WHY)
    assert bad.value.problems[0].field == "nhs_number" and "check digit" in bad.value.problems[0].reason


def test_several_matches_are_a_list_each_audited_and_a_choice_is_audited(db, people) -> None:  # type: ignore[no-untyped-def]
    crisis, ryan, other = people
    # Smith finds Smith-Jones too (a double-barrelled name written in part), same birthday: two to choose from
    found = care.crisis_search(db, crisis.principal, care.CrisisQuery(family_name="smith", birth_date=BORN), WHY)
    assert found.summary is None
    assert {m.person.id for m in found.matches} == {ryan, other}
    assert {m.person.id: m.teams for m in found.matches}[other] == ["Community Mental Health Team"]
    listed = _audit(db, "CrisisSearch")
    assert {r.person_id for r in listed} == {ryan, other} and all(
        r.detail["matches"] == 2 and r.detail["reason"] == WHY for r in listed
    )
    assert not _audit(db, "CrisisSummary")  # nobody's plan was read by listing them
    s = care.crisis_summary(db, crisis.principal, ryan, WHY, chosen_from=2)
    assert s.person.id == ryan
    [chosen] = _audit(db, "CrisisSummary")
    assert chosen.person_id == ryan and chosen.detail["chosen_from"] == 2 and chosen.reason == WHY
    # a given name that matches nobody still shows who has the family name and birthday, saying so
    found = care.crisis_search(
        db, crisis.principal, care.CrisisQuery(family_name="Smith", given_name="Bob", birth_date=BORN), WHY
    )
    assert len(found.matches) == 2 and found.note and "Bob" in found.note


def test_nothing_matched_says_what_was_searched_and_is_audited(db, people) -> None:  # type: ignore[no-untyped-def]
    crisis, _, _ = people
    q = care.CrisisQuery(family_name="Smith", birth_date=date(1950, 1, 1))
    found = care.crisis_search(db, crisis.principal, q, WHY)
    assert found.matches == [] and found.summary is None
    assert found.searched == "family name Smith, born 01 Jan 1950"
    [rec] = _audit(db, "CrisisSearch")
    assert rec.person_id is None and rec.detail["matches"] == 0 and rec.reason == WHY


@pytest.mark.parametrize(
    ("query", "reason", "fields"),
    [
        (care.CrisisQuery(family_name="Smith"), WHY, {"birth_date"}),  # a name alone leaks nobody
        (care.CrisisQuery(given_name="Ryan", birth_date=BORN), WHY, {"family_name"}),
        (care.CrisisQuery(), WHY, {"nhs_number"}),
        (care.CrisisQuery(nhs_number="9434765919", family_name="Smith", birth_date=BORN), WHY, {"nhs_number", "name"}),
        (care.CrisisQuery(family_name="Smith", birth_date=date.today() + timedelta(days=2)), WHY, {"birth_date"}),
        (care.CrisisQuery(nhs_number="9434765919"), "  \u200b\u200b ", {"reason"}),
        (care.CrisisQuery(nhs_number="9434765919"), None, {"reason"}),
    ],
)
def test_refused_searches_name_the_field_and_record_nothing(db, people, query, reason, fields) -> None:  # type: ignore[no-untyped-def]
    crisis, _, _ = people
    with pytest.raises(InvalidInput) as bad:
        care.crisis_search(db, crisis.principal, query, reason)
    assert {p.field for p in bad.value.problems} == fields
    assert not _audit(db, "CrisisSearch") and not _audit(db, "CrisisSummary")


def test_only_the_crisis_role_may_look_up(db, people, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North Talking Therapies",))
    with pytest.raises(Forbidden):
        care.crisis_search(db, cc.principal, care.CrisisQuery(identifier="RX40021"), WHY)
    with pytest.raises(Forbidden):
        care.crisis_summary(db, cc.principal, people[1], WHY)


def test_the_api_finds_lists_and_refuses(client, db, people) -> None:  # type: ignore[no-untyped-def]
    crisis, ryan, other = people
    r = client.get(
        "/api/v1/crisis",
        params={"family_name": "smith", "birth_date": "1992-10-03", "reason": WHY},
        headers=crisis.auth,
    )
    # two Smiths born that day (Smith and Smith-Jones): refused, saying how to choose
    assert r.status_code == 409 and "2 people match" in r.json()["detail"]
    r = client.get(
        "/api/v1/crisis/matches",
        params={"family_name": "smith", "birth_date": "1992-10-03", "reason": WHY},
        headers=crisis.auth,
    )
    assert r.status_code == 200
    listed = {m["person_id"]: m for m in r.json()["matches"]}
    assert listed[str(ryan)]["nhs_number"] is None and listed[str(other)]["nhs_number"] == "9434765919"
    r = client.get("/api/v1/crisis", params={"person_id": str(ryan), "reason": WHY}, headers=crisis.auth)
    s = r.json()
    assert r.status_code == 200 and s["nhs_number"] is None and s["risk_level"] == "high"
    assert s["risk_assessed_by"] == "lead.north"
    assert s["care_team"] == [{"team": "North Talking Therapies", "care_coordinator": "Sam Whitfield"}]
    assert [a["title"] for a in s["safety_alerts"]] == ["Safety answer (recent)", "Safety answer (old-open)"]
    r = client.get("/api/v1/crisis", params={"identifier": "RX40021", "reason": WHY}, headers=crisis.auth)
    assert r.status_code == 200 and r.json()["person_id"] == str(ryan)
    # a name alone, or no reason: refused naming the field
    r = client.get("/api/v1/crisis", params={"family_name": "Smith", "reason": WHY}, headers=crisis.auth)
    assert r.status_code == 422 and "birth_date" in r.text
    r = client.get("/api/v1/crisis", params={"nhs_number": "9434765919"}, headers=crisis.auth)
    assert r.status_code == 422 and "reason" in r.text
    r = client.get("/api/v1/crisis", params={"identifier": "nobody", "reason": WHY}, headers=crisis.auth)
    assert r.status_code == 404 and "local identifier nobody" in r.json()["detail"]


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]


def test_the_page_lists_then_opens_with_the_plan_care_team_alerts_and_tap_to_call(client, db, people) -> None:  # type: ignore[no-untyped-def]
    _, ryan, _ = people
    token = login(client, "crisis.team")
    form = {"csrf_token": token, "family_name": "Smith", "birth_date": "1992-10-03", "reason": WHY}
    page = client.post("/crisis", data=form)
    assert page.status_code == 200
    assert "2 people match family name Smith, born 03 Oct 1992" in page.text
    assert "no NHS number" in page.text and "943 476 5919" in page.text
    assert "Community Mental Health Team" in page.text
    assert "Recent overdose" not in page.text  # a list shows nobody's record
    # choosing one opens it, with the reason carried from the search
    page = client.post("/crisis", data={"csrf_token": token, "person_id": str(ryan), "reason": WHY, "chosen_from": 2})
    assert page.status_code == 200
    assert "SMITH, Ryan" in page.text and "NHS number not recorded" in page.text
    assert "Current risk: <strong>high</strong>" in page.text and "Recent overdose" in page.text
    assert '<a href="tel:07700900123">07700 900123</a>' in page.text
    assert '<a href="tel:08001234567">0800 123 4567</a>' in page.text
    assert "care coordinator <strong>Sam Whitfield</strong>" in page.text
    assert "Safety answer (recent)" in page.text and "Safety answer (old-closed)" not in page.text
    assert db.scalar(select(AuditRecord).where(AuditRecord.resource_type == "CrisisSummary")).detail["chosen_from"] == 2
    # someone with no risk assessment: not assessed, never shown as low
    page = client.post("/crisis", data={"csrf_token": token, "nhs_number": "943 476 5919", "reason": WHY})
    assert "Current risk: <strong>not assessed</strong>" in page.text and "not as low" in page.text
    assert "No crisis plan recorded" in page.text


def test_the_page_refuses_without_a_reason_or_with_a_name_alone(client, db, people) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "crisis.team")
    page = client.post("/crisis", data={"csrf_token": token, "family_name": "Smith", "reason": WHY})
    assert page.status_code == 422 and 'id="birth_date-error"' in page.text and "SMITH, Ryan" not in page.text
    page = client.post("/crisis", data={"csrf_token": token, "identifier": "RX40021", "reason": ""})
    assert page.status_code == 422 and 'id="reason-error"' in page.text
    assert 'value="RX40021"' in page.text  # what was typed is kept
    page = client.post("/crisis", data={"csrf_token": token, "identifier": "NOPE-1", "reason": WHY})
    assert page.status_code == 200 and "Nothing matched" in page.text and "local identifier NOPE-1" in page.text
    assert not db.scalars(select(AuditRecord).where(AuditRecord.resource_type == "CrisisSummary")).first()
    # the form is a POST with the CSRF token: a forged post is refused
    assert client.post("/crisis", data={"identifier": "RX40021", "reason": WHY}).status_code == 403


def test_own_plan_numbers_are_tap_to_call(client, db, people, make_staff) -> None:  # type: ignore[no-untyped-def]
    _, ryan, _ = people
    cc = make_staff("ccoord", "care_coordinator", ("North Talking Therapies",))
    _, token = care.create_plan_link(db, cc.principal, ryan, 30)
    db.commit()
    page = client.get(f"/my-plan/{token}")
    assert page.status_code == 200
    assert 'href="tel:999"' in page.text and 'href="tel:111"' in page.text and 'href="tel:116123"' in page.text
    assert '<a href="tel:07700900123">07700 900123</a>' in page.text


@pytest.mark.parametrize("field", ["identifier", "family_name", "given_name", "reason", "nhs_number"])
def test_a_nul_character_is_refused_naming_the_field(client, db, people, field) -> None:  # type: ignore[no-untyped-def]
    crisis, _, _ = people
    params = {"identifier": "RX40021", "reason": WHY}
    if field in ("family_name", "given_name"):
        params = {"family_name": "Smith", "birth_date": "1992-10-03", "reason": WHY}
    if field == "nhs_number":
        params = {"nhs_number": "9434765919", "reason": WHY}
    params[field] = params.get(field, "Ryan") + "\x00"
    r = client.get("/api/v1/crisis/matches", params=params, headers=crisis.auth)
    assert r.status_code == 422 and field in r.text, r.text


def test_an_nhs_number_in_the_address_fills_the_form_but_looks_nobody_up(client, db, people) -> None:  # type: ignore[no-untyped-def]
    login(client, "crisis.team")
    page = client.get("/crisis", params={"nhs_number": "9434765919"})
    assert page.status_code == 200 and 'name="nhs_number" value="9434765919"' in page.text
    assert "crisis-summary" not in page.text and not _audit(db, "CrisisSummary")


def test_the_care_page_shows_the_plans_numbers_tap_to_call(client, db, people) -> None:  # type: ignore[no-untyped-def]
    """Found in review: the care page printed the crisis plan's numbers as text (only the crisis page linked them)."""
    _, ryan, _ = people
    login(client, "lead.north")
    page = client.get(f"/people/{ryan}/care")
    assert page.status_code == 200
    assert '<a href="tel:07700900123">07700 900123</a>' in page.text
