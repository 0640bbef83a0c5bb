"""FastAPI dependencies: the database session, who is calling, and the permission each route declares."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from functools import cache
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from idiograph.db import Database
from idiograph.errors import DomainError, NotPermitted, StaleForm
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.service import PasswordCheck, check_password, principal_by_session

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class NotAuthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token)",
            [],
            401,
            "Not authenticated",
        )


SAFE = ("GET", "HEAD", "OPTIONS")


def get_db(request: Request) -> Iterator[Session]:
    """The request's unit of work: a consistent read-only snapshot for GET (its reads audited as one record), one
    read-write transaction committed after the route returns and before the response is sent, for the rest."""
    database: Database = request.app.state.db
    with database.reader() if request.method in SAFE else database.writer() as session:
        yield session


# Ends when the route function returns, before the response is sent: a failed commit is the client's 500, never a
# success reply for data that was not stored. Every route and the permission check share this one session.
DB = Depends(get_db, scope="function")


def password_checked(
    request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
) -> PasswordCheck:
    """A sign-in's password, checked before the request's unit of work opens: declare it before ``DB`` (FastAPI
    solves dependencies in the order declared; ``test_sign_in_checks_the_password_before_its_transaction``)."""
    client = request.client.host if request.client else None
    return check_password(request.app.state.db, username, password, client)


PasswordChecked = Depends(password_checked)


def login_checked(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> PasswordCheck | None:
    """The sign-in page's password check, only once its form's CSRF token is right (None otherwise: no hashing
    for a forged form, and no answer about the password without the attempt being counted)."""
    expected = str(request.session.get("csrf") or "")
    if not csrf_token or not expected or not hmac.compare_digest(csrf_token, expected):
        return None
    return password_checked(request, username, password)


LoginChecked = Depends(login_checked)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def authenticate(request: Request, db: Session) -> tuple[Principal | None, bool]:
    """(principal, via_cookie). A bearer token wins; otherwise the signed session cookie's session id. Both are
    live server-side sessions, so sign-out, a password change or deactivation ends them at once."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return principal_by_session(db, header[7:].strip(), "api"), False
    sid = request.session.get("sid") if "session" in request.scope else None
    if sid:
        return principal_by_session(db, str(sid), "web"), True
    return None, False


async def form_csrf(request: Request) -> str | None:
    """The CSRF token of a submitted form (parsed once; the route reads the same form). No database here."""
    if request.method in UNSAFE and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return str((await request.form()).get("csrf_token") or "")
    return None


async def form_data(request: Request) -> FormData:
    """The submitted form, read on the event loop before a plain (threadpool) route runs; no database here."""
    return await request.form()


async def raw_body(request: Request) -> bytes:
    """The raw request body, read on the event loop (bounded by BodyLimit); no database here."""
    return await request.body()


class Requirement:
    """A route's declared permission. The route-walk test finds these on every route.

    A plain function: FastAPI runs it in the worker threadpool, so the principal lookup never blocks the event
    loop (found: an ``async`` check that queried the database hung the server for good under 50 clients)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"require({self.permission.value})"

    def __call__(self, request: Request, db: Session = DB, form_token: str | None = Depends(form_csrf)) -> Principal:
        principal, via_cookie = authenticate(request, db)
        if principal is None:
            raise NotAuthenticated()
        if not principal.can(self.permission):
            raise NotPermitted(principal.role, self.permission.value)
        if via_cookie and request.method in UNSAFE:
            sent = request.headers.get("x-csrf-token") or form_token
            expected = request.session.get("csrf") or ""
            if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
                raise StaleForm()
        request.state.principal = principal
        return principal


@cache
def require(permission: Permission) -> Requirement:
    return Requirement(permission)
