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
    # by a single-use or personal link, not a session: the link is the credential
    ("/r/{token}", "GET"),
    ("/r/{token}", "POST"),
    ("/my-plan/{token}", "GET"),
    ("/my-plan/{token}/preferences", "POST"),
    ("/my-plan/{token}/requests", "POST"),
    ("/my-plan/{token}/therapy-plan", "POST"),
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
    from tests.conftest import api_routes

    routes = [(r, m) for r in api_routes(app) for m in sorted(r.methods)]
    assert len(routes) > 90, "the walk must see every route (it once saw none)"
    return routes


def test_every_route_declares_a_permission_or_is_public(app) -> None:  # type: ignore[no-untyped-def]
    undeclared = [(r.path, m) for r, m in app_routes(app) if requirement(r) is None and (r.path, m) not in PUBLIC]
    assert undeclared == []
    # and each public route says why it is public
    assert all((r.openapi_extra or {}).get("x-public") for r, m in app_routes(app) if (r.path, m) in PUBLIC)
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
    # routes that end the walker's own session go last, or every later answer would be a 401
    ends_session = {"/api/v1/auth/revoke", "/logout"}
    walk = sorted(app_routes(app), key=lambda rm: rm[0].path in ends_session)
    for route, method in walk:
        perm = requirement(route)
        if perm is None:
            continue
        path = re.sub(r"\{[^}]+\}", str(anyone), route.path)
        anonymous = client.request(method, path, follow_redirects=False)
        assert anonymous.status_code in (401, 303), (method, path, "anonymous", anonymous.status_code)
        r = client.request(method, path, headers=staff.auth, follow_redirects=False)
        if perm in allowed:
            assert r.status_code != 403 or "caseload" in r.text, (method, path, role, r.status_code, r.text[:200])
        else:
            assert r.status_code == 403, (method, path, role, r.status_code)
