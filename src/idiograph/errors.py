"""Domain errors that every shell (API, FHIR, web, CLI) turns into a clear message naming the field."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldProblem:
    """One reason a field was rejected: where (a JSON-pointer-like path) and why."""

    field: str
    reason: str


@dataclass
class DomainError(Exception):
    """Base for errors a user can act on; ``status`` is the HTTP status the shells use."""

    detail: str
    problems: list[FieldProblem] = field(default_factory=list)
    status: int = 400
    title: str = "Bad request"

    def __str__(self) -> str:
        extra = "; ".join(f"{p.field}: {p.reason}" for p in self.problems)
        return f"{self.detail} ({extra})" if extra else self.detail


class InvalidInput(DomainError):
    def __init__(self, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail, problems or [], 422, "Invalid input")


class NotFound(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 404, "Not found")


class Forbidden(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 403, "Forbidden")


class NotPermitted(Forbidden):
    """A role without the permission a route needs: the API names the permission, a page says it in plain words."""

    def __init__(self, role: str, permission: str) -> None:
        super().__init__(f"role {role!r} does not have permission {permission!r}")
        self.role, self.permission = role, permission


class StaleForm(Forbidden):
    """A form sent without this session's CSRF token (an old page, another tab after signing in again, a forgery)."""

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token: reload the page and try again")


class Conflict(DomainError):
    def __init__(self, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail, problems or [], 409, "Conflict")


def invalid(field_name: str, reason: str) -> InvalidInput:
    """Shorthand for a single-field rejection."""
    return InvalidInput(f"{field_name}: {reason}", [FieldProblem(field_name, reason)])


ASK = "ask your service lead or a system administrator"


def plain_words(exc: DomainError) -> tuple[str, str]:
    """(title, detail) for a person at a page: what happened and what to do, never a permission name, an id or
    a stack trace (H-072)."""
    if isinstance(exc, NotPermitted):
        role = exc.role.replace("_", " ")
        return (
            "You cannot open this page",
            f"Your role ({role}) does not give access to this page. If you need it for your work, {ASK} to "
            "check your access. Nothing was changed.",
        )
    if isinstance(exc, StaleForm):
        return (
            "This form has expired",
            "Nothing was saved. Go back, reload the page and send the form again.",
        )
    if exc.status == 404:
        return (
            "Not found",
            "We could not find that page or record: the link may be out of date or mistyped. Nothing was changed.",
        )
    return exc.title, exc.detail  # written for people where it is raised
