"""Teams say what kind of team they are, and reports keep each kind apart by it (issue 19)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.patients.model import Episode, Person
from idiograph.reporting.referrals_db import referrals_from_db
from idiograph.reporting.team_kinds import team_kinds
from idiograph.security.model import AuditRecord, Team
from idiograph.security.principal import Principal
from idiograph.security.teams import set_kind, team_by_name


def test_an_admin_makes_a_team_of_a_kind_and_changes_it(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    admin = make_staff("t.admin", "admin")
    made = client.post("/api/v1/teams", json={"name": "East IAPT", "kind": "talking_therapies"}, headers=admin.auth)
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "talking_therapies"
    bad = client.post("/api/v1/teams", json={"name": "West", "kind": "iapt"}, headers=admin.auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    assert db.scalar(select(Team).where(Team.name == "West")) is None  # nothing stored
    changed = client.put("/api/v1/teams/East IAPT/kind", json={"kind": "cmht"}, headers=admin.auth)
    assert changed.status_code == 200 and changed.json()["kind"] == "cmht"
    audit = db.scalars(select(AuditRecord).where(AuditRecord.resource_type == "Team")).all()
    assert [a.action for a in audit] == ["create", "update"]
    assert audit[-1].detail == {"kind": "cmht", "was": "talking_therapies"}
    clinician = make_staff("t.clin", "clinician")
    assert client.put("/api/v1/teams/East IAPT/kind", json={"kind": None}, headers=clinician.auth).status_code == 403
    assert client.put("/api/v1/teams/Nowhere/kind", json={"kind": "cmht"}, headers=admin.auth).status_code == 422


def test_reports_take_the_team_s_own_kind_before_its_name(db: Session) -> None:
    # "Community Mental Health Team" is cmht by name in kpis.yaml; said to be talking therapies, it is reported so
    named = team_by_name(db, "Community Mental Health Team", create=True)
    unnamed = team_by_name(db, "Riverside Wellbeing", create=True)
    unknown = team_by_name(db, "Hillside", create=True)
    assert team_kinds(db)[named.id] == "cmht" and team_kinds(db)[unnamed.id] == "unknown"
    set_kind(db, Principal.system("test"), "Community Mental Health Team", "talking_therapies")
    set_kind(db, Principal.system("test"), "Riverside Wellbeing", "crisis")
    kinds = team_kinds(db)
    assert (kinds[named.id], kinds[unnamed.id], kinds[unknown.id]) == ("talking_therapies", "crisis", "unknown")
    person = Person(given_name="T", family_name="K", sex="female")
    db.add(person)
    db.flush()
    db.add(
        Episode(
            person_id=person.id,
            team_id=named.id,
            referral_date=date(2025, 1, 6),
            referral_source="gp",
            presenting_problem="depression",
            pathway="step 2",
        )
    )
    db.flush()
    (referral,) = referrals_from_db(db)
    assert referral.team_kind == "talking_therapies"


def test_the_command_line_sets_a_team_s_kind(run, db) -> None:  # type: ignore[no-untyped-def]
    team_by_name(db, "Crisis Team", create=True)
    db.commit()
    done = run("users", "team-kind", "--team", "Crisis Team", "--kind", "crisis")
    assert done.exit_code == 0, done.output
    bad = run("users", "team-kind", "--team", "Crisis Team", "--kind", "crisis-ish")
    assert bad.exit_code != 0 and "kind" in bad.output
    db.expire_all()
    assert db.scalar(select(Team.kind).where(Team.name == "Crisis Team")) == "crisis"
