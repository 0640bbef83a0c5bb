"""`idiograph monitoring evaluate` end to end on a small generated service (seeded)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from idiograph.cli import app as cli


def test_evaluate_generates_fits_and_reports_by_group(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["monitoring", "evaluate", "--people", "400", "--seed", "3", "--format", "json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout[r.stdout.index("{") :])
    assert "400 people, seed 3" in body["title"]
    rows = {(x["model"], x["dimension"], x["group"]): x for x in body["results"]}
    overall = rows[("curve", "all", "all")]
    assert overall["episodes"] > 50
    assert overall["deteriorated_flagged"] <= overall["deteriorated"]
    assert overall["improved"] + overall["non_responders"] == overall["episodes"]
    assert {("nn", "all", "all"), ("either", "all", "all"), ("both", "all", "all")} <= set(rows)
    assert any(d == "ethnic group" for _, d, _ in rows) and any(d == "age band" for _, d, _ in rows)
    # "either" flags at least what each model flags; "both" at most.
    e, b, n = rows[("either", "all", "all")], rows[("both", "all", "all")], rows[("nn", "all", "all")]
    assert b["non_responders_flagged"] <= min(overall["non_responders_flagged"], n["non_responders_flagged"])
    assert e["non_responders_flagged"] >= max(overall["non_responders_flagged"], n["non_responders_flagged"])


def test_evaluate_refuses_a_folder_without_the_tables(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["monitoring", "evaluate", "--data", str(tmp_path)])
    assert r.exit_code == 2 and "people.parquet" in r.output
