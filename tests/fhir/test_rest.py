"""FHIR RESTful reads and searches as the specification has them: paging by links, search parameters, 404/400/406,
reads by id for every type held, ``$everything`` complete and paged. Every answer validates with fhir.resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from idiograph.instruments.definitions import instruments

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
HB = "718-7"  # haemoglobin (a lab in the catalogue)


def valid(bundle: dict[str, Any]) -> dict[str, Any]:
    Bundle.model_validate(bundle)
    for e in bundle.get("entry", []):
        get_fhir_model_class(e["resource"]["resourceType"]).model_validate(e["resource"])
    return bundle


def get(client, url: str, auth: dict[str, str], **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    path = urlsplit(url).path if url.startswith("http") else url
    query = dict(parse_qsl(urlsplit(url).query)) if url.startswith("http") else {}
    r = client.get(path, params={**query, **params}, headers=auth)
    assert r.status_code == 200, r.text
    return valid(r.json())


def link(bundle: dict[str, Any], rel: str) -> str | None:
    return next((x["url"] for x in bundle.get("link", []) if x["relation"] == rel), None)


@pytest.fixture
def person(client, make_staff):  # type: ignore[no-untyped-def]
    """A person with 23 haemoglobin results (three sharing one time), two PHQ-9s (one answering the safety item),
    a high-risk assessment, an appointment, a crisis plan and an appointment plan."""
    clin = make_staff("clin", "clinician", ("North",))
    other = make_staff("other", "clinician", ("South",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "Brook", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    rows = []
    for i in range(23):
        when = T0 + timedelta(days=min(i, 20))  # results 20, 21 and 22 share a time: ties are broken by id
        rows.append({"person_id": pid, "code": HB, "value": 120 + i, "time": when.isoformat(), "source_id": f"hb{i}"})
    r = client.post("/api/v1/observations", json={"observations": rows}, headers=clin.auth)
    assert r.status_code == 200, r.text
    phq = instruments()["phq-9"]
    for k, ninth in enumerate((0, 2)):
        answers = {it.code: 1 for it in phq.items}
        answers[phq.items[-1].code] = ninth
        authored = (T0 + timedelta(days=30 + k)).isoformat()
        r = client.post(
            f"/api/v1/people/{pid}/responses",
            json={"instrument": "phq-9", "answers": answers, "authored": authored},
            headers=clin.auth,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/people/{pid}/risk-assessments",
        json={"level": "high", "summary": "Recent plan to end life; lives alone"},
        headers=clin.auth,
    )
    assert r.status_code == 201, r.text
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": soon.isoformat(), "place": "clinic", "format": "in_person"},
        headers=clin.auth,
    )
    client.post(f"/api/v1/people/{pid}/appointment-plan", json={"default_frequency": "weekly"}, headers=clin.auth)
    r = client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={"expected_version": 0, "rationale": "Agreed", "triggers": ["anniversaries"], "contacts": ["GP"]},
        headers=clin.auth,
    )
    assert r.status_code == 200, r.text
    return pid, clin, other


def test_paging_follows_links_forward_and_back_and_never_loses_or_repeats_a_row(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    first = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=f"http://loinc.org|{HB}", _count=5)
    assert first["total"] == 23 and len(first["entry"]) == 5 and link(first, "previous") is None
    pages, page = [first], first
    while link(page, "next"):
        page = get(client, link(page, "next"), clin.auth)  # type: ignore[arg-type]
        pages.append(page)
    values = [e["resource"]["valueQuantity"]["value"] for p in pages for e in p["entry"]]
    assert len(pages) == 5 and len(values) == 23
    times = [e["resource"]["effectiveDateTime"] for p in pages for e in p["entry"]]
    assert times == sorted(times)
    assert sorted(values) == [120.0 + i for i in range(23)]  # every result once, none twice
    # back from the last page gives the page before it, exactly
    back = get(client, link(pages[-1], "previous"), clin.auth)  # type: ignore[arg-type]
    assert [e["fullUrl"] for e in back["entry"]] == [e["fullUrl"] for e in pages[-2]["entry"]]
    # newest first
    newest = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, _sort="-date", _count=30)
    assert [e["resource"]["valueQuantity"]["value"] for e in newest["entry"]][:1] in ([142.0], [141.0], [140.0])
    newest_times = [e["resource"]["effectiveDateTime"] for e in newest["entry"]]
    assert newest_times == sorted(newest_times, reverse=True)


def test_self_link_says_what_was_applied_and_strict_handling_refuses_the_rest(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    lenient = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, colour="blue", _count=3)
    self_q = dict(parse_qsl(urlsplit(link(lenient, "self") or "").query))
    assert self_q == {"patient": pid, "code": HB, "_count": "3"}
    outcomes = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1 and "colour" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    strict = client.get(
        "/fhir/R4/Observation",
        params={"patient": pid, "colour": "blue"},
        headers={**clin.auth, "Prefer": "handling=strict"},
    )
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"
    assert "colour" in strict.text


def test_date_prefixes_subject_and_category(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    # results on days 0..20 from 6 January 2025; ge the 16th: days 10..20 (11 days, the 20th holds three)
    later = get(client, "/fhir/R4/Observation", clin.auth, subject=f"Patient/{pid}", code=HB, date="ge2025-01-16")
    assert later["total"] == 13
    before = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, date="lt2025-01-16")
    assert before["total"] == 10
    both = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, date=["ge2025-01-08", "le2025-01-09"])
    assert both["total"] == 2
    month = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, date="2025-01")
    assert month["total"] == 23
    labs = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, category="laboratory", _count=1)
    assert labs["total"] == 23
    cat = labs["entry"][0]["resource"]["category"][0]["coding"][0]
    assert (cat["system"], cat["code"]) == ("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")
    surveys = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, category="survey")
    assert surveys["total"] == 20  # two PHQ-9s: nine items and a total each
    assert all(
        e["resource"]["derivedFrom"][0]["reference"].startswith("QuestionnaireResponse/") for e in surveys["entry"]
    )
    bad = client.get("/fhir/R4/Observation", params={"patient": pid, "date": "ge2025-13-01"}, headers=clin.auth)
    assert bad.status_code == 400 and "date" in bad.text


def test_searches_without_a_patient_cover_only_records_the_caller_may_open(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, other = person
    mine = get(client, "/fhir/R4/Patient", clin.auth)
    assert [e["resource"]["id"] for e in mine["entry"]] == [pid]
    assert get(client, "/fhir/R4/Patient", other.auth)["total"] == 0
    assert get(client, "/fhir/R4/Patient", clin.auth, name="bro")["total"] == 1  # starts-with, any case
    assert get(client, "/fhir/R4/Patient", clin.auth, **{"name:exact": "Bro"})["total"] == 0
    assert get(client, "/fhir/R4/Patient", clin.auth, family="Brook", given="Ada", gender="female")["total"] == 1
    assert get(client, "/fhir/R4/Patient", clin.auth, gender="male")["total"] == 0
    assert get(client, "/fhir/R4/Observation", other.auth, code=HB)["total"] == 0
    assert get(client, "/fhir/R4/Observation", clin.auth, code=HB, _count=1)["total"] == 23
    named = client.get("/fhir/R4/Observation", params={"patient": pid}, headers=other.auth)
    assert named.status_code == 403
    # an id this server never made matches nothing; it is not an error
    assert get(client, "/fhir/R4/Observation", clin.auth, patient="not-a-uuid")["total"] == 0


def test_flags_include_safety_answers_and_high_risk_coded(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    flags = get(client, "/fhir/R4/Flag", clin.auth, patient=pid, status="active")
    codes = {c["code"] for e in flags["entry"] for c in e["resource"]["code"]["coding"]}
    assert {"safety", "high-risk"} <= codes
    safety = get(client, "/fhir/R4/Flag", clin.auth, patient=pid, category="safety")
    assert {e["resource"]["code"]["coding"][0]["code"] for e in safety["entry"]} == {"safety", "high-risk"}
    # a later, lower assessment leaves the high-risk flag inactive
    client.post(
        f"/api/v1/people/{pid}/risk-assessments",
        json={"level": "medium", "summary": "Plan withdrawn; sister staying"},
        headers=clin.auth,
    )
    now = get(client, "/fhir/R4/Flag", clin.auth, patient=pid, code="high-risk")
    assert [e["resource"]["status"] for e in now["entry"]] == ["inactive"]
    risks = get(client, "/fhir/R4/RiskAssessment", clin.auth, patient=pid, _sort="-date")
    levels = [e["resource"]["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] for e in risks["entry"]]
    assert levels == ["moderate", "high"]


@pytest.mark.parametrize(
    "rt", ["Observation", "QuestionnaireResponse", "Flag", "RiskAssessment", "Appointment", "CarePlan", "Patient"]
)
def test_read_by_id_for_every_type_held(client, person, rt: str) -> None:  # type: ignore[no-untyped-def]
    pid, clin, other = person
    found = (
        get(client, f"/fhir/R4/{rt}", clin.auth, patient=pid)
        if rt != "Patient"
        else get(client, "/fhir/R4/Patient", clin.auth, _id=pid)
    )
    assert found["entry"], rt
    for e in found["entry"]:
        rid = e["resource"]["id"]
        r = client.get(f"/fhir/R4/{rt}/{rid}", headers=clin.auth)
        assert r.status_code == 200, r.text
        assert r.json() == e["resource"]
        assert e["fullUrl"].endswith(f"/fhir/R4/{rt}/{rid}")
        assert client.get(f"/fhir/R4/{rt}/{rid}", headers=other.auth).status_code == 403
    for missing in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        r = client.get(f"/fhir/R4/{rt}/{missing}", headers=clin.auth)
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_formats_other_than_json_get_406(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    xml = client.get(f"/fhir/R4/Patient/{pid}", headers={**clin.auth, "Accept": "application/fhir+xml"})
    assert xml.status_code == 406 and xml.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/R4/Patient/{pid}", params={"_format": "xml"}, headers=clin.auth).status_code == 406
    for accept in ("application/fhir+json", "application/json", "*/*", "application/fhir+xml;q=0.9, */*;q=0.1"):
        assert client.get(f"/fhir/R4/Patient/{pid}", headers={**clin.auth, "Accept": accept}).status_code == 200
    assert client.get("/fhir/R4/metadata", headers={"Accept": "application/fhir+xml"}).status_code == 406


def test_bad_cursor_and_count_are_400(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    only_total = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=HB, _count=0)
    assert only_total["total"] == 23 and only_total["entry"] == [] and link(only_total, "next") is None
    for params in ({"_cursor": "not-ours"}, {"_count": "many"}, {"_count": "-1"}, {"_sort": "value"}):
        r = client.get("/fhir/R4/Observation", params={"patient": pid, **params}, headers=clin.auth)
        assert r.status_code == 400, (params, r.text)
        assert "nothing was stored" not in r.text


def test_everything_is_a_complete_paged_searchset(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    first = get(client, f"/fhir/R4/Patient/{pid}/$everything", clin.auth, _count=7)
    assert first["type"] == "searchset"
    resources, page = [], first
    while True:
        resources += [e["resource"] for e in page["entry"]]
        nxt = link(page, "next")
        if not nxt:
            break
        page = get(client, nxt, clin.auth)
    by_type: dict[str, int] = {}
    for r in resources:
        by_type[r["resourceType"]] = by_type.get(r["resourceType"], 0) + 1
    assert first["total"] == len(resources) == len({(r["resourceType"], r["id"]) for r in resources})
    assert by_type == {
        "Patient": 1,
        "Observation": 23 + 20,
        "QuestionnaireResponse": 2,
        "Flag": 2,  # the safety answer and the high risk
        "RiskAssessment": 1,
        "Appointment": 1,
        "CarePlan": 2,  # the crisis plan and the appointment plan
    }
    assert resources[0]["resourceType"] == "Patient"
    only = get(client, f"/fhir/R4/Patient/{pid}/$everything", clin.auth, _type="Flag,CarePlan")
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Flag", "CarePlan"}
    assert client.get("/fhir/R4/Patient/not-a-uuid/$everything", headers=clin.auth).status_code == 404


def test_a_low_risk_assessment_is_no_flag_by_search_or_by_read(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    r = client.post(
        f"/api/v1/people/{pid}/risk-assessments", json={"level": "low", "summary": "Settled"}, headers=clin.auth
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert client.get(f"/fhir/R4/RiskAssessment/{rid}", headers=clin.auth).status_code == 200
    assert client.get(f"/fhir/R4/Flag/{rid}", headers=clin.auth).status_code == 404
    assert get(client, "/fhir/R4/Flag", clin.auth, _id=rid)["total"] == 0


@pytest.mark.parametrize("rt", ["Flag", "CarePlan"])
@pytest.mark.parametrize("sort", ["_id", "date", "-date"])
def test_types_from_two_tables_page_forward_and_back_in_every_order(client, person, rt: str, sort: str) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    page = get(client, f"/fhir/R4/{rt}", clin.auth, patient=pid, _sort=sort, _count=1)
    pages = [page]
    while link(page, "next"):
        page = get(client, link(page, "next"), clin.auth)  # type: ignore[arg-type]
        pages.append(page)
    seen = [e["fullUrl"] for p in pages for e in p["entry"]]
    assert len(seen) == len(set(seen)) == pages[0]["total"] == 2
    back = get(client, link(pages[-1], "previous"), clin.auth)  # type: ignore[arg-type]
    assert [e["fullUrl"] for e in back["entry"]] == [e["fullUrl"] for e in pages[-2]["entry"]]


def test_the_appointment_plan_is_found_by_its_id(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    found = get(client, "/fhir/R4/CarePlan", clin.auth, _id=f"appointments-{pid}")
    assert [e["resource"]["id"] for e in found["entry"]] == [f"appointments-{pid}"]


def test_prefer_preferences_are_comma_separated(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    for prefer, status in (
        ("return=representation, handling=strict", 400),
        ("handling=strict", 400),
        ("handling=lenient, return=minimal", 200),
    ):
        r = client.get(
            "/fhir/R4/Observation", params={"patient": pid, "colour": "blue"}, headers={**clin.auth, "Prefer": prefer}
        )
        assert r.status_code == status, (prefer, r.text)


def test_everything_with_count_zero_dates_and_unknown_parameters(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    url = f"/fhir/R4/Patient/{pid}/$everything"
    only_total = get(client, url, clin.auth, _count=0)
    assert only_total["total"] == 52 and not only_total.get("entry") and link(only_total, "next") is None
    # start/end keep what is dated in the range (the haemoglobin results of days 5 to 9) and the Patient
    start, end = (T0 + timedelta(days=5)).date().isoformat(), (T0 + timedelta(days=9)).date().isoformat()
    ranged = get(client, url, clin.auth, start=start, end=end, _type="Patient,Observation")
    kinds = [e["resource"]["resourceType"] for e in ranged["entry"]]
    assert kinds == ["Patient"] + ["Observation"] * 5 and ranged["total"] == 6
    lenient = get(client, url, clin.auth, _since="2020-01-01", _count=1)
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcome) == 1 and "_since" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = client.get(url, params={"_since": "2020-01-01"}, headers={**clin.auth, "Prefer": "handling=strict"})
    assert strict.status_code == 400 and "_since" in strict.text


def test_a_result_kept_in_its_unconverted_unit_is_found_by_its_code(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "14334-7"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2025-02-01T08:30:00+00:00",
        "valueQuantity": {"value": 0.42, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
    }
    r = client.post("/fhir/R4/Observation", json=obs, headers={**clin.auth, "Content-Type": "application/fhir+json"})
    assert r.status_code == 201, r.text
    for code in ("http://loinc.org|14334-7", "14334-7"):
        found = get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code=code)
        assert [e["resource"]["valueQuantity"]["unit"] for e in found["entry"]] == ["mg/dL"], code
    assert (
        get(client, "/fhir/R4/Observation", clin.auth, patient=pid, code="http://snomed.info/sct|14334-7")["total"] == 0
    )


def test_post_search_and_capability_statement_agree(client, person) -> None:  # type: ignore[no-untyped-def]
    pid, clin, _ = person
    r = client.post("/fhir/R4/Observation/_search", data={"patient": pid, "code": HB, "_count": "2"}, headers=clin.auth)
    assert r.status_code == 200 and valid(r.json())["total"] == 23
    cap = client.get("/fhir/R4/metadata").json()
    get_fhir_model_class("CapabilityStatement").model_validate(cap)
    obs = next(x for x in cap["rest"][0]["resource"] if x["type"] == "Observation")
    assert {"patient", "subject", "code", "date", "status", "category", "_id", "_lastUpdated"} <= {
        p["name"] for p in obs["searchParam"]
    }
    # the KPI report's route is declared too (issue 19), with the parameters the route reads
    mr = next(x for x in cap["rest"][0]["resource"] if x["type"] == "MeasureReport")
    assert {p["name"] for p in mr["searchParam"]} == {"period-start", "period-end"}
