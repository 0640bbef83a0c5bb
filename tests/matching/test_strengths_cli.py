"""``idiograph matching strengths`` (from a synthetic service folder and from the database) writes the THERAPISTS
table ``matching solve`` reads unchanged; ``matching evaluate`` reports every policy on synthetic truth."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.evaluation.synthetic import table
from idiograph.matching.model import Therapist, TherapistStrength
from idiograph.matching.settings import settings
from idiograph.security.model import AuditRecord
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "service"
    r = invoke("synth", "--people", "1500", "--seed", "5", "--out", str(out))
    assert r.exit_code == 0, r.output
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_strengths_from_a_folder_write_the_therapists_table_solve_reads(service: Path, tmp_path: Path) -> None:
    out = tmp_path / "therapists.csv"
    r = invoke("matching", "strengths", "--service", str(service), "--out", str(out))
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    domains = settings().all_domains
    assert domains == ["anxiety", "depression", "trauma"]
    columns = ["clinician_id", "name", "team", "capacity", "languages", "formats"]
    for d in domains:
        columns += [f"strength_{d}", f"strength_{d}_se", f"cases_{d}", f"class_{d}"]
    assert list(rows[0]) == columns
    clinicians = [c for c in table(service, "clinicians").to_pylist() if c["role"] == "clinician"]
    assert [x["clinician_id"] for x in rows] == [c["clinician_id"] for c in clinicians]
    # free places: the caseload less the episodes still open (none are open at the end of this window)
    held = Counter(e["clinician_id"] for e in table(service, "episodes").to_pylist() if e["discharge_date"] is None)
    assert [int(x["capacity"]) for x in rows] == [max(0, c["capacity"] - held[c["clinician_id"]]) for c in clinicians]
    min_cases = settings().strengths.min_cases
    for x in rows:
        for d in domains:
            n, klass, se = int(x[f"cases_{d}"]), x[f"class_{d}"], float(x[f"strength_{d}_se"])
            assert klass in ("effective", "neutral", "ineffective", "too_few")
            assert (klass == "too_few") == (n < min_cases)  # H-100: never classed on too few cases
            assert se > 0 and math.isfinite(float(x[f"strength_{d}"]))
            if n == 0:
                assert float(x[f"strength_{d}"]) == 0.0  # no history: the service average, not a guess
    # every finished episode with two scores in a domain is counted once
    assert sum(int(x[f"cases_{d}"]) for x in rows for d in domains) > 500
    # the file feeds matching solve unchanged
    people = tmp_path / "people.csv"
    with people.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "domain", "language"])
        for i in range(60):
            w.writerow([f"p{i}", domains[i % 3], "en"])
    assignments = tmp_path / "assignments.csv"
    r = invoke("matching", "solve", "--people", str(people), "--therapists", str(out), "--out", str(assignments))
    assert r.exit_code == 0, r.output
    got = _rows(assignments)
    assert [g["person_id"] for g in got] == [f"p{i}" for i in range(60)]
    assert all(g["clinician_id"] for g in got)  # plenty of places: everyone assigned
    strength = {(x["clinician_id"], d): float(x[f"strength_{d}"]) for x in rows for d in domains}
    for i, g in enumerate(got):
        assert float(g["strength"]) == pytest.approx(strength[(g["clinician_id"], domains[i % 3])])


def test_evaluate_reports_every_policy_on_synthetic_truth(service: Path) -> None:
    r = invoke("matching", "evaluate", "--data", str(service), "--format", "json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output[r.output.index("{") :])
    assert set(report["policies"]) == {"as allocated", "random", "matched", "oracle"}
    p = report["policies"]
    for name, v in p.items():
        assert 0.0 <= v["waitlisted"] <= 1.0
        m = v["mean_true_strength"]
        assert m["lower"] <= m["estimate"] <= m["upper"]
        assert (v["gain"] is None) == (name == "as allocated")
    assert p["as allocated"]["waitlisted"] == 0.0  # what the service did: everyone had someone
    # the oracle knows the truth: nothing under the same capacity does better
    assert p["oracle"]["mean_true_strength"]["estimate"] >= p["matched"]["mean_true_strength"]["estimate"] - 1e-9
    assert p["oracle"]["mean_true_strength"]["estimate"] >= p["random"]["mean_true_strength"]["estimate"] - 1e-9
    assert p["matched"]["gain"]["estimate"] > 0  # on this seed matching beats the service's allocation
    assert report["later_referrals"] + report["history_referrals"] > 0 and report["finished_episodes"] > 0
    assert -1.0 <= report["correlation"] <= 1.0
    assert sum(report["classes"].values()) > 0


def test_strengths_from_the_database_replace_the_stored_ones_and_match_the_file(run, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_demo(db, 200, 5, synth_params.load(), date.today())
    db.execute(delete(TherapistStrength))  # whatever the demo stored: the command must write its own
    db.commit()
    fits_before = _fits(db)
    out = tmp_path / "therapists.csv"
    r = run("matching", "strengths", "--out", str(out))
    assert r.exit_code == 0, r.output
    db.expire_all()
    rows = _rows(out)
    therapists = list(db.scalars(select(Therapist).where(Therapist.active.is_(True)).order_by(Therapist.name)))
    assert [x["clinician_id"] for x in rows] == [str(t.id) for t in therapists]
    assert [int(x["capacity"]) for x in rows] == [t.capacity for t in therapists]
    stored = {(str(s.therapist_id), s.domain): s for s in db.scalars(select(TherapistStrength))}
    assert stored, "the demo's finished episodes should give strengths"
    domains = sorted({d for _, d in stored})
    for x in rows:
        for d in domains:
            s = stored.get((x["clinician_id"], d))
            if s is None:
                assert (int(x[f"cases_{d}"]), x[f"class_{d}"], float(x[f"strength_{d}"])) == (0, "too_few", 0.0)
            else:  # the file and the stored strengths the ranking reads are the same fit
                assert int(x[f"cases_{d}"]) == s.cases and x[f"class_{d}"] == s.klass
                assert float(x[f"strength_{d}"]) == pytest.approx(s.strength, abs=1e-4)
                assert float(x[f"strength_{d}_se"]) == pytest.approx(s.se, abs=1e-4)
                assert (s.klass == "too_few") == (s.cases < settings().strengths.min_cases)
    assert _fits(db) == fits_before + 1  # the refit is in the audit trail


def _fits(db) -> int:  # type: ignore[no-untyped-def]
    return len(
        db.scalars(
            select(AuditRecord).where(AuditRecord.action == "fit", AuditRecord.resource_type == "TherapistStrength")
        ).all()
    )
