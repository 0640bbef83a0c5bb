"""Turning a set of answers into stored item observations plus the scored total (or, for a mean-scored
instrument, its means: the record's total stays empty, as a mean is not a whole-number total)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.instruments.definitions import Instrument
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.measures.scoring import Score, score
from idiograph.observations.catalogue import SCORE_UNIT
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import NewObservation


def answer_values(instrument: Instrument, raw: Mapping[str, object]) -> tuple[dict[str, int | None], list[str]]:
    """Item code -> value from answers given as values or LOINC answer codes; plus unknown link ids."""
    values: dict[str, int | None] = {}
    unknown: list[str] = []
    for link, ans in raw.items():
        code = link.split("/")[-1]
        item = instrument.item(code)
        if item is None:
            unknown.append(link)
            continue
        by_code = {a.code: a.value for a in instrument.options(item)}
        if isinstance(ans, str):
            if ans not in by_code:
                unknown.append(f"{link}={ans}")
                continue
            values[code] = by_code[ans]
        elif isinstance(ans, (int, float)) and float(ans).is_integer():
            values[code] = int(ans)
        else:
            unknown.append(f"{link}={ans}")
    return values, unknown


def unanswered(rec: QuestionnaireResponseRecord, result: Score) -> list[Unanswered]:
    """The response's safety items left unanswered, for the safety rule to prompt about."""
    return [
        Unanswered(rec.person_id, rec.id, rec.instrument, code, rec.authored_at, f"{rec.source}|{rec.source_id}")
        for code in result.safety_unanswered
    ]


def record_response(
    session: Session,
    person_id: uuid.UUID,
    instrument: Instrument,
    answers: Mapping[str, int | None],
    authored: datetime,
    source: str,
    source_id: str,
    status: str = "completed",
    record_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
) -> tuple[QuestionnaireResponseRecord, Score, list[NewObservation]]:
    """Upsert the response record; return it, its score and the observations to store with it."""
    result = score(instrument, answers)
    rec = session.get(QuestionnaireResponseRecord, record_id) if record_id else None
    rec = rec or session.scalar(
        select(QuestionnaireResponseRecord).where(
            QuestionnaireResponseRecord.source == source, QuestionnaireResponseRecord.source_id == source_id
        )
    )
    if rec is None:
        rec = QuestionnaireResponseRecord(
            id=record_id or uuid.uuid4(),
            person_id=person_id,
            source=source,
            source_id=source_id,
            instrument=instrument.id,
            authored_at=authored,
            status=status,
            total=result.total,
            prorated=result.prorated,
            safety_unanswered=list(result.safety_unanswered),
        )
        session.add(rec)
    else:
        rec.instrument, rec.authored_at, rec.status = instrument.id, authored, status
        rec.total, rec.prorated = result.total, result.prorated
        rec.safety_unanswered = list(result.safety_unanswered)
    session.flush()
    rows = [
        NewObservation(
            person_id,
            instrument.item_system,
            code,
            float(v),
            SCORE_UNIT,
            authored,
            rec.source,
            f"{rec.source_id}#{code}",
            episode_id,
            rec.id,
        )
        for code, v in answers.items()
        if v is not None
    ]
    if result.total is not None:
        t = instrument.total
        rows.append(
            NewObservation(
                person_id,
                t.system,
                t.code,
                float(result.total),
                SCORE_UNIT,
                authored,
                rec.source,
                f"{rec.source_id}#{t.code}",
                episode_id,
                rec.id,
            )
        )
    # a mean-scored instrument (DIALOG): each mean under its own code, never as the record's (whole-number) total
    for (system, code), mean in result.means:
        if mean is not None:
            rows.append(
                NewObservation(
                    person_id,
                    system,
                    code,
                    mean,
                    SCORE_UNIT,
                    authored,
                    rec.source,
                    f"{rec.source_id}#{code}",
                    episode_id,
                    rec.id,
                )
            )
    return rec, result, rows
