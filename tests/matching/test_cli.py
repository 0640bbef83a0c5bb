"""``idiograph matching solve`` on tables: the contract's columns, optimal, bad input named and nothing written."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.matching.solve import Person, Therapist, exact_by_assignment


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_solve_writes_one_row_per_person_in_order_and_is_optimal(tmp_path: Path) -> None:
    people = [
        {"person_id": "p1", "domain": "depression", "language": "", "preferred_format": ""},
        {"person_id": "p2", "domain": "anxiety", "language": "pl", "preferred_format": ""},
        {"person_id": "p3", "domain": "depression", "language": "", "preferred_format": "video"},
        {"person_id": "p4", "domain": "anxiety", "language": "ur", "preferred_format": ""},
        {"person_id": "p5", "domain": "depression", "language": "", "preferred_format": ""},
    ]
    therapists = [
        {"clinician_id": 101, "capacity": 2, "languages": "en;pl", "formats": "in_person;video",
         "strength_depression": 0.4, "strength_anxiety": 0.9},
        {"clinician_id": 102, "capacity": 1, "languages": "en", "formats": "in_person",
         "strength_depression": 0.8, "strength_anxiety": -0.2},
        {"clinician_id": 103, "capacity": 1, "languages": "en", "formats": "video",
         "strength_depression": -0.5, "strength_anxiety": 0.1},
    ]  # fmt: skip
    out = tmp_path / "assignments.parquet"
    r = invoke(
        "matching", "solve", "--people", str(_write(tmp_path / "people.csv", people)),
        "--therapists", str(_write(tmp_path / "therapists.csv", therapists)), "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    got = pq.read_table(out).to_pydict()
    assert list(got) == ["person_id", "clinician_id", "strength", "reasons"]
    assert got["person_id"] == ["p1", "p2", "p3", "p4", "p5"]
    by = dict(zip(got["person_id"], got["clinician_id"], strict=True))
    assert by["p4"] is None and "language ur" in got["reasons"][3]  # nobody works in Urdu: said, not dropped
    assert by["p2"] == "101"  # Polish: only 101
    # optimal: the same count and total as the exact solver
    ps = [Person(p["person_id"], p["domain"], p["language"] or None, p["preferred_format"] or None) for p in people]
    ts = [
        Therapist(str(t["clinician_id"]), int(t["capacity"]),
                  {"depression": float(t["strength_depression"]), "anxiety": float(t["strength_anxiety"])},
                  frozenset(str(t["languages"]).split(";")), frozenset(str(t["formats"]).split(";")))
        for t in therapists
    ]  # fmt: skip
    count, total = exact_by_assignment(ps, ts)
    assigned = [s for s in got["strength"] if s is not None]
    assert len(assigned) == count and abs(sum(assigned) - total) < 1e-9
    assert re.search(r"unassignable: nobody meets their needs\D*1\b", r.output), r.output  # the count, not any "1"


def test_bad_tables_are_named_and_nothing_is_written(tmp_path: Path) -> None:
    people = _write(tmp_path / "people.csv", [{"person_id": "p1", "domain": "psychosis"}])
    therapists = _write(
        tmp_path / "therapists.csv", [{"clinician_id": "t1", "capacity": -2, "strength_depression": 1.0}]
    )
    out = tmp_path / "a.csv"
    r = invoke("matching", "solve", "--people", str(people), "--therapists", str(therapists), "--out", str(out))
    assert r.exit_code == 2 and "psychosis" in r.output and "negative capacity" in r.output
    assert not out.exists()
    no_strength = _write(tmp_path / "t2.csv", [{"clinician_id": "t1", "capacity": 2}])
    r = invoke("matching", "solve", "--people", str(people), "--therapists", str(no_strength), "--out", str(out))
    assert r.exit_code == 2 and "strength_<domain>" in r.output and not out.exists()
    r = invoke("matching", "solve", "--people", str(people), "--therapists", str(therapists), "--out", "x.txt")
    assert r.exit_code == 2 and "--out" in r.output


def test_columns_not_read_are_said_and_a_duplicate_person_is_named(tmp_path: Path) -> None:
    """Found by a new user's trial: a misspelt optional column was ignored without a word, and "a person appears
    twice" did not say who."""
    people = [{"person_id": "p1", "domain": "depression", "preferd_format": "video"}]
    therapists = [{"clinician_id": "t1", "capacity": 1, "strength_depression": 0.5, "name": "Sam"}]
    out = tmp_path / "a.csv"
    r = invoke(
        "matching", "solve", "--people", str(_write(tmp_path / "people.csv", people)),
        "--therapists", str(_write(tmp_path / "therapists.csv", therapists)), "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "not read from the people table: preferd_format" in r.output
    assert "not read from the therapists table: name" in r.output  # said, as the team column would be
    twice = [{"person_id": "p1", "domain": "depression"}, {"person_id": "p1", "domain": "anxiety"}]
    r = invoke(
        "matching", "solve", "--people", str(_write(tmp_path / "twice.csv", twice)),
        "--therapists", str(_write(tmp_path / "therapists.csv", therapists)), "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 2 and "appear more than once: 'p1'" in r.output, r.output
