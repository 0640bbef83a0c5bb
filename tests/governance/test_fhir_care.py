"""Appointments and care plans read as FHIR: Appointment (did not attend = noshow) and CarePlan (the crisis
plan marked by its category), each a valid R4 resource in a valid searchset Bundle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan

SOON = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def test_appointments_and_care_plans_as_fhir(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    other = make_staff("other", "clinician", ("South",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=cc.auth
    ).json()["id"]
    a1 = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": SOON.isoformat(), "place": "home", "format": "video", "with_whom": "Joe Brennan"},
        headers=cc.auth,
    ).json()
    a2 = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": (SOON + timedelta(days=7)).isoformat(), "place": "clinic", "format": "in_person"},
        headers=cc.auth,
    ).json()
    client.post(f"/api/v1/appointments/{a2['id']}/attendance", json={"status": "did_not_attend"}, headers=cc.auth)
    client.post(f"/api/v1/people/{pid}/appointment-plan", json={"default_frequency": "fortnightly"}, headers=cc.auth)
    client.put(
        f"/api/v1/people/{pid}/crisis-plan",
        json={
            "expected_version": 0,
            "rationale": "Agreed with Ada",
            "triggers": ["eviction letters"],
            "contacts": ["Crisis line 0800 000 000"],
        },
        headers=cc.auth,
    )
    r = client.get(f"/fhir/R4/Appointment?patient={pid}", headers=cc.auth)
    assert r.status_code == 200, r.text
    bundle = r.json()
    Bundle.model_validate(bundle)
    appts = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    for res in appts.values():
        Appointment.model_validate(res)
    assert appts[a1["id"]]["status"] == "booked" and appts[a2["id"]]["status"] == "noshow"
    assert appts[a1["id"]]["minutesDuration"] == 50 and {"home", "video"} <= {
        c["coding"][0]["code"] for c in appts[a1["id"]]["serviceType"]
    }
    plans = client.get(f"/fhir/R4/CarePlan?patient={pid}", headers=cc.auth).json()
    Bundle.model_validate(plans)
    cats = {e["resource"]["category"][0]["coding"][0]["code"]: e["resource"] for e in plans["entry"]}
    assert set(cats) == {"crisis-plan", "appointment-plan"}
    crisis = cats["crisis-plan"]
    CarePlan.model_validate(crisis)
    assert (
        crisis["status"] == "active"
        and crisis["meta"]["versionId"] == "1"
        and "eviction letters" in crisis["description"]
    )
    only = client.get(f"/fhir/R4/CarePlan?patient={pid}&category=crisis-plan", headers=cc.auth).json()
    assert [e["resource"]["title"] for e in only["entry"]] == ["Crisis plan"]
    # a category no plan has matches nothing (FHIR token search), it is not an error
    diet = client.get(f"/fhir/R4/CarePlan?patient={pid}&category=diet", headers=cc.auth)
    assert diet.status_code == 200 and diet.json()["total"] == 0
    assert client.get(f"/fhir/R4/Appointment?patient={pid}", headers=other.auth).status_code == 403
    meta = client.get("/fhir/R4/metadata").json()
    types = {r["type"] for r in meta["rest"][0]["resource"]}
    assert {"Appointment", "CarePlan"} <= types
