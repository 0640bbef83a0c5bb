"""idiograph report kpis: a folder that is not there, or a table without a column, is named plainly (found by a
new user's trial: "has no teams.parquet" for a missing folder, and a bare "'discharge_reason'"); by off the
publication grid is kept with a warning (H-108)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.reporting.breakdowns import BREAKDOWNS


def _words(output: str) -> str:
    return " ".join(output.split())


def test_a_missing_folder_is_said_to_be_missing(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(tmp_path / "nowhere")])
    assert r.exit_code == 2
    assert "is not a folder" in _words(r.output) and "teams.parquet" not in r.output


def test_a_missing_column_is_named_as_a_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"team_id": ["t1"], "kind": ["talking_therapies"]}), tmp_path / "teams.parquet")
    pq.write_table(pa.table({"episode_id": ["e1"]}), tmp_path / "appointments.parquet")
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(tmp_path)])
    assert r.exit_code == 2
    assert "lacks the column" in _words(r.output), r.output


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grid") / "service"
    r = CliRunner().invoke(app, ["synth", "--people", "60", "--seed", "5", "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    return out


def test_by_off_the_grid_is_kept_for_a_data_team_with_a_warning_and_a_note(service: Path) -> None:
    """H-108: the command line keeps by on any period, but a period that is not one whole ended financial quarter
    is named as a differencing risk on stderr and in notes; the JSON's keys are unchanged."""
    args = ["report", "kpis", "--data", str(service), "--format", "json"]
    off = CliRunner().invoke(app, [*args, "--from", "2024-01-01", "--to", "2024-12-31"])
    assert off.exit_code == 0, off.output
    doc = json.loads(off.stdout)
    assert set(doc) == {"period", "definitions", "kpis", "community", "by", "supplementary", "funnel",
                        "personalisation", "experience", "community_outcomes", "notes"}  # fmt: skip
    assert list(doc["by"]) == list(BREAKDOWNS)
    note = [n for n in doc["notes"] if n.startswith("by: ")]
    assert len(note) == 1 and "differencing" in note[0] and "H-108" in note[0]
    assert "2023-24 Q4, 2024-25 Q1, 2024-25 Q2, 2024-25 Q3" in note[0]
    warning = _words(off.stderr)
    assert warning.startswith("warning: by: 2024-01-01 to 2024-12-31 is not one period") and "differencing" in warning

    on = CliRunner().invoke(app, [*args, "--from", "2024-04-01", "--to", "2024-06-30"])
    assert on.exit_code == 0, on.output
    doc = json.loads(on.stdout)
    assert list(doc["by"]) == list(BREAKDOWNS)
    assert not [n for n in doc["notes"] if n.startswith("by: ")] and "warning" not in on.stderr
