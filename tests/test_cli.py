"""The command line against the configured database (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from idiograph.observations.model import Observation
from idiograph.patients.model import Person
from idiograph.security.model import AuditRecord, User

DATA = Path(__file__).parent / "fhir" / "data"


def test_help_everywhere(run) -> None:  # type: ignore[no-untyped-def]
    for cmd in ([], ["users"], ["import"], ["export"], ["audit"], ["db"], ["demo"], ["serve"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.output


def test_users_create_reads_password_from_stdin(run, db) -> None:  # type: ignore[no-untyped-def]
    r = run(
        "users",
        "create",
        "--username",
        "h.marsh",
        "--role",
        "senior_clinician",
        "--team",
        "Crisis Team",
        "--password-stdin",
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    assert db.scalar(select(User.role).where(User.username == "h.marsh")) == "senior_clinician"
    bad = run("users", "create", "--username", "x.y", "--role", "wizard", "--password-stdin", input="a-long-password\n")
    assert bad.exit_code == 2 and "unknown role" in bad.output


def test_import_csv_then_fhir_then_export_round_trip(run, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run(
        "users",
        "create",
        "--username",
        "clin",
        "--role",
        "clinician",
        "--team",
        "North",
        "--password-stdin",
        input="a-long-password\n",
    )
    csv = tmp_path / "scores.csv"
    csv.write_text("person_id,code,value,time,family_name\nE1,44261-6,15,2026-02-01T09:00:00Z,Seacole\n")
    r = run("import", "csv", str(csv), "--team", "North", "--source", "ehr")
    assert r.exit_code == 0 and "1 created" in r.output, r.output
    r = run("import", "csv", str(csv), "--team", "North", "--source", "ehr")
    assert "0 created" in r.output and "1 unchanged" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,code,value,time\nE9,44261-6,99,2026-02-01\n")
    r = run("import", "csv", str(bad), "--team", "North")
    assert r.exit_code == 2 and "line 2/value" in r.output
    # a new person with no team would be on nobody's caseload (their safety alerts seen by no one): refused
    r = run("import", "fhir", str(DATA / "synthea_style_us_core.json"))
    assert r.exit_code == 1 and "needs a team" in r.output, r.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Person).where(Person.family_name == "Kertzmann286")) == 0
    r = run("import", "fhir", str(DATA / "synthea_style_us_core.json"), "--team", "North")
    assert r.exit_code == 0 and "1 bundle(s)" in r.output and "10 x 201 Created" in r.output, r.output
    assert "(10 stored, 0 unchanged, 5 skipped, 0 rejected, 0 unit-unconverted)" in r.output, r.output
    db.expire_all()
    pid = db.scalar(select(Person.id).where(Person.family_name == "Kertzmann286"))
    out = tmp_path / "export.json"
    r = run("export", "fhir", "--person", str(pid), "--out", str(out))
    assert r.exit_code == 0
    n_obs = db.scalar(select(func.count(Observation.id)))
    bundle = json.loads(out.read_text())
    assert bundle["meta"]["source"] == "urn:idiograph:test"
    r = run("import", "fhir", str(out))
    assert r.exit_code == 0 and "201" not in r.output
    db.expire_all()
    assert db.scalar(select(func.count(Observation.id))) == n_obs
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "export", AuditRecord.person_id == pid)
        )
        == 1
    )
    assert run("audit", "verify").exit_code == 0


def test_demo_loads_and_is_idempotent(run, db) -> None:  # type: ignore[no-untyped-def]
    r = run("demo", "--people", "12", "--seed", "3")
    assert r.exit_code == 0 and "clin.north" in r.output, r.output
    db.expire_all()
    n_people, n_obs = db.scalar(select(func.count(Person.id))), db.scalar(select(func.count(Observation.id)))
    assert n_people == 12 and n_obs > 12 * 16
    r = run("demo", "--people", "12", "--seed", "3")
    db.expire_all()
    assert (db.scalar(select(func.count(Person.id))), db.scalar(select(func.count(Observation.id)))) == (12, n_obs)
    r = run("demo", "--if-empty")
    assert "already stored" in r.output


def test_import_fhir_reads_ndjson_from_synth(run, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = run("import", "fhir", str(DATA / "synthea_style_us_core.json"), "--team", "Nobody")
    assert missing.exit_code == 2 and "no team named 'Nobody'" in missing.output
    run(
        "users",
        "create",
        "--username",
        "synth.clin",
        "--role",
        "clinician",
        "--team",
        "Synth Team",
        "--password-stdin",
        input="a-long-password\n",
    )
    out = tmp_path / "synth"
    r = run("synth", "--people", "6", "--seed", "4", "--out", str(out), "--format", "fhir", "--workers", "1")
    assert r.exit_code == 0, r.output
    r = run("import", "fhir", str(out / "bundles.ndjson"), "--team", "Synth Team")
    assert r.exit_code == 0 and "6 bundle(s)" in r.output, r.output
    db.expire_all()
    assert db.scalar(select(func.count(Person.id))) == 6
    n_obs = db.scalar(select(func.count(Observation.id)))
    again = run("import", "fhir", str(out / "bundles.ndjson"), "--team", "Synth Team")
    assert again.exit_code == 0 and "201" not in again.output
    db.expire_all()
    assert db.scalar(select(func.count(Observation.id))) == n_obs


def test_a_whole_generated_fhir_file_imports_and_a_refused_bundle_does_not_stop_the_rest(
    run, db, make_staff, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Seed 11's first 50 people include a lab test drawn twice on one day: both once shared 09:00 and so one
    identity, and the import refused that person's whole bundle (26 of 2,000 people at seed 5)."""
    make_staff("synth.clin", "clinician", ("Synth Team",))
    out = tmp_path / "synth"
    r = run("synth", "--people", "50", "--seed", "11", "--out", str(out), "--format", "fhir", "--workers", "1")
    assert r.exit_code == 0, r.output
    file = out / "bundles.ndjson"
    r = run("import", "fhir", str(file), "--team", "Synth Team")
    assert r.exit_code == 0 and "50 bundle(s) stored" in r.output, r.output
    db.expire_all()
    assert db.scalar(select(func.count(Person.id))) == 50
    # a file with a broken bundle in the middle: reported by number, the others stored, exit 1
    lines = file.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[1])
    bad["entry"][0]["resource"]["birthDate"] = "not a date"
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_text("\n".join([lines[0], json.dumps(bad), "{not json", lines[2]]) + "\n", encoding="utf-8")
    r = run("import", "fhir", str(mixed), "--team", "Synth Team")
    assert r.exit_code == 1, r.output
    assert "bundle 2: refused" in r.output and "bundle 3: refused, not JSON" in r.output
    assert "2 bundle(s) stored" in r.output and "2 bundle(s) refused" in r.output
