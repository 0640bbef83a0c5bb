"""Bad input is never a 5xx, and overload is a quick 503 with Retry-After, never a hang."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import TimeoutError as PoolTimeout

from idiograph.problems import json_depth


def test_a_deeply_nested_body_is_a_400_not_a_500(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: POST /fhir/R4 with a deeply nested JSON body was a 500 (uncaught RecursionError)."""
    clin = make_staff("clin", "clinician", ("North",))
    deep = "[" * 5000 + "]" * 5000
    r = client.post("/fhir/R4", content=deep, headers={**clin.auth, "Content-Type": "application/fhir+json"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    r = client.post("/api/v1/observations", content=deep, headers={**clin.auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert "nested deeper than 64" in r.json()["detail"]
    ok = json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []})
    assert (
        client.post("/fhir/R4", content=ok, headers={**clin.auth, "Content-Type": "application/fhir+json"}).status_code
        == 200
    )


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=3), c),
        max_leaves=30,
    )
)
def test_json_depth_agrees_with_the_parsed_structure(value: object) -> None:
    def depth(v: object) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    assert json_depth(json.dumps(value).encode()) == depth(value)


def test_no_free_connection_is_a_quick_503_with_retry_after(app, make_staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    from idiograph.worklist import service as caseload

    def exhausted(*a, **k):  # type: ignore[no-untyped-def]
        raise PoolTimeout("QueuePool limit reached")

    monkeypatch.setattr(caseload, "caseload", exhausted)
    r = TestClient(app).get("/api/v1/people", headers=clin.auth)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"


def test_beyond_the_in_flight_limit_requests_wait_their_turn_then_get_a_503(app, make_staff) -> None:  # type: ignore[no-untyped-def]
    """A full house: a request waits on the event loop for queue_wait_s, then gets a 503 with Retry-After; with
    the queue full too, at once. Liveness answers all the while."""
    import asyncio
    import time

    from idiograph.problems import Overload

    clin = make_staff("clin", "clinician", ("North",))
    gate = next(m for m in _middlewares(app) if isinstance(m, Overload))
    c = TestClient(app)
    assert c.get("/api/v1/people", headers=clin.auth).status_code == 200
    saved = gate._slots, gate.queue_wait_s, gate.in_flight
    gate._slots, gate.queue_wait_s, gate.in_flight = asyncio.Semaphore(0), 0.3, gate.max_in_flight  # all taken
    try:
        started = time.monotonic()
        r = c.get("/api/v1/people", headers=clin.auth)
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert time.monotonic() - started >= 0.3  # it waited its turn first
        gate.queued = gate.max_queued  # and nobody may queue behind a full queue
        started = time.monotonic()
        assert c.get("/api/v1/people", headers=clin.auth).status_code == 503
        assert time.monotonic() - started < 0.3
        assert c.get("/healthz").status_code == 200
    finally:
        gate._slots, gate.queue_wait_s, gate.in_flight = saved
        gate.queued = 0
    assert c.get("/api/v1/people", headers=clin.auth).status_code == 200


def test_a_request_let_in_always_finds_a_worker_thread_and_a_connection() -> None:
    """More requests inside than worker threads let them all wait for a lock only a request without a thread
    could release (the load test's 11 s for 50 sign-ins): refused at start-up, as is a pool smaller than that."""
    import pytest
    from pydantic import ValidationError

    from idiograph.config import THREADS_KEPT, Settings

    Settings(max_in_flight=36, threads=36 + THREADS_KEPT, db_pool_size=30, db_max_overflow=9)
    with pytest.raises(ValidationError, match="worker thread"):
        Settings(max_in_flight=40, threads=40, db_pool_size=40, db_max_overflow=10)
    with pytest.raises(ValidationError, match="never wait for a connection"):
        Settings(max_in_flight=32, threads=40, db_pool_size=20, db_max_overflow=10)


def _middlewares(app):  # type: ignore[no-untyped-def]
    TestClient(app).get("/healthz")  # builds the middleware stack
    m = app.middleware_stack
    while m is not None:
        yield m
        m = getattr(m, "app", None)


def test_an_appointment_in_1900_or_ten_years_ahead_is_refused(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from idiograph.care.booking import booking_window

    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post("/api/v1/people", json={"given_name": "Ada", "family_name": "B"}, headers=cc.auth).json()["id"]
    now = datetime.now(UTC)
    for start, reason in (
        (datetime(1900, 1, 1, 9, tzinfo=UTC), "must not be in the past"),
        (now + timedelta(days=3650), "must be within two years from now"),
    ):
        r = client.post(
            f"/api/v1/people/{pid}/appointments",
            json={"start": start.isoformat(), "place": "clinic", "format": "in_person"},
            headers=cc.auth,
        )
        assert r.status_code == 422 and r.json()["errors"] == [{"field": "start", "reason": reason}], r.text
    assert client.get(f"/api/v1/people/{pid}/appointments", headers=cc.auth).json() == []
    ok = client.post(
        f"/api/v1/people/{pid}/appointments",
        json={"start": (now + timedelta(days=3)).isoformat(), "place": "clinic", "format": "in_person"},
        headers=cc.auth,
    )
    assert ok.status_code == 201
    # the edges, by hand
    assert booking_window(now - timedelta(minutes=5), now) is None
    assert booking_window(now - timedelta(minutes=5, seconds=1), now) == "must not be in the past"
    assert booking_window(now + timedelta(days=732), now) is None
    assert booking_window(now + timedelta(days=732, seconds=1), now) == "must be within two years from now"
