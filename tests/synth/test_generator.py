"""The synthetic service: deterministic, calibrated, ground truth apart, importable."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from idiograph.cli import app as cli
from idiograph.fhir.importer import import_bundle, summary_of
from idiograph.fhir.intake_mapping import is_intake
from idiograph.intake.model import IntakeRecord
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.patients import nhs_number
from idiograph.patients.model import Episode, Person
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.synth import params as synth_params
from idiograph.synth.chunks import chunks, service_tables
from idiograph.synth.generator import generate_person, generate_service, nhs_number_for
from idiograph.synth.load import load_demo
from idiograph.synth.writers import write_all

P = synth_params.load()


def _write(out: Path, fmt: str, people: int, seed: int, chunk: int) -> dict[str, str]:
    write_all(
        out,
        fmt,
        service_tables(generate_service(P, people, seed)),
        chunks(people, seed, None, chunk),
        f"urn:idiograph:synth:{seed}",
    )
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*.*"))}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "fhir"])
def test_same_seed_same_bytes(tmp_path: Path, fmt: str) -> None:
    a = _write(tmp_path / "a", fmt, 120, 9, 40)
    b = _write(tmp_path / "b", fmt, 120, 9, 40)
    c = _write(tmp_path / "c", fmt, 120, 10, 40)
    assert a == b
    assert a != c


def test_chunking_and_processes_change_nothing_but_row_groups(tmp_path: Path) -> None:
    one = tmp_path / "one"
    write_all(one, "parquet", service_tables(generate_service(P, 90, 4)), chunks(90, 4, None, 90), "s")
    many = tmp_path / "many"
    write_all(many, "parquet", service_tables(generate_service(P, 90, 4)), chunks(90, 4, None, 30, workers=2), "s")
    for name in ("people.parquet", "observations.parquet", "truth/people.parquet", "appointments.parquet"):
        assert pq.read_table(one / name).equals(pq.read_table(many / name)), name


def test_calibration_on_a_seed_not_used_for_tuning() -> None:
    r = CliRunner().invoke(cli, ["synth", "--people", "4000", "--seed", "2026", "--validate"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    for name in (
        "recovery",
        "reliable_improvement",
        "reliable_deterioration",
        "mean_sessions_finished",
        "missed_appointments",
    ):
        line = next(x for x in r.output.splitlines() if f" {name} " in x)
        assert " ok " in line, line
    assert "OUT" not in r.output


def test_ground_truth_is_kept_apart(tmp_path: Path) -> None:
    _write(tmp_path, "parquet", 60, 3, 60)
    observed = {p.name for p in tmp_path.glob("*.parquet")}
    truth = {p.name for p in (tmp_path / "truth").glob("*.parquet")}
    assert truth == {"people.parquet", "setpoints.parquet", "relapses.parquet", "therapists.parquet"}
    truth_columns = {"risk_trait", "best_option", "setpoint", "onset", "strength", "therapist_effect"}
    for name in observed:
        assert not truth_columns & set(pq.read_schema(tmp_path / name).names), name


def test_every_person_is_coherent() -> None:
    service = generate_service(P, 400, 12)
    numbers = []
    for i in range(400):
        g = generate_person(P, service, 12, i)
        person, episode = g.tables["people"][0], g.tables["episodes"][0]
        if person["nhs_number"]:
            assert nhs_number.is_valid(person["nhs_number"])
            numbers.append(person["nhs_number"])
        assert episode["discharge_date"] > episode["referral_date"]
        assert person["birth_date"] < episode["referral_date"]
        o = g.observations
        if o:
            values = np.concatenate(o["value"])
            kinds = np.asarray(o["kind"])
            assert ((values[kinds == "questionnaire-item"] >= 0) & (values[kinds == "questionnaire-item"] <= 3)).all()
        for r in g.tables.get("responses", []):
            items = [
                v for k, v in zip(o["response_id"], np.concatenate(o["value"]), strict=True) if k == r["response_id"]
            ]
            assert sum(items[:-1]) == items[-1] == r["total"]  # item answers, then the total
        for rel in g.tables.get("truth_relapses", []):
            assert rel["onset"].date() >= episode["discharge_date"] - timedelta(days=30)
        best = g.tables["truth_people"][0]["best_option"]
        assert best in {k.removeprefix("effect_") for k in g.tables["truth_people"][0] if k.startswith("effect_")}
    assert len(numbers) == len(set(numbers)) and len(numbers) > 330  # unique; about 1 in 11 cannot be issued


def test_nhs_numbers_never_repeat_across_the_range() -> None:
    seen = {nhs_number_for(5, i) for i in range(200_000)} - {None}
    assert len(seen) > 180_000 and all(n.startswith("999") for n in list(seen)[:100])


def test_fhir_output_is_accepted_by_the_import(tmp_path: Path, db) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, "fhir", 8, 21, 8)
    bundles = [json.loads(line) for line in (tmp_path / "bundles.ndjson").read_text().splitlines()]
    assert len(bundles) == 8
    system = Principal.system("test")
    from idiograph.security.teams import team_by_name

    team = team_by_name(db, "Synth", create=True).id
    db.commit()
    expected_obs = 0
    for b in bundles:
        out = import_bundle(db, system, b, "urn:idiograph:test", team_id=team)
        assert all(e["response"]["status"] in ("201 Created", "200 OK") for e in out["entry"]), out
        # every generated resource is one idiograph holds; the intake's social-history Observations and Goals say
        # what its QuestionnaireResponse brings (skipped and unchanged: nothing of them is lost)
        social = sum(
            1 for e in b["entry"] if is_intake(e["resource"]) and e["resource"]["resourceType"] == "Observation"
        )
        goals = sum(1 for e in b["entry"] if e["resource"]["resourceType"] == "Goal")
        counts = summary_of(out)
        assert counts["stored"] == len(b["entry"]) - social - goals, counts
        assert (counts["skipped"], counts["unchanged"], counts["rejected"]) == (social, goals, 0), counts
        assert sum(1 for e in b["entry"] if is_intake(e["resource"])) == 1 + social
        for e in b["entry"]:
            r = e["resource"]
            if is_intake(r):
                continue
            if r["resourceType"] == "Observation":
                expected_obs += 1
            elif r["resourceType"] == "QuestionnaireResponse":
                expected_obs += len(r["item"]) + 1  # items and the scored total
    assert db.scalar(select(func.count(Person.id))) == 8
    assert db.scalar(select(func.count(Observation.id))) == expected_obs
    assert db.scalar(select(func.count(IntakeRecord.id))) == 8
    again = import_bundle(db, system, bundles[0], "urn:idiograph:test", team_id=team)
    assert all(e["response"]["status"] == "200 OK" for e in again["entry"])
    social = sum(
        1 for e in bundles[0]["entry"] if e["resource"]["resourceType"] == "Observation" and is_intake(e["resource"])
    )
    assert summary_of(again)["unchanged"] == len(bundles[0]["entry"]) - social
    assert db.scalar(select(func.count(Observation.id))) == expected_obs


def test_demo_loads_through_the_service_layer_and_is_idempotent(db) -> None:  # type: ignore[no-untyped-def]
    today = date(2026, 11, 23)
    load_demo(db, 40, 5, P, today)
    counts = [db.scalar(select(func.count(m.id))) for m in (Person, Episode, Observation, QuestionnaireResponseRecord)]
    assert counts[0] == 40 and counts[1] == 40 and counts[2] > 40 * 20
    latest = db.scalar(select(func.max(Observation.effective_at)))
    assert latest <= datetime(2026, 11, 23, 8, tzinfo=UTC)  # nothing after "now" in the demo
    assert db.scalar(select(func.count(Episode.id)).where(Episode.discharge_date.is_(None))) > 0  # some still open
    load_demo(db, 40, 5, P, today)
    db.expire_all()
    assert [
        db.scalar(select(func.count(m.id))) for m in (Person, Episode, Observation, QuestionnaireResponseRecord)
    ] == counts
    assert audit.verify(db)[2] == []


def test_params_are_validated_with_the_field_named(tmp_path: Path) -> None:
    bad = Path(synth_params.DEFAULT).read_text().replace("ethnicity: {A: 0.74", "ethnicity: {Q: 0.74")
    f = tmp_path / "params.yaml"
    f.write_text(bad)
    r = CliRunner().invoke(cli, ["synth", "--validate", "--people", "10", "--params", str(f)])
    assert r.exit_code == 2 and "ethnicity" in r.output and "Q" in r.output


def test_the_demo_never_loads_into_a_database_with_real_people(db) -> None:  # type: ignore[no-untyped-def]
    """The demo writes as the operator and refits the service's models: into a database with a team's real
    patient (here with a test-range NHS number a generated person could carry) it refuses, writing nothing."""
    import pytest

    from idiograph.errors import Conflict
    from idiograph.patients.model import PersonIdentifier
    from idiograph.security.model import User

    real = Person(given_name="Mary", family_name="Seacole", sex="female", nhs_number="9990000018")
    real.identifiers.append(PersonIdentifier(system="urn:idiograph:source:ehr", value="E1"))
    db.add(real)
    db.commit()
    with pytest.raises(Conflict, match="1 people the demo did not make"):
        load_demo(db, 5, 5, P, date(2026, 11, 23))
    db.rollback()
    assert db.scalar(select(func.count(Person.id))) == 1
    assert db.scalar(select(func.count(User.id))) == 0
    assert db.scalar(select(Person.given_name)) == "Mary"
