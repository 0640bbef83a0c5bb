"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from idiograph import __version__, models, pipeline  # noqa: F401  (all tables registered)
from idiograph.adaptive import taking
from idiograph.alerts.api import router as alerts_router
from idiograph.baselines.api import router as baselines_router
from idiograph.care.api import router as care_router
from idiograph.config import Settings, get_settings
from idiograph.db import Database, checkpoint, make_engine
from idiograph.fhir.api import record_router as fhir_record_router
from idiograph.fhir.api import router as fhir_router
from idiograph.governance.api import router as governance_router
from idiograph.intake.api import router as intake_router
from idiograph.matching import allocate
from idiograph.matching.allocation_api import router as allocation_router
from idiograph.matching.api import router as matching_router
from idiograph.measures.api import router as measures_router
from idiograph.monitoring.reviews.api import router as reviews_router
from idiograph.observations.api import router as observations_router
from idiograph.patients.api import router as patients_router
from idiograph.pipeline.api import router as pipeline_router
from idiograph.problems import BodyLimit, Overload, install
from idiograph.security.api import router as security_router
from idiograph.security.headers import SecurityHeaders
from idiograph.selection.api import router as selection_router
from idiograph.web import words
from idiograph.web.pages import ROUTERS as PAGE_ROUTERS
from idiograph.worklist.api import router as worklist_router

WEB = Path(__file__).with_name("web")
log = logging.getLogger("idiograph")


def retry_failed_rules(app: FastAPI) -> int:
    """One pass over the statistical rules that failed on stored data; returns how many were resolved."""
    from idiograph.pipeline import failures
    from idiograph.security.audit import Actor

    with app.state.db.reader() as session:
        ids = failures.due(session)
    resolved = 0
    for fid in ids:  # each in its own transaction: the write lock is never held for the whole pass
        with app.state.db.writer() as session:
            resolved += failures.retry(session, Actor.system("rule-retry"), [fid], due_only=True).resolved
    return resolved


def check_audit_key(app: FastAPI) -> None:
    """Refuse to start when the audit key does not verify the last record (nothing to check before migration)."""
    from sqlalchemy import inspect

    from idiograph.security import audit

    if app.state.db.connection is None and not inspect(app.state.db.engine).has_table("audit_record"):
        return
    with app.state.db.reader() as session:
        audit.check_key(session)


def export_audit_head(app: FastAPI) -> None:
    from idiograph.security import audit

    with app.state.db.reader() as session:
        at = audit.head(session)
    audit.export_head(app.state.settings.audit_head_file, at)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work, each in a worker thread (never on the loop): checkpoint SQLite's write-ahead log every
    2 s (so no request pays for it), retry failed rules every ``rule_retry_seconds``, and export the audit head
    to ``audit_head_file`` every ``audit_head_seconds``."""
    settings = app.state.settings
    to_thread.current_default_thread_limiter().total_tokens = settings.threads
    await run_in_threadpool(check_audit_key, app)  # a wrong key would break the trail from here: refuse to start

    async def every(period: int, job: Callable[[FastAPI], object], what: str) -> None:
        while True:
            try:
                await run_in_threadpool(job, app)
            except Exception:
                log.exception(what)
            await asyncio.sleep(period)

    tasks = [asyncio.create_task(every(2, lambda a: checkpoint(a.state.db.engine), "checkpointing the WAL"))]
    if settings.rule_retry_seconds > 0:
        tasks.append(asyncio.create_task(every(settings.rule_retry_seconds, retry_failed_rules, "retrying rules")))
    if settings.audit_head_file is not None:
        tasks.append(asyncio.create_task(every(settings.audit_head_seconds, export_audit_head, "exporting head")))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, database: Database | None = None
) -> FastAPI:
    settings = settings or get_settings()
    pipeline.check_settings()
    allocate.register()  # allocating a therapist is a governed change
    taking.register()  # the adaptive short forms a self-report link can send (the shipped item banks)
    engine = engine or (
        database.engine
        if database
        else make_engine(
            settings.database_url,
            settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
        )
    )
    app = FastAPI(
        title="idiograph",
        version=__version__,
        description="Clinical personalisation for mental health services. Every route declares its "
        "permission; errors are RFC 9457 problem+json (OperationOutcome under /fhir).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.db = database or Database(engine, audit_key=settings.audit_key)
    app.state.recorder = pipeline.record  # what storing observations runs, in order (idiograph.pipeline)
    app.state.templates = Jinja2Templates(directory=WEB / "templates")
    words.register(app.state.templates.env)  # plain names, units and numbers on every page (web.words)
    install(app)
    routers = (
        baselines_router,
        care_router,
        governance_router,
        security_router,
        patients_router,
        observations_router,
        measures_router,
        alerts_router,
        reviews_router,
        fhir_router,
        fhir_record_router,
        pipeline_router,
        worklist_router,
        selection_router,
        intake_router,
        matching_router,
        allocation_router,
    )
    for router in (*routers, *PAGE_ROUTERS):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="idiograph_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth)
    app.add_middleware(
        Overload,
        max_in_flight=settings.max_in_flight,
        max_queued=settings.max_queued,
        queue_wait_s=settings.queue_wait_s,
    )
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)
    return app
