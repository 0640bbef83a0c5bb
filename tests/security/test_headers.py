"""Security headers on every response (found: none at all), pages that satisfy the CSP without unsafe-inline,
and links built from the configured public address, not the Host header."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "idiograph" / "web" / "templates"


def test_every_response_carries_the_headers(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    for path, headers in (
        ("/login", {}),
        ("/api/v1/people", clin.auth),
        ("/fhir/R4/metadata", {}),
        ("/api/v1/people/not-a-uuid", clin.auth),  # an error answer too
    ):
        r = client.get(path, headers=headers)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store", path  # nothing with person data kept by a browser
    static = client.get("/static/app.css")
    assert "no-store" not in static.headers.get("cache-control", "")


def test_templates_have_no_inline_script_or_style() -> None:
    for t in TEMPLATES.glob("*.html"):
        text = t.read_text(encoding="utf-8")
        assert not re.search(r"\sstyle=", text), t.name
        assert not re.search(r"\son[a-z]+=", text), t.name  # no inline event handlers
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (t.name, tag)


def test_plotly_rules_are_served_as_a_stylesheet(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/vendor/plotly.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert ".js-plotly-plot .plotly .modebar{" in r.text and "X" not in r.text.split("{", 1)[0]


def test_links_use_the_public_address_whatever_the_host_header(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found: links sent to people were built from the request's Host header."""
    clin = make_staff("clin", "clinician", ("North",))
    pid = client.post("/api/v1/people", json={"given_name": "A", "family_name": "B"}, headers=clin.auth).json()["id"]
    r = client.post(
        f"/api/v1/people/{pid}/self-report-links",
        json={"instrument": "phq-9"},
        headers={**clin.auth, "Host": "attacker.example"},
    )
    assert r.status_code == 201 and r.json()["url"].startswith("http://testserver/r/")
    meta = client.get("/fhir/R4/metadata", headers={**clin.auth, "Host": "attacker.example"})
    assert meta.status_code == 200 and "attacker" not in meta.text
    assert meta.json()["implementation"]["url"] == "http://testserver/fhir/R4"
