"""Schemathesis fuzzes every API operation from the OpenAPI description: whatever arrives, never a 5xx.

Its pytest plugin does not load under pytest 9, so each operation's hypothesis strategy is driven here."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

PERSON = {"given_name": "Fuzz", "family_name": "Target", "sex": "unknown"}


def test_no_operation_answers_a_server_error(app, client, make_staff) -> None:  # type: ignore[no-untyped-def]
    staff = make_staff("fuzz", "clinician", ("Fuzz Team",))
    client.post("/api/v1/people", json=PERSON, headers=staff.auth)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for op in operations:

        @settings(
            max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=op.as_strategy())
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers={**(case.headers or {}), **staff.auth})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        fuzz()
    assert failures == []
