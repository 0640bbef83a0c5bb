"""Security headers on every response, and links built from the configured public address (never from the
request's Host header, which a client controls)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages run only the scripts they load from this server: no inline script, no inline style, no eval.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CACHEABLE = ("/static/", "/vendor/")


class SecurityHeaders:
    """CSP, framing refused, no MIME sniffing, no referrer (links carry single-use tokens), and ``no-store`` on
    everything but static files, so no page or API answer with person data is kept by a browser or proxy."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(CACHEABLE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if self.https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def public_url(request: Request, name: str, **params: str) -> str:
    """An absolute link to route ``name`` at the installation's configured public address."""
    base = str(request.app.state.settings.public_base_url).rstrip("/")
    return base + str(request.app.url_path_for(name, **params))
