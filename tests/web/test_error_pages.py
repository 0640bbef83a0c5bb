"""Error pages speak plain words (H-072): a 403 says the role cannot open the page and whom to ask, never a
permission name; a 404 or 500 names no id, internal or stack trace. The API keeps its problem+json."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from tests.web.test_pages import login

INTERNALS = re.compile(
    r"permission|audit:read|person:read|user:manage|Traceback|sqlalchemy|\.py\b|[0-9a-f]{8}-[0-9a-f]{4}"
)


def _visible(html: str) -> str:
    main = html.split("<main>")[1].split("</main>")[0]
    return re.sub(r"<[^>]+>", " ", main)


def test_a_role_without_access_reads_whom_to_ask_not_a_permission_name(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    make_staff("commish", "commissioner")
    login(client, "clin")
    for path in ("/audit", "/admin/users", "/operations"):
        r = client.get(path)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        text = _visible(r.text)
        assert "You cannot open this page" in text and "Your role (clinician)" in text
        assert "service lead or a system administrator" in text
        assert not INTERNALS.search(text), INTERNALS.search(text)
    client.cookies.clear()
    login(client, "commish")
    assert "Your role (commissioner)" in _visible(client.get("/caseload").text)
    # the API still says which permission, for whoever writes the client
    api = client.get("/api/v1/audit", headers=clin.auth)
    assert api.status_code == 403 and "audit:read" in api.json()["detail"]


def test_not_found_names_no_id(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("clin", "clinician", ("North",))
    login(client, "clin")
    for path in (f"/people/{uuid.uuid4()}", "/no-such-page"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        text = _visible(r.text)
        assert "We could not find that page or record" in text and not INTERNALS.search(text), text


def test_an_unexpected_error_shows_no_internals(app, make_staff) -> None:  # type: ignore[no-untyped-def]
    @app.get("/boom-page")
    def boom() -> None:
        raise RuntimeError("secret internals in /srv/idiograph/db.py")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom-page")
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        text = _visible(r.text)
        assert "Something went wrong on our side" in text and "secret internals" not in text
        assert not INTERNALS.search(text)
        api = c.get("/api/v1/boom-none")
        assert api.headers["content-type"].startswith("application/problem+json")


def test_an_expired_form_says_so_in_words(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("root", "admin")
    login(client, "root")
    r = client.post("/admin/users/root/unlock", data={"csrf_token": "old"}, headers={"Accept": "text/html"})
    assert r.status_code == 403 and "This form has expired" in r.text and "CSRF" not in _visible(r.text)


def test_a_change_refused_for_the_role_is_said_in_words(app) -> None:  # type: ignore[no-untyped-def]
    from starlette.requests import Request

    from idiograph.errors import NotPermitted
    from idiograph.web.render import refused

    scope = {"type": "http", "method": "POST", "path": "/people/x/care", "headers": [], "app": app, "session": {}}
    request = Request(scope)
    page = refused(request, uuid.uuid4(), NotPermitted("service_lead", "person:write"))
    text = page.body.decode()
    assert page.status_code == 403 and "Your role (service lead) cannot make this change" in text
    assert "person:write" not in text and "permission" not in text
