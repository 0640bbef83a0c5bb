"""Routes for the observation store: batch ingestion, a person's series, CSV upload, the code list."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, File, Form, UploadFile
from sqlalchemy.orm import Session

from idiograph.errors import invalid
from idiograph.observations import service
from idiograph.observations.csv_import import import_csv
from idiograph.observations.ingest import ingest as ingest_batch
from idiograph.observations.recording import Recorder, recorder
from idiograph.observations.schema import CodeOut, CsvImportResult, IngestResult, ObservationBatch, ObservationOut
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["observations"])


@router.post("/observations", response_model=IngestResult)
def ingest(
    body: ObservationBatch,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
    record: Recorder = Depends(recorder),
) -> IngestResult:
    """Store a batch: every row valid and permitted, or nothing. Re-sending a row changes nothing."""
    return ingest_batch(db, p, body.observations, record)


@router.get("/people/{person_id}/observations", response_model=list[ObservationOut])
def observations(
    person_id: uuid.UUID,
    code: str | None = None,
    system: str | None = None,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[ObservationOut]:
    return [ObservationOut.model_validate(o) for o in service.for_person(db, p, person_id, system, code)]


@router.post("/import/csv", response_model=CsvImportResult)
def upload_csv(
    file: UploadFile = File(...),
    source: str = Form("csv"),
    team_id: uuid.UUID | None = Form(None),
    db: Session = DB,
    p: Principal = Depends(require(Permission.DATA_IMPORT)),
    record: Recorder = Depends(recorder),
) -> CsvImportResult:
    """The long CSV format (see the user guide); the whole file is stored or none of it."""
    raw = file.file.read()  # a plain route: the spooled upload is read in the worker thread
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("file", "must be UTF-8 text") from None
    result, created = import_csv(db, p, text, source, team_id, record=record)
    return CsvImportResult(**result.model_dump(), people_created=created)


@router.get("/codes", response_model=list[CodeOut])
def codes(db: Session = DB, p: Principal = Depends(require(Permission.SIGNED_IN))) -> list[CodeOut]:
    return [
        CodeOut(system=c.system, code=c.code, display=c.display, unit=c.unit, kind=c.kind, min=c.min, max=c.max)
        for c in service.CodeBook(db).all()
    ]
