"""Every route declares its permission, and every role gets exactly what its permissions allow."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import APIRoute

from idiograph.security.deps import Requirement
from idiograph.security.roles import PERSON_LEVEL, ROLE_PERMISSIONS, Permission, Role

PUBLIC = {
    ("/login", "GET"),
    ("/login", "POST"),
    ("/healthz", "GET"),
    ("/vendor/plotly.min.js", "GET"),
    ("/vendor/plotly.css", "GET"),
    ("/api/v1/auth/token", "POST"),
    ("/fhir/R4/metadata", "GET"),
}


def requirement(route: APIRoute) -> Permission | None:
    stack = list(route.dependant.dependencies)
    while stack:
        d = stack.pop()
        if isinstance(d.call, Requirement):
            return d.call.permission
        stack.extend(d.dependencies)
    return None


def app_routes(app) -> list[tuple[APIRoute, str]]:  # type: ignore[no-untyped-def]
    return [(r, m) for r in app.routes if isinstance(r, APIRoute) for m in sorted(r.methods)]


def test_every_route_declares_a_permission_or_is_public(app) -> None:  # type: ignore[no-untyped-def]
    undeclared = [(r.path, m) for r, m in app_routes(app) if requirement(r) is None and (r.path, m) not in PUBLIC]
    assert undeclared == []
    # and nothing public reads person data
    assert all(requirement(r) is None for r, m in app_routes(app) if (r.path, m) in PUBLIC)


def test_commissioners_hold_no_person_level_permission() -> None:
    assert not (ROLE_PERMISSIONS[Role.COMMISSIONER] & PERSON_LEVEL)
    assert not (ROLE_PERMISSIONS[Role.ADMIN] & {Permission.PERSON_READ, Permission.PERSON_WRITE})


@pytest.mark.parametrize("role", list(Role))
def test_walk_every_route_with_every_role(app, client, make_staff, role: Role) -> None:  # type: ignore[no-untyped-def]
    staff = make_staff(f"walker-{role.value}", role.value, ("Walk Team",))
    allowed = ROLE_PERMISSIONS[role]
    anyone = uuid.uuid4()
    for route, method in app_routes(app):
        perm = requirement(route)
        if perm is None:
            continue
        path = re.sub(r"\{[^}]+\}", str(anyone), route.path)
        anonymous = client.request(method, path)
        assert anonymous.status_code in (401, 303), (method, path, "anonymous", anonymous.status_code)
        r = client.request(method, path, headers=staff.auth, follow_redirects=False)
        if perm in allowed:
            assert r.status_code != 403 or "caseload" in r.text, (method, path, role, r.status_code, r.text[:200])
        else:
            assert r.status_code == 403, (method, path, role, r.status_code)
