"""Routes for questionnaires: the instruments, answers entered in a session, self-report links and
each person's reliable change since their first score."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from idiograph.instruments.definitions import Instrument, instruments
from idiograph.measures import service
from idiograph.measures.change import MeasureChange, criterion
from idiograph.measures.schema import (
    COMPLETE_NOTE,
    AdaptiveOut,
    AnswerOptionOut,
    BandOut,
    ChangeOut,
    InstrumentOut,
    ItemOut,
    LinkIn,
    LinkOut,
    RecordedOut,
    ResponseIn,
    ResponseOut,
)
from idiograph.observations.recording import Recorder, recorder
from idiograph.security.deps import DB, require
from idiograph.security.headers import public_url
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["questionnaires"])


def instrument_out(inst: Instrument) -> InstrumentOut:
    rc = criterion(inst)
    rule = inst.missing_rule
    return InstrumentOut(
        id=inst.id,
        title=inst.title,
        citation=inst.citation,
        licence=inst.licence,
        url=inst.url,
        preamble=inst.preamble,
        item_system=inst.item_system,
        total_system=inst.total.system,
        total_code=inst.total.code,
        min_total=inst.min_total,
        max_total=inst.max_total,
        items=[
            ItemOut(
                code=i.code,
                text=i.text,
                safety=i.safety,
                reverse=i.reverse,
                options=[AnswerOptionOut(code=a.code, value=a.value, display=a.display) for a in inst.options(i)],
            )
            for i in inst.items
        ],
        bands=[BandOut(min=b.min, max=b.max, label=b.label) for b in inst.bands],
        missing_rule=f"prorate up to {rule.max_missing} missing" if rule.method == "prorate" else "no missing items",
        caseness_min=inst.caseness.min if inst.caseness else None,
        reliable_change_points=rc.threshold if rc else None,
    )


@router.get("/instruments", response_model=list[InstrumentOut])
def list_instruments(p: Principal = Depends(require(Permission.SIGNED_IN))) -> list[InstrumentOut]:
    return [instrument_out(i) for i in instruments().values()]


@router.get("/instruments/{instrument_id}", response_model=InstrumentOut)
def get_instrument(instrument_id: str, p: Principal = Depends(require(Permission.SIGNED_IN))) -> InstrumentOut:
    return instrument_out(service.instrument(instrument_id))


@router.post("/people/{person_id}/responses", response_model=RecordedOut, status_code=201)
def enter_response(
    person_id: uuid.UUID,
    body: ResponseIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
    record: Recorder = Depends(recorder),
) -> RecordedOut:
    """Answers given during a session: stored as item observations plus the total; a safety item answered
    above 0 raises a safety alert, and one left unanswered raises a prompt to ask it."""
    r = service.enter(db, p, person_id, body.instrument, body.answers, body.authored, body.episode_id, record=record)
    return RecordedOut(**asdict(r))


@router.get("/people/{person_id}/responses", response_model=list[ResponseOut])
def list_responses(
    person_id: uuid.UUID,
    limit: int = Query(default=20, ge=1, le=100),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> list[ResponseOut]:
    """The person's latest questionnaire responses, newest first. An adaptive short form has no ``total``: its
    ``adaptive`` part holds the items asked in order and the estimated full-form total with its 95% interval."""
    out = []
    for rec, safety, _asked in service.recent_responses(db, p, person_id, limit):
        adaptive = None
        if rec.adaptive:
            adaptive = AdaptiveOut(
                asked=list(rec.adaptive_asked or []),
                estimate=rec.estimate,
                lower=rec.estimate_lower,
                upper=rec.estimate_upper,
                cut=rec.adaptive_cut,
                p_above=rec.adaptive_p_above,
                decision=rec.decision if rec.status == "completed" else None,  # nothing is decided mid-form
                stopped=rec.stop_reason if rec.status == "completed" else None,
                bank_version=rec.bank_version,
                **({"note": COMPLETE_NOTE} if rec.total is not None else {}),
            )
        out.append(
            ResponseOut(
                id=rec.id,
                instrument=rec.instrument,
                authored=rec.authored_at,
                status=rec.status,
                total=rec.total,
                prorated=rec.prorated,
                safety=[text for text, _ in safety],
                adaptive=adaptive,
            )
        )
    return out


@router.post("/people/{person_id}/self-report-links", response_model=LinkOut, status_code=201)
def create_link(
    request: Request,
    person_id: uuid.UUID,
    body: LinkIn,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> LinkOut:
    """A single-use link the person opens on their phone; it expires after ``valid_hours``. With ``mode``
    "adaptive" the phone page asks one question at a time and stops when the decision is made; with "experience"
    ``instrument`` names an experience-of-choice form (peq-assessment after the assessment, peq-discharge at
    discharge)."""
    link, token = service.create_link(
        db, p, person_id, body.instrument, body.valid_hours, body.episode_id, mode=body.mode
    )
    return LinkOut(
        id=link.id,
        instrument=link.instrument,
        mode=link.mode,
        url=public_url(request, "self_report_form", token=token),
        expires_at=link.expires_at,
    )


@router.get("/people/{person_id}/reliable-change", response_model=list[ChangeOut])
def reliable_change(
    person_id: uuid.UUID, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[ChangeOut]:
    """First-to-latest change on every instrument the person has, judged by the instrument's one reliable-change
    rule (the national criterion for PHQ-9 and GAD-7, Jacobson-Truax otherwise; ``method`` says which), and
    caseness where it has a threshold. With a single score there is no change to judge (``direction`` null)."""
    return [change_out(c) for c in service.changes_for_person(db, p, person_id)]


def change_out(c: MeasureChange) -> ChangeOut:
    return ChangeOut(
        instrument=c.instrument,
        title=c.title,
        first=c.first,
        latest=c.latest,
        n=c.n,
        change=c.latest - c.first,
        rci=c.change.rci if c.change else None,  # null where the national criterion decides
        reliable_change_points=c.change.threshold if c.change else None,
        direction=c.change.direction if c.change else None,
        method=c.change.method if c.change else None,
        caseness_at_first=c.case_first,
        caseness_at_latest=c.case_latest,
    )
