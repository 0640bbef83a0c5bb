"""People's experience of choice from the database (issue 19): the experience forms answered in a period, as rates
per question with the national wording (reporting.experience), for the KPI document, the Reports page and its CSV.
Aggregates only; the caller's read of the KPI document is the one audit record (no person is named)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from idiograph.measures.experience import forms
from idiograph.measures.experience_service import answered_between
from idiograph.reporting.disclosure import shown
from idiograph.reporting.experience import rates

LONDON = ZoneInfo("Europe/London")
SOURCE = (
    "NHS Talking Therapies Patient Experience Questionnaire choice questions (assessment Q1-Q3, treatment Q3), "
    "wording as in NHS England's Talking Therapies analysis code; questions on time, place and format are this "
    "service's own"
)


def _day_start(d: date) -> datetime:
    """Midnight at the start of a day in England, as an aware time (the service's days, not UTC's)."""
    return datetime.combine(d, time(0), tzinfo=LONDON)


def experience_document(session: Session, start: date, end: date) -> dict[str, Any]:
    """The forms answered from ``start`` to ``end`` (both days included, in England's time): per form how many
    answered (under disclosure control) and per question the rate of the counted answers."""
    answered = answered_between(session, _day_start(start), _day_start(end + timedelta(days=1)))
    pairs = [(r.form, dict(r.answers)) for r in answered]
    defs = forms()
    return {
        "available": True,
        "version": defs.version,
        "source": SOURCE,
        "forms": [
            {
                "id": f.id,
                "title": f.title,
                "when": f.when,
                "responses": shown(sum(1 for form, _ in pairs if form == f.id)),
            }
            for f in defs.forms
        ],
        "questions": rates(pairs),
    }
