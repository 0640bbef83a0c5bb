"""The demo stores each person's synthetic intake as their episode's intake record, recorded by the team's demo
clinicians in their professions, without changing a single generated value."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.intake import service as intake
from idiograph.intake.definition import problems
from idiograph.intake.model import IntakeRecord
from idiograph.patients.model import Episode
from idiograph.security.model import AuditRecord, User
from idiograph.security.principal import Principal
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo


def test_the_demo_stores_every_intake_with_each_disciplines_part(db: Session) -> None:
    load_demo(db, 40, 7, synth_params.load(), date(2026, 11, 23))
    episodes = db.scalar(select(func.count(Episode.id)))
    records = list(db.scalars(select(IntakeRecord)))
    assert len(records) == episodes == 40
    assert db.scalar(select(User.profession).where(User.username == "clin.north")) == "clinical_psychologist"
    professions = {c["profession"] for r in records for c in r.contributions.values()}
    assert {"clinical_psychologist", "mental_health_nurse", "psychological_therapist"} <= professions
    flat = intake.answers_by_episode(db, Principal.system(), [r.episode_id for r in records])
    for answers in flat.values():
        whole = {k: v for k, v in answers.items() if k != "goals_latest"}
        assert problems(whole) == []
    assert any(
        r.psychosocial_consent is False and r.answers["psychosocial"] == {"psychosocial_recorded": False}
        for r in records
    ) or all(r.psychosocial_consent for r in records)
    assert all(r.goals and r.goals[0]["ratings"][0]["date"] for r in records)
    rerated = [g for r in records for g in r.goals if len(g["ratings"]) > 1]  # at the reviews the demo recorded
    assert rerated and all(x["date"] > g["ratings"][0]["date"] for g in rerated for x in g["ratings"][1:])
    audited = db.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.resource_type == "IntakeRecord", AuditRecord.action == "create")
    )
    assert audited == 40
    load_demo(db, 40, 7, synth_params.load(), date(2026, 11, 23))  # a second load adds nothing
    assert db.scalar(select(func.count(IntakeRecord.id))) == 40
