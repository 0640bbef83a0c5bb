"""idiograph report kpis: a folder that is not there, or a table without a column, is named plainly (found by a
new user's trial: "has no teams.parquet" for a missing folder, and a bare "'discharge_reason'")."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from idiograph.cli import app


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
