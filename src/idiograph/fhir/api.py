"""FHIR R4 routes: transaction/batch import, type-level create, read, search (paged), $everything, metadata.

Every route answers in FHIR JSON only: a request that accepts no JSON (``Accept: application/fhir+xml``, or
``_format=xml``) gets 406 before anything is read."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from idiograph.errors import DomainError, FieldProblem, InvalidInput, NotFound
from idiograph.fhir import bulk, service
from idiograph.fhir import mapping_out as out
from idiograph.fhir import search as fs
from idiograph.fhir.importer import CREATABLE, create_resource, import_bundle
from idiograph.reporting.referrals_db import audited_document
from idiograph.security.deps import DB, raw_body, require
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.security.teams import team_by_name

FHIR_JSON = "application/fhir+json"


class NotAcceptable(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 406, "Not acceptable")


def json_only(request: Request) -> None:
    """406 for a client that accepts no JSON: idiograph does not produce FHIR XML or RDF (a bulk export's files are
    NDJSON, asked for as such)."""
    if "/$export-file/" in request.url.path:
        return
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", "application/json", "application/fhir+json"):
        raise NotAcceptable(f"_format={fmt} is not produced here: idiograph answers in FHIR JSON only")
    if not fs.accepts_json(request.headers.get("accept")):
        raise NotAcceptable(
            f"Accept: {request.headers.get('accept')} cannot be met: idiograph answers in application/fhir+json only"
        )


router = APIRouter(prefix="/fhir/R4", tags=["fhir"], dependencies=[Depends(json_only)])


def fhir(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers=headers, media_type=FHIR_JSON)


def _base(request: Request) -> str:
    return str(request.app.state.settings.public_base_url).rstrip("/") + "/fhir/R4"


def preferences(prefer: str | None) -> dict[str, str]:
    """The ``Prefer`` header's preferences by name (RFC 7240: comma-separated, each ``name[=value]`` with optional
    ``;``-parameters, which are not used here)."""
    out: dict[str, str] = {}
    for item in (prefer or "").split(","):
        head = item.split(";", 1)[0].strip()
        if head:
            name, _, value = head.partition("=")
            out.setdefault(name.strip().lower(), value.strip().strip('"'))
    return out


def _strict(prefer: str | None) -> bool:
    return preferences(prefer).get("handling") == "strict"


@router.get("/metadata", openapi_extra={"x-public": "FHIR capability statement"})
def metadata(request: Request) -> JSONResponse:
    return fhir(service.capability_statement(_base(request)))


def _team(db: Session, team: str | None) -> uuid.UUID | None:
    if not team:
        return None
    try:
        return uuid.UUID(team)
    except ValueError:
        pass
    return team_by_name(db, team).id


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the body is not valid JSON", [FieldProblem("body", str(exc))]) from None


@router.post("")
def transaction(
    request: Request,
    source: str | None = None,
    team: str | None = None,
    raw: bytes = Depends(raw_body),
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_IMPORT)),
) -> JSONResponse:
    """A transaction (all-or-nothing) or batch Bundle. New people join ``team`` (default: your only team)."""
    body = _json(raw)
    return fhir(import_bundle(db, p, body, request.app.state.settings.instance_uri, source, _team(db, team)))


@router.get("/Patient/{patient_id}/$everything")
def everything(
    patient_id: str,
    request: Request,
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_EXPORT)),
    prefer: str | None = Header(None),
) -> JSONResponse:
    """Everything idiograph holds about the person, as a paged searchset (``_count``, ``_type``, ``start``,
    ``end``); other parameters are ignored with a warning, or refused under ``Prefer: handling=strict``."""
    pairs = request.query_params.multi_items()
    return fhir(service.everything(db, p, patient_id, pairs, _base(request), _strict(prefer)))


@router.get("/Questionnaire/{questionnaire_id}")
def read_questionnaire(questionnaire_id: str, p: Principal = Depends(require(Permission.SIGNED_IN))) -> JSONResponse:
    """A Questionnaire generated from an instrument file (items, answer scores, safety items)."""
    return fhir(service.read_questionnaire(questionnaire_id))


@router.get("/Questionnaire")
def search_questionnaire(
    request: Request, url: str | None = None, p: Principal = Depends(require(Permission.SIGNED_IN))
) -> JSONResponse:
    return fhir(service.search_questionnaires(url, _base(request)))


# -- type-level create --------------------------------------------------------------------------------------------


def _create_route(rt: str) -> Callable[..., Response]:
    def create(
        request: Request,
        if_none_exist: str | None = Header(None),
        prefer: str | None = Header(None),
        raw: bytes = Depends(raw_body),
        db: Session = DB,
        p: Principal = Depends(require(Permission.DATA_IMPORT)),
    ) -> Response:
        settings = request.app.state.settings
        status, rid, outcome = create_resource(
            db,
            p,
            rt,
            _json(raw),
            instance_uri=settings.instance_uri,
            if_none_exist=if_none_exist,
            team_id=None,
            fhir_base=_base(request),
        )
        headers = {"Location": f"{_base(request)}/{rt}/{rid}"}
        wanted = preferences(prefer).get("return", "representation")
        if wanted == "minimal":
            return Response(status_code=status, headers=headers)
        if wanted == "OperationOutcome" or not p.can(Permission.PERSON_READ):
            body = outcome or out.operation_outcome([("information", "informational", f"{rt}/{rid} stored", None)])
            return fhir(body, status, headers)
        db.flush()
        return fhir(service.read(db, p, rt, rid), status, headers)

    create.__doc__ = (
        f"Create a {rt} (what a patient or SMART app sends): the same validation, scoring, safety alerts and audit as "
        "an imported Bundle. 'If-None-Exist: identifier=system|value' makes it conditional (one match: 200 and "
        "nothing written; several: 412)."
    )
    return create


# -- Bulk Data export (asynchronous) ----------------------------------------------------------------------------


def _kick_off(request: Request, p: Principal, prefer: str | None, scope: str, team_id: uuid.UUID | None) -> Response:
    """Check the request, record it in its own committed transaction (the kick-off is a GET, whose unit of work
    is a read-only snapshot), then start the export's thread."""
    req = bulk.parse_request(request.query_params.multi_items(), prefer, scope, team_id, str(request.url))
    settings = request.app.state.settings
    database = request.app.state.db
    with database.writer() as w:
        bulk.remove_expired(w, settings.export_dir, settings.export_keep_hours)
        job_id = bulk.kick_off(w, p, req).id
    threading.Thread(
        target=bulk.run, args=(database, job_id, p, settings.export_dir), name=f"export-{job_id}", daemon=True
    ).start()
    return Response(status_code=202, headers={"Content-Location": f"{_base(request)}/$export-status/{job_id}"})


@router.get("/$export", status_code=202)
def export_all(
    request: Request,
    prefer: str | None = Header(None),
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_EXPORT)),
) -> Response:
    """Bulk Data export of every record you may open (NDJSON per type); send ``Prefer: respond-async``. Also at
    ``Patient/$export``."""
    return _kick_off(request, p, prefer, "caseload", None)


# Patient-level export is the same as the system level here: every patient you may open, and everything about them.
router.add_api_route("/Patient/$export", export_all, methods=["GET"], status_code=202, name="export patients")


@router.get("/Group/{team_id}/$export", status_code=202)
def export_team(
    team_id: str,
    request: Request,
    prefer: str | None = Header(None),
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_EXPORT)),
) -> Response:
    """Bulk Data export of one team's caseload (the Group is the team, by id); a team you belong to."""
    try:
        tid = uuid.UUID(team_id)
    except ValueError:
        raise NotFound(f"Group/{team_id} is not known here") from None
    if db.get(Team, tid) is None:
        raise NotFound(f"Group/{team_id} is not known here")
    return _kick_off(request, p, prefer, "team", tid)


@router.get("/$export-status/{job_id}")
def export_status(
    job_id: str, request: Request, db: Session = DB, p: Principal = Depends(require(Permission.DATA_EXPORT))
) -> Response:
    """202 with X-Progress while the export runs; 200 with the manifest when done; the reason when it failed."""
    job = bulk.job_for(db, p, job_id)
    settings = request.app.state.settings
    if job.status in ("queued", "running"):
        return Response(status_code=202, headers={"X-Progress": job.progress or job.status, "Retry-After": "2"})
    if job.status == "done":
        expires = bulk.expires(job, settings.export_keep_hours)
        return JSONResponse(
            bulk.manifest(job, _base(request)), headers={"Expires": format_datetime(expires, usegmt=True)}
        )
    reasons = {
        "failed": job.error or "the export failed",
        "cancelled": "the export was cancelled",
        "deleted": "the export was deleted",
        "expired": "the export's files have expired: start it again",
    }
    status = 500 if job.status == "failed" else 404
    raise DomainError(reasons.get(job.status, job.status), [], status, "Export " + job.status)


@router.delete("/$export-status/{job_id}", status_code=202)
def export_cancel(
    job_id: str, request: Request, db: Session = DB, p: Principal = Depends(require(Permission.DATA_EXPORT))
) -> Response:
    """Cancel a running export, or delete a finished one's files."""
    bulk.cancel(db, p, job_id, request.app.state.settings.export_dir)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}")
def export_file(
    job_id: str, name: str, request: Request, db: Session = DB, p: Principal = Depends(require(Permission.DATA_EXPORT))
) -> FileResponse:
    """One NDJSON file of a finished export of yours."""
    settings = request.app.state.settings
    path = bulk.file_path(db, p, job_id, name, settings.export_dir, settings.export_keep_hours)
    return FileResponse(path, media_type="application/fhir+ndjson", filename=name)


def _search_route(rt: str) -> Callable[..., JSONResponse]:
    def search(
        request: Request,
        prefer: str | None = Header(None),
        db: Session = DB,
        p: Principal = Depends(require(Permission.PERSON_READ)),
    ) -> JSONResponse:
        pairs = request.query_params.multi_items()
        return fhir(service.search_type(db, p, rt, pairs, _base(request), _strict(prefer)))

    search.__doc__ = f"Search {rt} on records you may open; paged (follow the Bundle's links)."
    return search


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """The query's parameters and a urlencoded form body's, in order (FHIR search by POST)."""
    form = await request.form()
    return [*request.query_params.multi_items(), *((k, str(v)) for k, v in form.multi_items())]


def _search_post_route(rt: str) -> Callable[..., JSONResponse]:
    def search_post(
        request: Request,
        prefer: str | None = Header(None),
        pairs: list[tuple[str, str]] = Depends(form_pairs),
        db: Session = DB,
        p: Principal = Depends(require(Permission.PERSON_READ)),
    ) -> JSONResponse:
        return fhir(service.search_type(db, p, rt, pairs, _base(request), _strict(prefer)))

    search_post.__doc__ = f"Search {rt} with the parameters in a form body (application/x-www-form-urlencoded)."
    return search_post


def _read_route(rt: str) -> Callable[..., JSONResponse]:
    def read(rid: str, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))) -> JSONResponse:
        return fhir(service.read(db, p, rt, rid))

    read.__doc__ = f"Read one {rt} by id (404 when this server does not hold it)."
    return read


def _period(raw_start: str | None, raw_end: str | None, today: date) -> tuple[date, date]:
    """period-start and period-end (YYYY-MM-DD, both included); by default the latest complete period of the
    publication grid (``breakdowns.yaml``; the last whole financial quarter), the one kind with strata."""
    from idiograph.reporting import grid
    from idiograph.reporting.breakdowns import settings

    latest = grid.latest_complete(today, settings().publication_period)
    days = {"period-start": latest.start, "period-end": latest.end}
    found = []
    for name, raw in (("period-start", raw_start), ("period-end", raw_end)):
        if raw:
            try:
                days[name] = date.fromisoformat(raw.strip())
            except ValueError:
                found.append(FieldProblem(name, f"{raw!r} is not a date (YYYY-MM-DD)"))
    if not found and days["period-start"] > days["period-end"]:
        found.append(FieldProblem("period-end", "is before period-start"))
    if found:
        raise InvalidInput("The period could not be read", found)
    return days["period-start"], days["period-end"]


@router.get("/MeasureReport")
def measure_reports(
    period_start: str | None = Query(None, alias="period-start"),
    period_end: str | None = Query(None, alias="period-end"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.SERVICE_SUMMARY)),
) -> JSONResponse:
    """The KPIs for a period (default the latest complete financial quarter, or the configured grid period) as a
    searchset of two summary MeasureReports, one for talking-therapies teams and one for community teams, with
    their equity breakdowns as stratifiers under disclosure control (aggregates only; one audited read). Strata
    only for exactly one complete grid period (H-108); otherwise the totals, and an OperationOutcome entry (search
    mode ``outcome``, as the FHIR search page prescribes for warnings) saying why and which periods to ask for."""
    today = date.today()
    start, end = _period(period_start, period_end, today)
    doc, _ = audited_document(db, p, start, end, "fhir", today)
    now = datetime.now(UTC)
    entries: list[dict[str, Any]] = [
        {"resource": out.measure_report(doc, teams, now), "search": {"mode": "match"}}
        for teams in out.MEASURE_REPORT_TEAMS
    ]
    total = len(entries)
    if not doc["publication"]["on_grid"]:
        entries.append({"resource": out.strata_withheld(doc), "search": {"mode": "outcome"}})
    return fhir({"resourceType": "Bundle", "type": "searchset", "total": total, "entry": entries})


for _rt in CREATABLE:
    router.add_api_route(f"/{_rt}", _create_route(_rt), methods=["POST"], name=f"create {_rt}", status_code=201)
for _rt in service.PERSON_TYPES:
    router.add_api_route(f"/{_rt}", _search_route(_rt), methods=["GET"], name=f"search {_rt}")
    router.add_api_route(f"/{_rt}/_search", _search_post_route(_rt), methods=["POST"], name=f"search {_rt} (POST)")
    router.add_api_route(f"/{_rt}/{{rid}}", _read_route(_rt), methods=["GET"], name=f"read {_rt}")


record_router = APIRouter(prefix="/api/v1/people", tags=["fhir"])


@record_router.get("/{person_id}/fhir-bundle")
def record_bundle(
    person_id: uuid.UUID,
    request: Request,
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_EXPORT)),
) -> JSONResponse:
    """The person's record as a FHIR transaction Bundle that this or another idiograph re-imports as it is
    (``$everything`` is the searchset for reading; this is the copy for moving a record)."""
    return fhir(service.export_person(db, p, person_id, request.app.state.settings.instance_uri, via="api"))
