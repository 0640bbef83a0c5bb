"""The audit page: paged, filtered by person, user, action and date, in names (H-071); reading it is audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from idiograph.security.model import AuditRecord
from tests.web.test_pages import login


def _people(client, clin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids = {}
    for given, family, nhs in (("Ada", "Lovelace", "9434765919"), ("Grace", "Hopper", None)):
        body = {"given_name": given, "family_name": family, **({"nhs_number": nhs} if nhs else {})}
        r = client.post("/api/v1/people", json=body, headers=clin.auth)
        assert r.status_code == 201, r.text
        ids[given] = r.json()["id"]
        client.get(f"/api/v1/people/{ids[given]}", headers=clin.auth)
    return ids


def test_the_audit_page_filters_by_person_in_names_and_is_itself_audited(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("root", "admin")
    ids = _people(client, clin)
    login(client, "root")
    page = client.get("/audit?person=lovelace")
    assert page.status_code == 200, page.text
    assert "Records about <strong>LOVELACE, Ada</strong>" in page.text
    table = page.text.split('id="audit-records"')[1]
    assert "LOVELACE, Ada" in table and "HOPPER" not in table
    assert ids["Ada"][:8] not in re.sub(r"<[^>]+>", "", table)  # names on screen, never (truncated) ids
    # by NHS number as people type it, and the name links to every record about her
    by_nhs = client.get("/audit?person=943+476+5919")
    assert "Records about <strong>LOVELACE, Ada</strong>" in by_nhs.text
    assert f'href="/audit?person_id={ids["Ada"]}"' in by_nhs.text
    # who did it: display name and role, the action in words
    assert "Created" in table and "clinician" in table
    # reading the trail is a read of patient data: recorded, with the filter used
    db.expire_all()
    last = db.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
    assert (last.actor, last.action, last.resource_type) == ("root", "search", "AuditTrail")
    assert last.detail["filter"]["people"] == [ids["Ada"]] and str(last.person_id) == ids["Ada"]
    nobody = client.get("/audit?person=Nobody+Atall")
    assert "No one matches" in nobody.text and 'id="audit-records"' not in nobody.text


def test_the_audit_page_filters_by_user_action_and_date_and_pages(client, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from idiograph.web.pages import audit as page_module

    clin = make_staff("clin", "clinician", ("North",))
    make_staff("root", "admin")
    _people(client, clin)
    login(client, "root")
    mine = client.get("/audit?user=clin&action=create")
    rows = mine.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2 and "root" not in rows
    today = client.get("/audit?date_from=01/01/2020&date_to=31/12/2099&user=clin")
    assert today.status_code == 200 and "Created" in today.text
    none = client.get("/audit?date_to=01/01/2020")
    assert "No records match" in none.text
    monkeypatch.setattr(page_module, "PAGE", 2)
    first = client.get("/audit?user=clin")
    m = re.search(r"Showing 1 to 2 of (\d+)", first.text)
    assert m and int(m.group(1)) > 2
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt and "user=clin" in nxt.group(1)
    second = client.get(nxt.group(1).replace("&amp;", "&"))
    assert "Showing 3 to 4 of" in second.text


def test_a_bad_date_on_the_audit_page_is_named_not_a_500(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("root", "admin")
    login(client, "root")
    r = client.get("/audit?date_from=2026-13-40&date_to=yesterday")
    assert r.status_code == 422
    assert "From date: &#39;2026-13-40&#39; is not a date" in r.text and "To date:" in r.text
    assert 'aria-invalid="true"' in r.text
    backwards = client.get("/audit?date_from=02/03/2026&date_to=01/03/2026")
    assert backwards.status_code == 422 and "must be on or after the from date" in backwards.text


def test_only_audit_readers_open_the_audit_page(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("clin", "clinician", ("North",))
    login(client, "clin")
    assert client.get("/audit").status_code == 403


def test_the_audit_api_filters_and_pages_with_a_total(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    admin = make_staff("root", "admin")
    ids = _people(client, clin)
    r = client.get(f"/api/v1/audit?person_id={ids['Ada']}&user=clin&limit=1", headers=admin.auth)
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) >= 2 and len(r.json()) == 1
    assert {x["person_id"] for x in r.json()} == {ids["Ada"]} and r.json()[0]["actor"] == "clin"
    created = client.get("/api/v1/audit?action=create&user=clin", headers=admin.auth).json()
    assert {x["resource_type"] for x in created} == {"Person"} and len(created) == 2
    later = client.get("/api/v1/audit?since=2099-01-01T00:00:00Z", headers=admin.auth)
    assert later.json() == [] and later.headers["X-Total-Count"] == "0"
    naive = client.get("/api/v1/audit?since=2026-03-01T09:00:00", headers=admin.auth)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "since"
    bad = client.get("/api/v1/audit?since=2026-13-40", headers=admin.auth)
    assert bad.status_code == 422 and "since" in bad.text


def test_a_records_detail_is_summarised_in_names_never_ids() -> None:
    import uuid

    from idiograph.patients.lookup import Named
    from idiograph.web.pages.audit import _summary

    ada, other = uuid.uuid4(), uuid.uuid4()
    people = {ada: Named(ada, "LOVELACE, Ada", None, None)}
    detail = {
        "filter": {"people": [str(ada)], "action": "read"},
        "showed": [{"type": "Caseload", "total": 9, "people": [str(other)] * 9}, {"type": "Review", "count": 2}],
        "people": [str(other), str(ada)],
        "episode": str(other),
        "via": "web",
    }
    text = _summary(detail, people, {})
    assert "LOVELACE, Ada" in text and "caseload (9)" in text and "review (2)" in text and "via: web" in text
    assert str(other)[:8] not in text and str(ada)[:8] not in text


def test_the_first_page_checks_the_whole_chain_and_says_when_it_was_changed(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    clin = make_staff("clin", "clinician", ("North",))
    make_staff("root", "admin")
    _people(client, clin)
    login(client, "root")
    assert "no record has been changed" in client.get("/audit").text
    filtered = client.get("/audit?user=clin")
    assert "checked for changes on its" in filtered.text and "tampered" not in filtered.text
    db.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(reason="edited afterwards"))
    db.commit()
    page = client.get("/audit")
    assert "The audit trail has been tampered with" in page.text and "record 2" in page.text
