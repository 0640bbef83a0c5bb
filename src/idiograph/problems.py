"""Every error as RFC 9457 problem+json (OperationOutcome under /fhir), naming the field and reason."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idiograph.db import DatabaseBusy
from idiograph.errors import ASK, DomainError, FieldProblem, plain_words
from idiograph.fhir.mapping_out import operation_outcome
from idiograph.security.deps import csrf_token
from idiograph.security.roles import Permission

log = logging.getLogger("idiograph")
FHIR_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    412: "multiple-matches",
    413: "too-costly",
    406: "not-supported",
    415: "not-supported",
    422: "invalid",
    500: "exception",
}


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir/")


def _is_page(request: Request) -> bool:
    return not (request.url.path.startswith(("/api/", "/fhir/")))


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    problems: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    problems = problems or []
    if _is_fhir(request):
        issues = [("error", FHIR_CODES.get(status, "processing"), p.reason, p.field) for p in problems]
        issues = issues or [("error", FHIR_CODES.get(status, "processing"), detail, None)]
        if problems:
            issues.insert(0, ("error", FHIR_CODES.get(status, "processing"), detail, None))
        return JSONResponse(operation_outcome(issues), status, headers=headers, media_type="application/fhir+json")
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if problems:
        body["errors"] = [{"field": p.field, "reason": p.reason} for p in problems]
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


SOMETHING_WENT_WRONG = (
    "Something went wrong on our side",
    "This is not something you did. It has been logged. If you were saving something, check whether it was "
    f"saved before trying again; if it keeps happening, {ASK} and tell them the time.",
)
RETRY_AFTER_S = 2


def busy(request: Request, why: str) -> Response:
    """503 with Retry-After: overload degrades into a quick, clear refusal the client can retry, never a hang."""
    return problem(
        request,
        503,
        "Service busy",
        f"{why}; nothing was changed, try again in a few seconds",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _field(loc: tuple[Any, ...]) -> str:
    return "/".join(str(p) for p in loc)


def _wants_page(request: Request) -> bool:
    """A person at a browser: a page opened, or a page's form sent (browsers ask for HTML)."""
    return _is_page(request) and (request.method == "GET" or "text/html" in request.headers.get("accept", ""))


def error_page(
    request: Request, status: int, title: str, detail: str, problems: list[FieldProblem] | None = None
) -> Response:
    templates = request.app.state.templates
    principal = getattr(request.state, "principal", None)
    ctx = {"status": status, "title": title, "detail": detail, "problems": problems or [], "principal": principal}
    ctx |= {"Permission": Permission, "csrf": csrf_token(request) if "session" in request.scope else ""}
    return templates.TemplateResponse(request, "error.html", ctx, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> Response:
        if exc.status == 401 and _is_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", 303)
        if _wants_page(request):
            title, detail = plain_words(exc)
            return error_page(request, exc.status, title, detail, exc.problems if exc.status in (400, 409, 422) else [])
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(request, exc.status, exc.title, exc.detail, exc.problems, headers)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            e = next(e for e in errors if e.get("type") == "json_invalid")
            ctx = e.get("ctx", {}).get("error", "")
            return problem(
                request,
                400,
                "Malformed JSON",
                f"the body is not valid JSON: {ctx}".strip(),
                [FieldProblem("body", "not valid JSON")],
            )
        problems = [FieldProblem(_field(e["loc"]), e["msg"]) for e in errors[:100]]
        if _wants_page(request):
            fields = [FieldProblem(p.field.split("/")[-1].replace("_", " "), p.reason) for p in problems]
            return error_page(
                request, 422, "Check what was asked for", "The page cannot use a value it was given:", fields
            )
        return problem(request, 422, "Invalid input", f"{len(errors)} field(s) rejected; nothing was stored", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_page(request) and exc.status_code in (404, 405):
            return error_page(request, 404, *plain_words(DomainError("", [], 404, "Not found")))
        return problem(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        return busy(request, "every database connection is in use")

    @app.exception_handler(DatabaseBusy)
    async def writers_queued(request: Request, exc: DatabaseBusy) -> Response:
        return busy(request, "the database is busy writing")

    @app.exception_handler(DBAPIError)
    async def database(request: Request, exc: DBAPIError) -> Response:
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return busy(request, "the database is busy writing")
        if isinstance(exc, DataError):  # a value the database cannot hold: the request's fault, not ours
            return problem(
                request,
                422,
                "Invalid input",
                "a value could not be stored as given; nothing was stored",
                [FieldProblem("body", "contains a value the database cannot store")],
            )
        log.exception("database error on %s %s", request.method, request.url.path)
        if _wants_page(request):
            return error_page(request, 500, *SOMETHING_WENT_WRONG)
        return problem(request, 500, "Internal error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_page(request):
            return error_page(request, 500, *SOMETHING_WENT_WRONG)
        return problem(request, 500, "Internal error", "an unexpected error occurred; it has been logged")


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413, whether or not Content-Length is sent, and JSON bodies nested
    deeper than ``max_json_depth`` with 400 (found: a deeply nested body made the parser raise RecursionError,
    a 500)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_depth: int = 64) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send, 413, "Payload too large", f"larger than {self.max_bytes} bytes")
            return
        if b"json" in headers.get(b"content-type", b""):
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if len(body) > self.max_bytes:
                    await self._reject(scope, send, 413, "Payload too large", f"larger than {self.max_bytes} bytes")
                    return
                more = message.get("more_body", False)
            if json_depth(body) > self.max_depth:
                await self._reject(scope, send, 400, "Too deeply nested", f"nested deeper than {self.max_depth} levels")
                return
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI lets an HTTPException from body reading through to the handlers above.
                    raise StarletteHTTPException(413, f"Payload too large: the body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _reject(self, scope: Scope, send: Send, status: int, title: str, why: str) -> None:
        request = Request(scope)
        response = problem(request, status, title, f"the body is {why}", [FieldProblem("body", why)])
        await response(scope, _empty_receive, send)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deeply a JSON text nests, without parsing it (strings removed first; C-speed scans)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for b in brackets:
        if b in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class Overload:
    """Admission to the app: at most ``max_in_flight`` requests inside at once per process, the rest waiting on the
    event loop in arrival order, up to ``max_queued`` of them for at most ``queue_wait_s`` seconds; beyond either a
    quick 503 with Retry-After (liveness and static files always pass).

    Why a queue in front: a request inside the app holds at most one worker thread at a time, but moves between
    threads (its session dependency, the permission check, the route). With more requests inside than worker
    threads, every thread could be waiting for the database lock or a pooled connection that only a request
    without a thread could release: the server stood still until the database's timeout, then refused (found by
    the load test: 50 sign-ins at once took 11 s). So ``max_in_flight`` stays below the thread count (checked
    at start-up), and waiting happens here, where it costs no thread."""

    def __init__(self, app: ASGIApp, max_in_flight: int, max_queued: int = 1000, queue_wait_s: float = 5.0) -> None:
        self.app, self.max_in_flight, self.max_queued, self.queue_wait_s = app, max_in_flight, max_queued, queue_wait_s
        self.in_flight = self.queued = 0
        self._slots: asyncio.Semaphore | None = None  # made on the server's own loop, at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz" or scope["path"].startswith(("/static/", "/vendor/")):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        if not await self._admit(self._slots):
            response = busy(Request(scope), "the server is at its limit of requests at once")
            await response(scope, _empty_receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._slots.release()

    async def _admit(self, slots: asyncio.Semaphore) -> bool:
        if self.in_flight >= self.max_in_flight and self.queued >= self.max_queued:
            return False
        self.queued += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_wait_s)
            return True
        except TimeoutError:
            return False
        finally:
            self.queued -= 1


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
