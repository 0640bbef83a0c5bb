"""``idiograph outcomes FILE.csv`` for data teams with a spreadsheet (hand-worked expected values)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from idiograph.cli import app as cli

SCORES = """episode_id,date,phq9,gad7,attended
E1,2026-01-05,15,12,1
E1,2026-01-12,12,10,1
E1,2026-02-20,6,5,1
E2,2026-01-05,8,6,yes
E2,2026-02-01,2,1,yes
E3,2026-02-07,16,8,1
E3,2026-01-07,10,8,1
E4,2026-01-01,20,15,1
E4,2026-01-08,,,0
"""


def run(tmp_path: Path, text: str, *args: str):  # type: ignore[no-untyped-def]
    f = tmp_path / "scores.csv"
    f.write_text(text)
    return CliRunner().invoke(cli, ["outcomes", str(f), *args], env={"COLUMNS": "200"})


def test_json_per_episode_and_service_rates(tmp_path: Path) -> None:
    r = run(tmp_path, SCORES, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    by = {e["episode_id"]: e for e in out["episodes"]}
    # E1 15/12 -> 6/5: recovered and reliably improved; E2 starts below caseness (8/6) so cannot recover;
    # E3 is out of date order in the file: 10/8 -> 16/8, PHQ-9 +6 = reliable deterioration;
    # E4 has one attended contact only: not finished.
    assert (by["E1"]["recovered"], by["E1"]["reliable_recovery"]) == (True, True)
    assert (by["E2"]["caseness_start"], by["E2"]["reliable_improvement"]) == (False, True)
    assert by["E3"]["reliable_deterioration"] is True
    assert by["E4"]["finished"] is False
    assert out["finished"] == 3
    assert out["rates"]["recovery"] == {"percent": 50.0, "numerator": 1, "denominator": 2}
    assert out["rates"]["reliable_improvement"] == {"percent": 66.7, "numerator": 2, "denominator": 3}
    assert out["rates"]["reliable_deterioration"] == {"percent": 33.3, "numerator": 1, "denominator": 3}


def test_table_and_csv_formats(tmp_path: Path) -> None:
    table = run(tmp_path, SCORES)
    assert table.exit_code == 0 and "50.0%" in table.output and "66.7%" in table.output
    csv_out = run(tmp_path, SCORES, "--format", "csv").output.splitlines()
    assert "recovery,50.0,1,2" in csv_out and "reliable_improvement,66.7,2,3" in csv_out


def test_bad_cells_are_named_by_line(tmp_path: Path) -> None:
    r = run(tmp_path, "episode_id,date,phq9,gad7\nE1,2026-02-30,30,x\n")
    assert r.exit_code == 2
    assert "line 2/date" in r.output
    r = run(tmp_path, "episode_id,date,phq9,gad7\nE1,2026-02-03,30,x\n")
    assert "line 2/phq9" in r.output and "outside 0-27" in r.output and "line 2/gad7" in r.output
    r = run(tmp_path, "episode,date,phq9\n")
    assert r.exit_code == 2 and "missing column(s): episode_id, gad7" in r.output
