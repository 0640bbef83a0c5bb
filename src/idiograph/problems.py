"""Every error as RFC 9457 problem+json (OperationOutcome under /fhir), naming the field and reason."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idiograph.errors import DomainError, FieldProblem
from idiograph.fhir.mapping_out import operation_outcome

log = logging.getLogger("idiograph")
FHIR_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-costly",
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


def _field(loc: tuple[Any, ...]) -> str:
    return "/".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> Response:
        if exc.status == 401 and _is_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", 303)
        if _is_page(request) and request.method == "GET":
            templates = request.app.state.templates
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": exc.status, "title": exc.title, "detail": exc.detail, "problems": exc.problems},
                status_code=exc.status,
            )
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
        return problem(request, 422, "Invalid input", f"{len(errors)} field(s) rejected; nothing was stored", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(DBAPIError)
    async def database(request: Request, exc: DBAPIError) -> Response:
        if isinstance(exc, DataError):  # a value the database cannot hold: the request's fault, not ours
            return problem(
                request,
                422,
                "Invalid input",
                "a value could not be stored as given; nothing was stored",
                [FieldProblem("body", "contains a value the database cannot store")],
            )
        log.exception("database error on %s %s", request.method, request.url.path)
        return problem(request, 500, "Internal error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "Internal error", "an unexpected error occurred; it has been logged")


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, send)
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

    async def _reject(self, scope: Scope, send: Send) -> None:
        request = Request(scope)
        response = problem(
            request,
            413,
            "Payload too large",
            f"the body is larger than {self.max_bytes} bytes",
            [FieldProblem("body", f"larger than {self.max_bytes} bytes")],
        )
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
