"""No database work on the event loop (found: an async permission check that queried the database hung the
server for good under 50 clients): every route and dependency that takes a session is a plain function, so
FastAPI runs it in the worker threadpool."""

from __future__ import annotations

import inspect

from sqlalchemy.orm import Session


def _takes_a_session(call: object) -> bool:
    try:
        params = inspect.signature(call).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return any(p.annotation in (Session, "Session") for p in params)


def test_nothing_that_takes_a_session_runs_on_the_event_loop(app) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import api_routes

    routes = api_routes(app)
    assert len(routes) > 90
    offenders = []
    for route in routes:
        stack = [route.dependant]
        while stack:
            d = stack.pop()
            call = d.call
            target = call.__call__ if call is not None and not inspect.isfunction(call) else call
            if target is not None and inspect.iscoroutinefunction(target) and _takes_a_session(target):
                offenders.append(f"{route.path}: {getattr(call, '__name__', call)}")
            stack.extend(d.dependencies)
    assert offenders == []


def test_the_check_sees_an_async_route_with_a_session() -> None:
    async def bad(db: Session) -> None: ...

    assert inspect.iscoroutinefunction(bad) and _takes_a_session(bad)
