"""A published FHIR client library (fhirpy) against a running server: read, search with paging, count, $everything
and type-level create. Every answer it receives is also validated strictly with fhir.resources R4B."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import fhirpy
import pytest
import requests
import uvicorn
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from idiograph.app import create_app
from idiograph.config import Settings
from idiograph.db import Database, make_engine
from idiograph.migrate import upgrade
from idiograph.observations.model import Observation
from idiograph.patients.model import CaseloadAssignment
from idiograph.security.model import Team
from idiograph.synth import params as synth_params
from idiograph.synth.load import DEMO_PASSWORD, load_demo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Database]]:
    """A server on a real port over a 12-person demo service; the clinician's bearer token."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fhir-client') / 'c.db'}"
    engine = make_engine(url)
    upgrade(engine)
    port = _free_port()
    settings = Settings(
        database_url=url,
        secret_key="client-test-secret",
        audit_key="client-test-audit-key-0123456789abcdef",
        audit_head_file=Path(tmp_path_factory.mktemp("heads")) / "heads.log",
        public_base_url=f"http://127.0.0.1:{port}",
    )
    database = Database(engine, audit_key=settings.audit_key)
    with database.session() as s:
        load_demo(s, 12, 5, synth_params.load(), date.today())
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    token = requests.post(
        f"{base}/api/v1/auth/token", timeout=30, data={"username": "clin.north", "password": DEMO_PASSWORD}
    )
    assert token.status_code == 200, token.text
    yield base, token.json()["access_token"], database
    srv.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def client(live):  # type: ignore[no-untyped-def]
    base, token, _ = live
    return fhirpy.SyncFHIRClient(f"{base}/fhir/R4", authorization=f"Bearer {token}")


def _raw(live, path: str, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    base, token, _ = live
    r = requests.get(f"{base}/fhir/R4/{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    Bundle.model_validate(body) if body["resourceType"] == "Bundle" else get_fhir_model_class(
        body["resourceType"]
    ).model_validate(body)
    for e in body.get("entry", []):
        get_fhir_model_class(e["resource"]["resourceType"]).model_validate(e["resource"])
    return body


def _busiest_person(live) -> str:  # type: ignore[no-untyped-def]
    """The North person with the most observations (the clinician's team)."""
    _, _, database = live
    from sqlalchemy import func

    with database.reader() as s:
        north = (
            select(CaseloadAssignment.person_id)
            .join(Team, Team.id == CaseloadAssignment.team_id)
            .where(Team.name == "North Talking Therapies")
        )
        row = s.execute(
            select(Observation.person_id, func.count())
            .where(Observation.person_id.in_(north))
            .group_by(Observation.person_id)
            .order_by(func.count().desc())
        ).first()
    assert row is not None
    return str(row[0])


def test_the_client_pages_through_a_search_and_counts_it(client, live) -> None:  # type: ignore[no-untyped-def]
    pid = _busiest_person(live)
    search = client.resources("Observation").search(patient=pid).limit(7)
    everything = search.fetch_all()  # follows the next links
    assert len(everything) == search.count() > 7
    assert len({o.id for o in everything}) == len(everything)  # no row twice across pages
    first_page = search.fetch()
    assert len(first_page) == 7
    raw = _raw(live, "Observation", patient=pid, _count=7)
    assert raw["total"] == len(everything) and any(x["relation"] == "next" for x in raw["link"])


def test_the_client_reads_and_searches_by_standard_parameters(client, live) -> None:  # type: ignore[no-untyped-def]
    pid = _busiest_person(live)
    patient = client.reference("Patient", pid).to_resource()
    assert patient.id == pid and patient["resourceType"] == "Patient"
    assert client.resources("Patient").search(_id=pid).get().id == pid
    dated = client.resources("Observation").search(subject=f"Patient/{pid}", date__ge="2000-01-01").fetch_all()
    assert len(dated) == client.resources("Observation").search(patient=pid).count()
    flags = client.resources("Flag").search(patient=pid).fetch_all()
    for f in flags:
        get_fhir_model_class("Flag").model_validate(f.serialize())
        assert f["code"]["coding"][0]["system"].endswith("/CodeSystem/alert-kind")


def test_everything_through_the_client_is_complete(client, live) -> None:  # type: ignore[no-untyped-def]
    pid = _busiest_person(live)
    bundle = client.execute(f"Patient/{pid}/$everything", method="get", params={"_count": 25})
    Bundle.model_validate(bundle)
    got: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"]]
    nxt = next((x["url"] for x in bundle["link"] if x["relation"] == "next"), None)
    while nxt:
        page = requests.get(nxt, headers={"Authorization": client.authorization}, timeout=30).json()
        Bundle.model_validate(page)
        got += [e["resource"] for e in page["entry"]]
        nxt = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert len(got) == bundle["total"]
    n_obs = client.resources("Observation").search(patient=pid).count()
    assert sum(r["resourceType"] == "Observation" for r in got) == n_obs
    n_appts = client.resources("Appointment").search(patient=pid).count()
    assert sum(r["resourceType"] == "Appointment" for r in got) == n_appts


def _answers_from_the_questionnaire(client, scores: list[int]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Items answered as an app would: the options read from the server's own Questionnaire."""
    q = client.resources("Questionnaire").search(url="http://loinc.org/q/44249-1").get()
    items = [i for i in q["item"] if i["type"] == "choice"]
    out = []
    for item, score in zip(items, scores, strict=True):
        option = next(o for o in item["answerOption"] if o["extension"][0]["valueDecimal"] == score)
        out.append({"linkId": item["linkId"], "answer": [{"valueCoding": option["valueCoding"]}]})
    return out


def _a_day_without_a_phq9(live, pid: str) -> date:  # type: ignore[no-untyped-def]
    """The latest past day on which the demo has no PHQ-9 total for this person (the demo ends today, so any
    fixed day may already hold one)."""
    _, _, database = live
    with database.reader() as s:
        times = s.scalars(
            select(Observation.effective_at).where(
                Observation.person_id == uuid.UUID(pid), Observation.code == "44261-6"
            )
        ).all()
    taken = {t.date() for t in times}
    day = date.today() - timedelta(days=1)
    while day in taken:
        day -= timedelta(days=1)
    return day


def test_a_patient_app_creates_a_questionnaire_response_and_the_safety_rule_runs(client, live) -> None:  # type: ignore[no-untyped-def]
    pid = _busiest_person(live)
    day = _a_day_without_a_phq9(live, pid)
    before = client.resources("QuestionnaireResponse").search(patient=pid).count()
    flags_before = client.resources("Flag").search(patient=pid, code="safety").count()
    qr = client.resource(
        "QuestionnaireResponse",
        identifier={"system": "https://app.example/responses", "value": "r-1"},
        questionnaire="http://loinc.org/q/44249-1",
        status="completed",
        subject={"reference": f"Patient/{pid}"},
        authored=f"{day.isoformat()}T08:00:00Z",
        item=_answers_from_the_questionnaire(client, [2, 2, 1, 1, 2, 1, 1, 0, 2]),
    )
    qr.save()  # POST [base]/QuestionnaireResponse; the client takes the stored resource from the answer
    assert qr.id and client.resources("QuestionnaireResponse").search(patient=pid).count() == before + 1
    total = client.resources("Observation").search(patient=pid, code="44261-6", date=day.isoformat()).fetch()
    assert [o["valueQuantity"]["value"] for o in total] == [12.0]
    assert client.resources("Flag").search(patient=pid, code="safety").count() == flags_before + 1  # stacked
    # the same response sent again (same identifier) is not stored twice
    again = client.resource("QuestionnaireResponse", **{k: v for k, v in qr.serialize().items() if k != "id"})
    again.save()
    assert again.id == qr.id
    assert client.resources("QuestionnaireResponse").search(patient=pid).count() == before + 1


def test_conditional_create_of_an_observation(live) -> None:  # type: ignore[no-untyped-def]
    base, token, _ = live
    pid = _busiest_person(live)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"{base}/fhir/R4/Patient/{pid}"},
        "effectiveDateTime": "2026-11-29T07:00:00Z",
        "valueQuantity": {"value": 64, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }
    cond = {**auth, "If-None-Exist": "identifier=https://watch.example|hr-77"}
    body = {**obs, "identifier": [{"system": "https://watch.example", "value": "hr-77"}]}
    first = requests.post(f"{base}/fhir/R4/Observation", json=body, headers=cond, timeout=30)
    assert first.status_code == 201, first.text
    assert first.headers["Location"].startswith(f"{base}/fhir/R4/Observation/")
    get_fhir_model_class("Observation").model_validate(first.json())
    second = requests.post(f"{base}/fhir/R4/Observation", json=body, headers=cond, timeout=30)
    assert second.status_code == 200 and second.headers["Location"] == first.headers["Location"]
    bad = requests.post(
        f"{base}/fhir/R4/Observation", json={**obs, "valueQuantity": {"value": "x"}}, headers=auth, timeout=30
    )
    assert bad.status_code in (400, 422) and bad.json()["resourceType"] == "OperationOutcome"
    xml = requests.post(
        f"{base}/fhir/R4/Observation", json=obs, headers={**auth, "Accept": "application/fhir+xml"}, timeout=30
    )
    assert xml.status_code == 406
