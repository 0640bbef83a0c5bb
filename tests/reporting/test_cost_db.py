"""Cost by pathway from the database (issue 19): contacts by the clinician's profession, the KPI engine's
finished and recovered, small counts withheld, one aggregate audit record."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.errors import NotPermitted
from idiograph.matching.model import Therapist
from idiograph.reporting.cost import parse_unit_costs
from idiograph.reporting.cost_db import cost_section, cost_table, protect
from idiograph.security.model import AuditRecord
from tests.reporting.test_kpis_db import END, START, Rows, at

UNITS = parse_unit_costs(
    {
        "version": "test/1",
        "illustrative": False,
        "currency": "GBP",
        "price_year": "2024/25",
        "source": "test",
        "per_contact": {"psychological_therapist": 100, "other": 50},
        "per_admission": 1000,
    }
)


def visit(db: Session, pid: uuid.UUID, day: str, whom: str | None, status: str = "attended") -> None:
    db.add(
        Appointment(
            person_id=pid,
            start=at(day),
            place="clinic",
            format="in_person",
            status=status,
            created_by="t",
            with_whom=whom,
        )
    )


def test_cost_table_by_hand(db: Session) -> None:
    r = Rows(db)
    db.add(Therapist(code="T1", name="Ann Therapist", profession="psychological_therapist"))
    p = r.person()
    r.episode(p, "North Talking Therapies", "2025-03-03", "2025-06-02", "completed")
    visit(db, p, "2025-03-10", "T1")  # assessment: a contact, 100
    visit(db, p, "2025-03-24", "Ann Therapist")  # by name, 100
    visit(db, p, "2025-04-07", None)  # no clinician, no allocation: other, 50
    visit(db, p, "2025-04-14", "T1")  # 100
    visit(db, p, "2025-04-21", "T1", "did_not_attend")  # not a contact
    r.score(p, "phq-9", "2025-03-10", 18)
    r.score(p, "gad-7", "2025-03-10", 14)
    r.score(p, "phq-9", "2025-04-14", 8)
    r.score(p, "gad-7", "2025-04-14", 6)  # below caseness on both at the end: recovered
    q = r.person()
    r.episode(q, "North Talking Therapies", "2025-03-03", "2025-08-01", "completed")  # ends after the period
    visit(db, q, "2025-03-10", "T1")
    db.flush()
    rows = cost_table(db, START, END)
    assert len(rows) == 1
    (one,) = rows
    assert one.pathway == "cbt" and one.finished and one.recovered
    assert one.contacts == {"psychological_therapist": 3, None: 1}
    from idiograph.reporting.cost import by_pathway

    cbt = by_pathway(rows, UNITS)[0]
    assert (cbt.cost, cbt.per_finished, cbt.per_recovered) == (350.0, 350.0, 350.0)


def test_protect_withholds_small_counts_and_what_they_give_away() -> None:
    section = {
        "pathways": [
            {
                "pathway": "a",
                "referrals": 20,
                "contacts": 90,
                "admissions": 0,
                "finished": 12,
                "recovered": 5,
                "cost": 9000.0,
                "per_finished": 750.0,
                "per_recovered": 1800.0,
            },
            {
                "pathway": "b",
                "referrals": 30,
                "contacts": 100,
                "admissions": 0,
                "finished": 10,
                "recovered": 8,
                "cost": 9000.0,
                "per_finished": 900.0,
                "per_recovered": 1125.0,
            },
        ]
    }
    a, b = protect(section)["pathways"]
    assert a["recovered"] is None and a["per_recovered"] is None and a["cost"] is None
    assert a["per_finished"] == 750.0 and a["withheld"] == ["recovered"]
    assert b == {**section["pathways"][1], "withheld": []}


def test_cost_section_is_one_audited_aggregate_read(db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    before = db.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    lead = make_staff("lead1", "service_lead")
    doc = cost_section(db, lead.principal, START, END, UNITS)
    assert doc["unit_costs_version"] == "test/1" and doc["pathways"][-1]["pathway"] == "all"
    rows = db.scalars(
        select(AuditRecord).where(AuditRecord.seq > before, AuditRecord.resource_type == "CostReport")
    ).all()
    assert len(rows) == 1 and rows[0].person_id is None
    with pytest.raises(NotPermitted):
        cost_section(db, make_staff("clin1", "clinician").principal, START, END, UNITS)
