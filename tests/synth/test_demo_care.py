"""The demo's care as delivered: appointments from the synthetic service, and, written through the services as the
demo's staff, risk assessments, a crisis plan for everyone at high risk, preferences, decisions under delegated
authority, changes waiting for a senior clinician and recorded reviews - dated in the demo's past, seeded."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.care.api import PreferencesIn
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, Preferences, RiskAssessment
from idiograph.care.options import FORMATS, PLACES, STATUSES, coherent
from idiograph.care.phones import phone_parts
from idiograph.db import Database, make_engine
from idiograph.governance.model import Decision, Escalation
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.migrate import upgrade
from idiograph.monitoring.reviews.model import EpisodeReview
from idiograph.patients.model import CaseloadAssignment, Encounter, Episode
from idiograph.reporting.community_outcomes import dialog_pair
from idiograph.reporting.community_outcomes_db import community_table
from idiograph.reporting.kpis import definitions as kpi_definitions
from idiograph.security import audit
from idiograph.security.model import AuditRecord, Team
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo

P = synth_params.load()
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)  # the demo's "now": 08:00 on its today


def test_the_demo_has_every_kind_of_care_record(db: Session) -> None:
    """One load (150 people; each backend), every check on it: a load takes seconds."""
    load_demo(db, 150, 7, P, TODAY)
    _appointments_are_loaded(db)
    _risk_assessments_and_a_crisis_plan_for_everyone_at_high_risk(db)
    _preferences_have_the_care_pages_shape(db)
    _decisions_under_delegated_authority_and_changes_waiting_for_a_senior(db)
    _reviews_are_recorded_and_everything_is_dated_in_the_demos_past(db)
    _community_people_have_dialog_pairs_and_talking_therapies_people_none(db)
    _a_second_load_writes_no_care_records_again(db)


def _current_levels(db: Session) -> dict[object, str]:
    latest: dict[object, tuple[datetime, str]] = {}
    for pid, level, at in db.execute(
        select(RiskAssessment.person_id, RiskAssessment.level, RiskAssessment.assessed_at)
    ):
        if pid not in latest or at > latest[pid][0]:
            latest[pid] = (at, level)
    return {pid: level for pid, (_, level) in latest.items()}


def _appointments_are_loaded(demo: Session) -> None:
    appts = list(demo.scalars(select(Appointment)))
    assert len(appts) > 150 * 4
    assert {a.status for a in appts} <= set(STATUSES) and {"attended", "did_not_attend", "booked"} <= {
        a.status for a in appts
    }
    assert all(a.place in PLACES and a.format in FORMATS and coherent(a.place, a.format) is None for a in appts)
    # booked only from now on (what is past has its outcome), and attended ones are the encounters
    assert all((a.status == "booked") == (a.start > NOW) for a in appts)
    attended = {a.id for a in appts if a.status == "attended"}
    assert attended == set(demo.scalars(select(Encounter.id).where(Encounter.class_code == "AMB")))
    from idiograph.security.model import Team

    assert set(demo.execute(select(Team.name, Team.kind))) >= {
        ("North Talking Therapies", "talking_therapies"),
        ("Community Mental Health Team", "cmht"),
    }
    # crisis presentations and admissions are encounters too, an admission with its discharge unless still in
    others = demo.execute(
        select(Encounter.class_code, Encounter.end, Encounter.status).where(Encounter.class_code != "AMB")
    )
    assert all(c in ("EMER", "IMP") and (end is None) == (status == "in-progress") for c, end, status in others)
    assert all(a.with_whom for a in appts)


def _risk_assessments_and_a_crisis_plan_for_everyone_at_high_risk(demo: Session) -> None:
    levels = _current_levels(demo)
    assert len(levels) > 100  # everyone assessed at their first attended appointment
    assert set(levels.values()) == {"low", "medium", "high"}
    high = {pid for pid, level in levels.items() if level == "high"}
    assert 0 < len(high) < len(levels) / 5
    planned = set(demo.scalars(select(CrisisPlan.person_id).where(CrisisPlan.current.is_(True))))
    assert high <= planned
    # every plan is a decision under delegated authority, as the care page writes it
    plans = demo.scalar(select(func.count(CrisisPlan.id)))
    assert plans == demo.scalar(select(func.count(Decision.id)).where(Decision.change == "crisis_plan"))
    # every number a plan makes tap-to-call is from Ofcom's drama ranges or a national line (H-061)
    called = {
        uri
        for content in demo.scalars(select(CrisisPlan.content))
        for line in [*content["contacts"], content["crisis_care_preferences"] or ""]
        for _, uri in phone_parts(line)
        if uri
    }
    assert {"tel:111", "tel:116123", "tel:08081570192"} <= called
    assert all(re.fullmatch(r"tel:(07700900\d{3}|01134960\d{3}|08081570\d{3}|111|116123)", u) for u in called)


def _preferences_have_the_care_pages_shape(demo: Session) -> None:
    prefs = list(demo.scalars(select(Preferences)))
    assert prefs
    for p in prefs:
        data = dict(p.data)
        assert 1 <= len(data.pop("goals")) <= 3
        PreferencesIn.model_validate({**data, "expected_version": 0})  # what the page and the API accept
        assert data["days"] and data["periods"] and data["places"] and data["formats"]


def _decisions_under_delegated_authority_and_changes_waiting_for_a_senior(demo: Session) -> None:
    delegated = list(
        demo.scalars(select(Decision).where(Decision.authority == "delegated", Decision.change.like("appointment.%")))
    )
    assert delegated and all(d.status == "applied" for d in delegated)
    for d in delegated:  # applied to the booked appointment
        appt = demo.get(Appointment, uuid.UUID(str(d.payload["appointment_id"])))
        assert appt is not None and appt.status == "booked"
        assert appt.place == d.payload.get("place", appt.place) and appt.format == d.payload.get("format", appt.format)
    pending = list(demo.scalars(select(Escalation).where(Escalation.status == "pending")))
    assert 1 <= len(pending) <= 6
    for e in pending:
        d = demo.get(Decision, e.decision_id)
        assert d is not None and d.status == "pending" and d.decided_at == e.raised_at
        assert e.to_role == "senior_clinician" and e.raised_at <= NOW < e.due_at + (e.due_at - e.raised_at)
    # open episodes have an appointment plan and a named care coordinator
    assert demo.scalar(select(func.count(AppointmentPlan.person_id))) > 0
    assert demo.scalar(select(func.count(CaseloadAssignment.id)).where(CaseloadAssignment.lead_user_id.is_not(None)))


def _reviews_are_recorded_and_everything_is_dated_in_the_demos_past(demo: Session) -> None:
    reviews = list(demo.scalars(select(EpisodeReview)))
    assert reviews and all(r.note.startswith(f"Week {r.week} review: ") for r in reviews)
    times = [
        *demo.scalars(select(EpisodeReview.completed_at)),
        *demo.scalars(select(RiskAssessment.assessed_at)),
        *demo.scalars(select(Preferences.recorded_at)),
        *demo.scalars(select(CrisisPlan.updated_at)),
        *demo.scalars(select(Decision.decided_at)),
        *demo.scalars(select(AppointmentPlan.updated_at)),
    ]
    assert times and max(times) <= NOW
    assert audit.verify(demo)[2] == []


def _community_people_have_dialog_pairs_and_talking_therapies_people_none(demo: Session) -> None:
    table = community_table(demo)
    ended = [r for r in table if r.end_date is not None]
    paired = [pair for r in ended if (pair := dialog_pair(r)) is not None]
    # most ended community referrals seen twice or more have a pair, not all (some forms are not done)
    assert 0 < len(paired) < len(ended)
    assert all(1 <= v <= 7 for r in table for _, v in r.dialog)
    # entered through the questionnaire path: a response record and its write audited for every form
    forms = list(
        demo.scalars(select(QuestionnaireResponseRecord).where(QuestionnaireResponseRecord.instrument == "dialog"))
    )
    assert len(forms) >= len([r for r in table if r.dialog])
    written = demo.scalar(
        select(func.count(AuditRecord.seq)).where(
            AuditRecord.action == "write",
            AuditRecord.resource_type == "QuestionnaireResponse",
            AuditRecord.resource_id.in_([str(f.id) for f in forms]),
        )
    )
    assert written == len(forms)
    # no DIALOG for anyone on a talking-therapies team
    talking = [
        name for name, kind in kpi_definitions().team_kinds.items() if kind in kpi_definitions().talking_therapies_kinds
    ]
    rated = select(QuestionnaireResponseRecord.person_id).where(QuestionnaireResponseRecord.instrument == "dialog")
    assert talking and not demo.scalar(
        select(func.count(Episode.id))
        .join(Team, Team.id == Episode.team_id)
        .where(Team.name.in_(talking), Episode.person_id.in_(rated))
    )


def _a_second_load_writes_no_care_records_again(demo: Session) -> None:
    tables = (Appointment, RiskAssessment, CrisisPlan, Preferences, Decision, Escalation, EpisodeReview)
    before = [demo.scalar(select(func.count()).select_from(t)) for t in tables]
    load_demo(demo, 150, 7, P, TODAY)
    assert [demo.scalar(select(func.count()).select_from(t)) for t in tables] == before


def _fingerprint(path: Path) -> str:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Database(engine, audit_key="a-demo-audit-key-0123456789abcdef").session() as s:
        load_demo(s, 60, 3, P, TODAY)
        rows = {
            "risk": sorted(
                (str(p), lv, at.isoformat(), txt)
                for p, lv, at, txt in s.execute(
                    select(
                        RiskAssessment.person_id,
                        RiskAssessment.level,
                        RiskAssessment.assessed_at,
                        RiskAssessment.summary,
                    )
                )
            ),
            "plans": sorted(
                (str(p), v, json.dumps(c, sort_keys=True))
                for p, v, c in s.execute(select(CrisisPlan.person_id, CrisisPlan.version, CrisisPlan.content))
            ),
            "prefs": sorted(
                (str(p), v, json.dumps(d, sort_keys=True))
                for p, v, d in s.execute(select(Preferences.person_id, Preferences.version, Preferences.data))
            ),
            "decisions": sorted(
                (str(p), c, sm, r, st, at.isoformat())
                for p, c, sm, r, st, at in s.execute(
                    select(
                        Decision.person_id,
                        Decision.change,
                        Decision.summary,
                        Decision.rationale,
                        Decision.status,
                        Decision.decided_at,
                    )
                )
            ),
            "reviews": sorted(
                (str(e), w, n, at.isoformat())
                for e, w, n, at in s.execute(
                    select(EpisodeReview.episode_id, EpisodeReview.week, EpisodeReview.note, EpisodeReview.completed_at)
                )
            ),
        }
    engine.dispose()
    assert all(rows.values()), {k: len(v) for k, v in rows.items()}
    return json.dumps(rows)


def test_the_same_seed_gives_the_same_care_records(tmp_path: Path) -> None:
    assert _fingerprint(tmp_path / "a.db") == _fingerprint(tmp_path / "b.db")
