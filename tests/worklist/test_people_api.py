"""GET /api/v1/people: the caseload paged with its total, searched, filtered and sorted by clinical priority; no
default hides a person with an open safety alert."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.alerts import service as alerts
from idiograph.alerts.kinds import Kind
from idiograph.care import service as care
from idiograph.patients.model import CaseloadAssignment, Episode, PersonIdentifier
from idiograph.security.audit import Actor
from idiograph.security.model import AuditRecord

ACTOR = Actor(None, "system:test", "system")


def _person(client, staff, given: str, family: str, born: str | None = None, nhs: str | None = None) -> uuid.UUID:  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"given_name": given, "family_name": family}
    if born:
        body["birth_date"] = born
    if nhs:
        body["nhs_number"] = nhs
    r = client.post("/api/v1/people", json=body, headers=staff.auth)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def _alert(db: Session, pid: uuid.UUID, kind: Kind, title: str, key: str | None = None) -> None:
    alerts.raise_many(db, ACTOR, [alerts.NewAlert(pid, kind, title, "reason", key or f"{pid}{title}", {})])


def _discharge(db: Session, pid: uuid.UUID) -> None:
    db.add(
        Episode(
            person_id=pid,
            referral_date=date(2026, 1, 5),
            referral_source="gp",
            presenting_problem="depression",
            pathway="cbt",
            discharge_date=date(2026, 6, 1),
            discharge_reason="completed",
        )
    )


def test_most_urgent_first_with_reasons_in_words_and_the_total(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    calm = _person(client, clin, "Ann", "Able")
    drift = _person(client, clin, "Ben", "Brook")
    unsafe = _person(client, clin, "Cal", "Zeta")  # last by surname, first by urgency
    risky = _person(client, clin, "Dee", "Young")
    _alert(db, drift, Kind.DEVIATION, "Resting heart rate outside usual range")
    _alert(db, unsafe, Kind.SAFETY, "Safety answer on PHQ-9: review now")
    care.record_risk(db, clin.principal, risky, "high", "Plans disclosed at assessment")
    db.commit()
    body = client.get("/api/v1/people", headers=clin.auth).json()
    assert body["total"] == 4 and len(body["items"]) == 4
    order = [uuid.UUID(i["id"]) for i in body["items"]]
    assert order[:2] == [unsafe, risky] and order[2] == drift and order[3] == calm
    first = body["items"][0]
    assert first["priority"] == 1 and first["reasons"] == ["Safety answer on PHQ-9: review now"]
    assert first["open_alerts"] == {"safety": 1}
    assert body["items"][1]["reasons"] == ["Current risk assessed as high"]
    assert body["items"][3]["priority"] == 9 and body["items"][3]["reasons"] == []
    # today's fields are kept
    assert {"given_name", "family_name", "birth_date", "age_band", "nhs_number", "team", "open_episode"} <= set(first)
    by_name = client.get("/api/v1/people?sort=name", headers=clin.auth).json()["items"]
    assert [i["family_name"] for i in by_name] == ["Able", "Brook", "Young", "Zeta"]


def test_paging_keeps_the_total_and_never_repeats_or_skips(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    made = {_person(client, clin, f"P{n:02d}", f"Family{n:02d}") for n in range(7)}
    seen: list[str] = []
    for offset in (0, 3, 6):
        body = client.get(f"/api/v1/people?limit=3&offset={offset}&sort=name", headers=clin.auth).json()
        assert body["total"] == 7
        seen += [i["id"] for i in body["items"]]
    assert len(seen) == 7 and {uuid.UUID(s) for s in seen} == made
    assert client.get("/api/v1/people?limit=0", headers=clin.auth).status_code == 422
    assert client.get("/api/v1/people?offset=-1", headers=clin.auth).status_code == 422


def test_search_by_name_date_of_birth_nhs_number_and_local_identifier(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    siobhan = _person(client, clin, "Siobhán", "O'Brien-Núñez", "1980-03-12", "9434765919")
    twin = _person(client, clin, "Sean", "O'Brien-Núñez", "1982-07-01")
    db.add(PersonIdentifier(person_id=twin, system="urn:trust:rio", value="RIO123456"))
    db.commit()

    def found(q: str) -> set[uuid.UUID]:
        r = client.get("/api/v1/people", params={"q": q, "status": "all"}, headers=clin.auth)
        assert r.status_code == 200, r.text
        return {uuid.UUID(i["id"]) for i in r.json()["items"]}

    assert found("obrien nunez") == {siobhan, twin}
    assert found("O'Brien 12/03/1980") == {siobhan}
    assert found("siobhan 12 Mar 1980") == {siobhan}
    assert found("1980-03-12") == {siobhan}
    assert found("943 476 5919") == {siobhan}
    assert found("RIO123456") == {twin}
    assert found("O'Brien 13/03/1980") == set()


def test_a_person_on_another_team_is_never_listed_or_found(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    north = make_staff("north", "clinician", ("North",))
    south = make_staff("south", "clinician", ("South",))
    _person(client, north, "Ada", "Lovelace", "1955-12-10")
    body = client.get("/api/v1/people", params={"q": "Lovelace", "status": "all"}, headers=south.auth).json()
    assert body == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_the_default_hides_discharged_people_but_never_one_with_an_open_safety_alert(
    client, db: Session, make_staff
) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    gone = _person(client, clin, "Gone", "Away")
    unsafe = _person(client, clin, "Back", "Again")
    current = _person(client, clin, "Still", "Here")
    for pid in (gone, unsafe):
        _discharge(db, pid)
    _alert(db, unsafe, Kind.SAFETY, "Safety answer on PHQ-9: review now")
    db.commit()
    listed = {uuid.UUID(i["id"]) for i in client.get("/api/v1/people", headers=clin.auth).json()["items"]}
    assert listed == {unsafe, current}
    discharged = client.get("/api/v1/people?status=discharged", headers=clin.auth).json()["items"]
    assert {uuid.UUID(i["id"]) for i in discharged} == {gone, unsafe} and all(i["discharged"] for i in discharged)
    assert client.get("/api/v1/people?status=all", headers=clin.auth).json()["total"] == 3


def test_filters_alert_kind_mine_and_attention(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    a = _person(client, clin, "Ann", "Able")
    b = _person(client, clin, "Ben", "Brook")
    _person(client, clin, "Cat", "Calm")
    _alert(db, a, Kind.NOT_ON_TRACK, "Not on track on PHQ-9")
    _alert(db, b, Kind.DEVIATION, "Sleep outside usual range")
    lead = db.scalar(select(CaseloadAssignment).where(CaseloadAssignment.person_id == b))
    lead.lead_user_id = clin.principal.user_id
    db.commit()

    def ids(params: str) -> list[uuid.UUID]:
        return [uuid.UUID(i["id"]) for i in client.get(f"/api/v1/people?{params}", headers=clin.auth).json()["items"]]

    assert ids("alert=not-on-track") == [a]
    assert ids("mine=true") == [b]
    assert ids("attention=true") == [a, b]
    assert client.get("/api/v1/people?alert=nonsense", headers=clin.auth).status_code == 422
    c = _person(client, clin, "Dee", "Dale")  # someone else's (nobody's) with a safety answer
    _alert(db, c, Kind.SAFETY, "Safety answer on PHQ-9")
    db.commit()
    assert ids("mine=true") == [b]  # the caseload's own filter: the page warns of safety reasons outside it
    assert ids("mine=true&attention=true") == [c, b]  # Today's own list never hides a safety reason (H-056)


def test_a_repeat_alert_group_counts_once(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin, "Ann", "Able")
    for n in range(3):
        alerts.raise_many(
            db, ACTOR, [alerts.NewAlert(pid, Kind.SAFETY, f"answer {n}", "r", f"src{n}", {}, f"safety|{pid}|phq-9")]
        )
    db.commit()
    item = client.get("/api/v1/people", headers=clin.auth).json()["items"][0]
    assert item["open_alerts"] == {"safety": 1}


def test_the_list_is_audited_once_with_the_people_shown(client, db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin, "Ann", "Able")
    before = db.scalar(select(func.max(AuditRecord.seq)))
    client.get("/api/v1/people", headers=clin.auth)
    rows = db.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert len(rows) == 1 and rows[0].actor == "clin"  # the page's one record, with what it showed
    listed = [s for s in rows[0].detail["showed"] if s["type"] == "Caseload"]
    assert listed == [{"action": "list", "type": "Caseload", "people": [str(pid)], "total": 1}]


def test_roles_without_patient_access_are_refused(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    com = make_staff("com", "commissioner")
    assert client.get("/api/v1/people", headers=com.auth).status_code == 403
