"""Follow-up after inpatient discharge and readmission from the database (reporting.inpatient): admissions are
imported encounters of the admission classes (``kpis.yaml`` ``admission_encounter_classes``; the application
records none itself), contacts are the appointments with their outcome. A section of the KPI document: the caller
checks ``service:summary`` and its one audit record covers this read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.db import utcnow
from idiograph.patients.model import Encounter
from idiograph.reporting.inpatient import Contact, Stay, summary
from idiograph.reporting.kpis import definitions


def section(session: Session, start: date, end: date, as_of: datetime | None = None) -> dict[str, Any]:
    """Both measures for ``start``..``end`` (England's days), judged at ``as_of`` (now by default)."""
    classes = list(definitions().admission_encounter_classes)
    stays = [
        Stay(str(pid), at, until, cls)
        for pid, at, until, cls in session.execute(
            select(Encounter.person_id, Encounter.start, Encounter.end, Encounter.class_code).where(
                Encounter.class_code.in_(classes), Encounter.start.is_not(None)
            )
        )
    ]
    if not stays:
        return summary([], [], start, end, as_of or utcnow())
    admitted = select(Encounter.person_id).where(Encounter.class_code.in_(classes))
    contacts = [
        Contact(str(pid), at, status)
        for pid, at, status in session.execute(
            select(Appointment.person_id, Appointment.start, Appointment.status).where(
                Appointment.person_id.in_(admitted)
            )
        )
    ]
    return summary(stays, contacts, start, end, as_of or utcnow())
