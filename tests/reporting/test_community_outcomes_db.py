"""Community outcomes from the database (SQLite and PostgreSQL): DIALOG means stored by a real form entry and
intake goals give the hand-worked summary; community episodes only; one audited aggregate read for those allowed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import NotPermitted
from idiograph.instruments.definitions import instruments
from idiograph.intake.model import IntakeRecord
from idiograph.measures.responses import record_response
from idiograph.observations.model import Observation
from idiograph.reporting.community_outcomes_db import community_table, summary
from idiograph.reporting.disclosure import DisclosureConfig
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal
from tests.reporting.test_kpis_db import D, Rows, at

START, END = D("2026-04-01"), D("2026-06-30")
DIALOG = instruments()["dialog"]


def dialog(db: Session, pid: uuid.UUID, day: str, life: list[int | None], n: list[int]) -> None:
    """A DIALOG form stored as the service stores it: the record (no total) and its item and mean observations."""
    answers = dict(zip([i.code for i in DIALOG.items], [*life, 4, 4, 4], strict=True))
    _, _, rows = record_response(db, pid, DIALOG, answers, at(day), "test", f"dialog-{pid}-{day}")
    for r in rows:
        n[0] += 1
        db.add(
            Observation(
                person_id=r.person_id,
                system=r.system,
                code=r.code,
                value=r.value,
                unit=r.unit or "{score}",
                effective_at=r.time,
                source=r.source,
                source_id=r.source_id or "",
                group_id=r.group_id,
                recorded_by="test",
            )
        )


def goals(db: Session, pid: uuid.UUID, eid: uuid.UUID, *ratings: list[tuple[str, int]]) -> None:
    db.add(
        IntakeRecord(
            person_id=pid,
            episode_id=eid,
            definition_id="intake",
            definition_version=1,
            answers={},
            contributions={},
            goals=[
                {"goal": f"goal {i}", "ratings": [{"date": d, "rating": v, "by": "t"} for d, v in rs]}
                for i, rs in enumerate(ratings, start=1)
            ],
        )
    )


@pytest.fixture
def service(db: Session) -> dict[str, uuid.UUID]:
    r, n = Rows(db), [0]
    # community (CMHT): DIALOG life domains all 3 (mean 3) then all 5 (mean 5): +2; goal 2 -> 7 (+5, reliable)
    p1 = r.person()
    e1 = r.episode(p1, "Community Mental Health Team", "2026-01-10", "2026-05-10", "completed")
    dialog(db, p1, "2026-01-15", [3] * 8, n)
    dialog(db, p1, "2026-05-10", [5] * 8, n)  # on the end day: counts
    dialog(db, p1, "2026-06-01", [7] * 8, n)  # after discharge: does not
    goals(db, p1, e1, [("2026-01-15", 2), ("2026-05-01", 7)])
    # a team with no kind (counted with community): one complete DIALOG, one with a life domain missing (no mean)
    p2 = r.person()
    e2 = r.episode(p2, "Unnamed Team", "2026-02-01", "2026-06-30", "completed")
    dialog(db, p2, "2026-02-10", [4] * 8, n)
    dialog(db, p2, "2026-06-20", [None, 6, 6, 6, 6, 6, 6, 6], n)
    goals(db, p2, e2, [("2026-02-10", 4), ("2026-06-01", 5)])  # +1: paired, not reliable
    # talking therapies: left out whatever it holds
    p3 = r.person()
    e3 = r.episode(p3, "North Talking Therapies", "2026-01-10", "2026-05-10", "completed")
    dialog(db, p3, "2026-01-15", [1] * 8, n)
    dialog(db, p3, "2026-05-01", [7] * 8, n)
    goals(db, p3, e3, [("2026-01-15", 0), ("2026-05-01", 10)])
    db.flush()
    return {"p1": p1, "e1": e1, "e2": e2, "e3": e3}


def test_the_table_holds_community_episodes_with_their_means_and_goals(
    db: Session, service: dict[str, uuid.UUID]
) -> None:
    table = {r.referral_id: r for r in community_table(db)}
    assert set(table) == {str(service["e1"]), str(service["e2"])}
    one = table[str(service["e1"])]
    assert one.team_kind == "cmht"
    assert one.dialog == ((D("2026-01-15"), 3.0), (D("2026-05-10"), 5.0), (D("2026-06-01"), 7.0))
    assert table[str(service["e2"])].dialog == ((D("2026-02-10"), 4.0),)  # the form missing an item has no mean
    assert one.goals[0]["ratings"][1]["rating"] == 7


def test_hand_worked_summary_from_the_database(db: Session, service: dict[str, uuid.UUID]) -> None:
    exact = DisclosureConfig(suppress_max=0, round_to=1)  # no suppression or rounding: the hand-worked counts
    doc = summary(db, Principal.system("test"), START, END, config=exact)
    assert doc["ended"] == 2
    # DIALOG: one of two paired (episode 1: 3 -> 5, +2); episode 2 has one mean only
    assert (doc["dialog"]["paired"], doc["dialog"]["coverage"]["rate"]) == (1, 50.0)
    assert doc["dialog"]["mean_change"] == {"value": 2.0, "ci": None}
    # GBO: both paired; one (episode 1, +5) reliably improved; person mean changes 5 and 1: 3.0
    g = doc["gbo"]
    assert (g["paired"], g["coverage"]["rate"]) == (2, 100.0)
    assert (g["reliably_improved"]["numerator"], g["reliably_improved"]["rate"]) == (1, 50.0)
    assert g["mean_change"]["value"] == 3.0


def test_one_audited_aggregate_read_for_those_allowed(db: Session, service: dict[str, uuid.UUID], make_staff) -> None:  # type: ignore[no-untyped-def]
    lead = make_staff("lead1", "service_lead")
    before = db.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    doc = summary(db, lead.principal, START, END, via="web")
    assert doc["ended"] is None  # 2 ended: withheld under the default disclosure rule
    rows = db.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert [(a.action, a.resource_type, a.person_id, a.actor) for a in rows] == [
        ("read", "CommunityOutcomes", None, "lead1")
    ]
    assert rows[0].detail == {"from": "2026-04-01", "to": "2026-06-30", "referrals": 2, "via": "web"}
    clinician = make_staff("clin1", "clinician")
    with pytest.raises(NotPermitted):
        summary(db, clinician.principal, START, END)
