"""The database as the KPI engine's referral table (SQLite and PostgreSQL): hand-built rows give hand-worked KPIs,
the report is one audited aggregate read for those allowed it, and ``idiograph report kpis`` reads the database
without --data."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment, CrisisPlan, RiskAssessment
from idiograph.errors import NotPermitted
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.patients.model import Encounter, Episode, Person
from idiograph.reporting.breakdowns import BREAKDOWNS
from idiograph.reporting.kpis import ISSUE_KPIS
from idiograph.reporting.referrals_db import kpi_document, referrals_from_db
from idiograph.security.model import AuditRecord
from idiograph.security.principal import Principal
from idiograph.security.teams import team_by_name

D = date.fromisoformat
START, END = D("2025-03-01"), D("2025-06-30")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(D(day), datetime.min.time(), UTC).replace(hour=hour)


class Rows:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.n = 0

    def person(self, **fields: object) -> uuid.UUID:
        p = Person(given_name="Test", family_name=f"P{self.n}", **fields)
        self.n += 1
        self.db.add(p)
        self.db.flush()
        return p.id

    def episode(self, pid: uuid.UUID, team: str, referral: str, end: str | None = None, reason: str | None = None):  # type: ignore[no-untyped-def]
        e = Episode(
            person_id=pid,
            team_id=team_by_name(self.db, team, create=True).id,
            referral_date=D(referral),
            referral_source="gp",
            presenting_problem="depression",
            pathway="cbt",
            discharge_date=D(end) if end else None,
            discharge_reason=reason,
        )
        self.db.add(e)
        self.db.flush()
        return e.id

    def appointments(self, pid: uuid.UUID, *visits: tuple[str, str]) -> None:
        for day, status in visits:
            self.db.add(
                Appointment(
                    person_id=pid, start=at(day), place="clinic", format="in_person", status=status, created_by="t"
                )
            )

    def score(self, pid: uuid.UUID, instrument: str, day: str, total: int | None, adaptive: bool = False) -> None:
        self.n += 1
        self.db.add(
            QuestionnaireResponseRecord(
                person_id=pid,
                instrument=instrument,
                authored_at=at(day),
                status="completed",
                total=total,
                source="test",
                source_id=f"qr-{self.n}",
                adaptive=adaptive,
                estimate=12.0 if adaptive else None,
            )
        )

    def encounter(self, pid: uuid.UUID, cls: str, day: str) -> None:
        self.n += 1
        self.db.add(
            Encounter(
                person_id=pid, status="finished", class_code=cls, start=at(day), source="t", source_id=f"e{self.n}"
            )
        )


@pytest.fixture
def service(db: Session) -> dict[str, uuid.UUID]:
    """Four people: two in talking therapies, one in the community team, one in a team with no kind."""
    r = Rows(db)
    p1 = r.person(
        birth_date=D("1990-05-10"), sex="female", ethnicity="A", deprivation_decile=3, preferred_language="en"
    )
    e1 = r.episode(p1, "North Talking Therapies", "2025-03-03", "2025-06-02", "completed")
    r.appointments(
        p1,
        ("2025-03-10", "attended"),  # the first attended contact: the assessment
        ("2025-03-17", "did_not_attend"),
        ("2025-03-24", "attended"),  # first treatment contact (21 days)
        ("2025-03-31", "cancelled_by_person"),
        ("2025-04-07", "attended"),  # second
        ("2025-04-14", "attended"),  # third
        ("2025-04-21", "booked"),  # no outcome: in no count
        ("2025-06-10", "attended"),  # after discharge, no other referral open: belongs to none
    )
    r.score(p1, "phq-9", "2025-02-01", 25)  # before the referral: not its first score
    r.score(p1, "phq-9", "2025-03-10", 18)
    r.score(p1, "gad-7", "2025-03-10", 14)
    r.score(p1, "phq-9", "2025-04-14", 8)
    r.score(p1, "gad-7", "2025-04-14", 6)
    r.score(p1, "phq-9", "2025-05-01", None, adaptive=True)  # an adaptive estimate is not a total
    r.score(p1, "phq-9", "2025-06-05", 3)  # follow-up after discharge: not the last score

    p2 = r.person(birth_date=D("1970-01-01"), sex="male", ethnicity="N", deprivation_decile=1)
    r.episode(p2, "South Talking Therapies", "2025-01-10", "2025-04-30", "disengaged")
    e2b = r.episode(p2, "South Talking Therapies", "2025-05-20")  # back 20 days after ending
    r.appointments(p2, ("2025-01-20", "attended"), ("2025-02-03", "attended"), ("2025-03-03", "did_not_attend"))
    r.encounter(p2, "EMER", "2025-05-25")  # a crisis presentation
    r.encounter(p2, "IMP", "2025-05-26")  # an admission
    r.encounter(p2, "AMB", "2025-05-27")  # an ordinary contact: neither
    db.add(RiskAssessment(person_id=p2, level="high", assessed_at=at("2025-05-21"), author="t", summary="s"))
    db.add(CrisisPlan(person_id=p2, version=1, content={}, updated_by="t", updated_at=at("2025-05-22")))

    p3 = r.person()
    r.episode(p3, "Community Mental Health Team", "2025-02-01")
    r.appointments(
        p3, ("2025-03-05", "attended"), ("2025-03-12", "did_not_attend"), ("2025-03-19", "cancelled_by_service")
    )
    db.add(RiskAssessment(person_id=p3, level="high", assessed_at=at("2025-03-01"), author="t", summary="s"))
    r.encounter(p3, "IMP", "2025-04-01")

    p4 = r.person()
    r.episode(p4, "Unnamed Team", "2025-04-01", "2025-04-10", "not_suitable")
    db.flush()
    return {"p1": p1, "e1": e1, "e2b": e2b}


def test_each_episode_becomes_the_referral_the_folder_would_give(db: Session, service: dict[str, uuid.UUID]) -> None:
    table = {r.referral_id: r for r in referrals_from_db(db)}
    assert len(table) == 5
    r1 = table[str(service["e1"])]
    assert (r1.team_kind, r1.referral_date, r1.end_date, r1.ending_reason) == (
        "talking_therapies",
        D("2025-03-03"),
        D("2025-06-02"),
        "completed",
    )
    assert (r1.assessed_date, r1.first_treatment_date, r1.second_treatment_date) == (
        D("2025-03-10"),
        D("2025-03-24"),
        D("2025-04-07"),
    )
    assert r1.attended_treatment == 3
    assert (r1.phq9_first, r1.phq9_last, r1.gad7_first, r1.gad7_last) == (18.0, 8.0, 14.0, 6.0)
    assert (r1.ethnicity, r1.age_at_referral, r1.sex, r1.deprivation_decile, r1.preferred_language) == (
        "A",
        34,
        "female",
        3,
        "en",
    )
    assert [s for _, s in r1.appointments] == [
        "attended",
        "did_not_attend",
        "attended",
        "cancelled_by_person",
        "attended",
        "attended",
    ]
    again = table[str(service["e2b"])]
    assert again.crisis_presentations == (D("2025-05-25"),) and again.admissions == (D("2025-05-26"),)
    assert again.risk_levels == ((D("2025-05-21"), "high"),) and again.crisis_plan_from == D("2025-05-22")
    assert sorted(r.team_kind for r in table.values()) == [
        "cmht",
        "talking_therapies",
        "talking_therapies",
        "talking_therapies",
        "unknown",
    ]


def figures(section: dict[str, dict[str, object]]) -> dict[str, tuple[object, object, object]]:
    return {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in section.items()}


def test_hand_worked_kpis_from_the_database(db: Session, service: dict[str, uuid.UUID]) -> None:
    doc = kpi_document(db, Principal.system("test"), START, END)
    assert doc["period"] == {"from": "2025-03-01", "to": "2025-06-30"}
    assert list(doc["kpis"]) == list(ISSUE_KPIS) and list(doc["by"]) == list(BREAKDOWNS)
    # cost by pathway rides in the same document, its unit costs said to be illustrative until a service sets its own
    assert doc["cost"]["illustrative"] is True and isinstance(doc["cost"]["pathways"], list)
    assert doc["personalisation"]["available"] is True
    assert figures(doc["kpis"]) == {
        "referrals": (2, None, None),  # e1 (3 March), e2b (20 May)
        "entered_treatment": (1, None, None),  # e1 on 24 March (e2's was in February)
        "finished_course": (1, None, None),  # e1: 3 treatment contacts; e2 ended with 1
        "recovery": (1, 1, 100.0),  # 18/14 -> 8/6
        "reliable_recovery": (1, 1, 100.0),
        "reliable_improvement": (1, 1, 100.0),
        "reliable_deterioration": (0, 1, 0.0),
        "waited_6_weeks": (1, 1, 100.0),  # 21 days
        "waited_18_weeks": (1, 1, 100.0),
        "dna_rate": (2, 7, 28.6),  # e1: 1 of 6 (booked and after discharge left out); e2: 3 March
        "disengagement_discharges": (1, None, None),  # e2, disengaged after a treatment contact (47)
        "crisis_admissions": (1, None, None),
    }
    assert figures(doc["supplementary"]["talking_therapies"]) | {} == {
        "first_to_second_over_90_days": (0, 1, 0.0),
        "finished_with_paired_scores": (1, 1, 100.0),
        "crisis_presentations": (1, None, None),
        "re_referral_within_30_days": (1, 2, 50.0),  # e2b, 20 days after e2 ended
        "crisis_plan_coverage_high_risk": (1, 1, 100.0),  # p2: high on 21 May, a plan the next day
    }
    community = figures(doc["community"])
    assert community["referrals"] == (1, None, None)  # the unnamed team's, counted with community
    assert community["dna_rate"] == (1, 3, 33.3)
    assert community["crisis_admissions"] == (1, None, None)
    assert community["disengagement_discharges"] == (0, None, None)
    assert figures(doc["supplementary"]["community"])["crisis_plan_coverage_high_risk"] == (0, 1, 0.0)
    assert any("1 referral(s) of teams with no kind" in n for n in doc["notes"])


def test_the_report_is_one_audited_aggregate_read_for_those_allowed(
    db: Session, service: dict[str, uuid.UUID], make_staff
) -> None:  # type: ignore[no-untyped-def]
    before = db.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    lead = make_staff("lead1", "service_lead")
    kpi_document(db, lead.principal, START, END)
    rows = db.scalars(
        select(AuditRecord).where(AuditRecord.seq > before, AuditRecord.resource_type == "KpiReport")
    ).all()
    assert len(rows) == 1
    assert rows[0].action == "read" and rows[0].person_id is None and rows[0].actor == "lead1"
    assert rows[0].detail == {"from": "2025-03-01", "to": "2025-06-30", "referrals": 5}
    clinician = make_staff("clin1", "clinician")
    with pytest.raises(NotPermitted):
        kpi_document(db, clinician.principal, START, END)


def test_report_kpis_reads_the_database_without_data(run, service: dict[str, uuid.UUID]) -> None:  # type: ignore[no-untyped-def]
    r = run("report", "kpis", "--from", "2025-03-01", "--to", "2025-06-30", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["kpis"]["dna_rate"] == {"numerator": 2, "denominator": 7, "rate": 28.6}
    assert doc["community"]["crisis_admissions"]["numerator"] == 1
    table = run("report", "kpis", "--from", "2025-03-01", "--to", "2025-06-30")
    assert table.exit_code == 0 and "dna rate" in table.stdout and "admissions" in table.output


def test_report_kpis_on_an_empty_database_asks_for_the_period(run) -> None:  # type: ignore[no-untyped-def]
    r = run("report", "kpis")
    assert r.exit_code == 2 and "from" in r.output
    r = run("report", "kpis", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["kpis"]["referrals"]["numerator"] == 0


def test_the_database_and_the_folder_give_the_same_referrals_for_the_same_service(
    db: Session, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A synthetic service written as a folder and loaded into the database (as the demo loads it, with every
    appointment in the past) gives the same referral table, field for field: appointments carry their contact type
    and referral, and crisis presentations and admissions are loaded as encounters."""
    from dataclasses import asdict

    from typer.testing import CliRunner

    from idiograph.cli import app
    from idiograph.evaluation.kpis_data import referrals
    from idiograph.synth import params as params_module
    from idiograph.synth.generator import generate_service
    from idiograph.synth.load import load_people

    folder = tmp_path_factory.mktemp("agree") / "service"
    r = CliRunner().invoke(app, ["synth", "--people", "30", "--seed", "7", "--out", str(folder), "--workers", "1"])
    assert r.exit_code == 0, r.output
    p = params_module.load()
    load_people(
        db, Principal.system("test"), p, generate_service(p, 30, 7), 7, range(30), datetime(2030, 1, 1, tzinfo=UTC)
    )
    from_db = {x.referral_id: asdict(x) for x in referrals_from_db(db)}
    from_folder = {x.referral_id: asdict(x) for x in referrals(folder)}
    assert set(from_db) == set(from_folder) and len(from_db) == 30
    for rid, want in from_folder.items():
        assert from_db[rid] == want, rid
    assert any(x["crisis_presentations"] for x in from_db.values())
    assert any(x["appointments"] for x in from_db.values()) and any(x["phq9_last"] for x in from_db.values())
