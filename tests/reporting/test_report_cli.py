"""idiograph report kpis: a folder that is not there, or a table without a column, is named plainly (found by a
new user's trial: "has no teams.parquet" for a missing folder, and a bare "'discharge_reason'"); by off the
publication grid is kept with a warning (H-108)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from idiograph.cli import app
from idiograph.patients.model import Episode, Person
from idiograph.reporting.breakdowns import BREAKDOWNS
from idiograph.reporting.kpi_csv import CSV_COLUMNS, csv_rows, csv_text
from idiograph.security.model import AuditRecord
from idiograph.security.teams import team_by_name


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
                        "personalisation", "experience", "community_outcomes", "inpatient", "notes"}  # fmt: skip
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


def test_csv_writes_the_rows_the_reports_page_writes_with_the_by_breakdowns(service: Path) -> None:
    """The command line's CSV is the web CSV's (``reporting.kpi_csv``): the same columns and the totals, every by
    cell and the experience questions of the same document (it lacked by before)."""
    args = ["report", "kpis", "--data", str(service), "--from", "2024-04-01", "--to", "2024-06-30"]
    doc = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    r = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert r.stdout == csv_text(doc)
    assert len(rows) == len(csv_rows(doc))
    by = {row["breakdown"] for row in rows if row["teams"] == "talking_therapies"}
    assert by == {"total", *BREAKDOWNS}
    total = next(row for row in rows if row["breakdown"] == "total" and row["kpi"] == "referrals")
    assert total["numerator"] == str(doc["kpis"]["referrals"]["numerator"]) and total["denominator"] == ""
    # a by cell as published: its numerator is the disclosure-controlled one (None: withheld, an empty cell)
    cell = doc["by"]["sex"][0]
    mine = next(
        row for row in rows if row["breakdown"] == "sex" and row["group"] == cell["group"] and row["kpi"] == "recovery"
    )
    want = cell["kpis"]["recovery"]
    assert mine["numerator"] == ("" if want["numerator"] is None else str(want["numerator"]))
    assert mine["suppressed"] == str(bool(want.get("suppressed")))


def test_off_the_grid_the_csv_holds_service_level_rows_only(service: Path) -> None:
    """A CSV is a file made to be passed on: off the publication grid it has no group row, as the Reports page's CSV
    (H-108); the JSON keeps by for the data team, with its note."""
    args = ["report", "kpis", "--data", str(service), "--from", "2024-05-01", "--to", "2024-07-31"]
    r = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and {row["group"] for row in rows} == {"all"}
    assert "service totals only" in r.stderr
    assert not [row for row in rows if row["breakdown"].startswith(("experience", "community outcomes"))]
    doc = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    assert doc["by"] and any(n.startswith("by: ") for n in doc["notes"])


def test_a_period_error_names_the_option_typed_and_the_reason(service: Path) -> None:
    from idiograph.evaluation.kpis_data import referrals
    from idiograph.reporting.kpi_report import period_of

    span = period_of(referrals(service))
    assert span is not None
    first, last = span

    def refused(*period: str) -> str:
        r = CliRunner().invoke(app, ["report", "kpis", "--data", str(service), "--format", "json", *period])
        assert r.exit_code == 2, r.output
        assert "to:" not in r.output and r.stdout == ""
        return _words(r.output)

    # found in review: --from alone after the data's last day was "the period ends before it starts / to: ..."
    assert refused("--from", "2031-01-01") == (
        f"error: --from 2031-01-01 is after the last day in the data ({last}); give --to as well or an earlier --from"
    )
    assert refused("--to", "2001-01-01") == (
        f"error: --to 2001-01-01 is before the first day in the data ({first}); give --from as well or a later --to"
    )
    assert refused("--from", "2024-05-01", "--to", "2024-04-01") == "error: --to 2024-04-01 is before --from 2024-05-01"
    # the edges are periods: the last day alone, the first day alone, one day
    for period in (["--from", str(last)], ["--to", str(first)], ["--from", str(last), "--to", str(last)]):
        r = CliRunner().invoke(app, ["report", "kpis", "--data", str(service), "--format", "json", *period])
        assert r.exit_code == 0, r.output


def test_a_period_given_whole_is_checked_before_the_data_is_read(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["report", "kpis", "--data", str(tmp_path), "--from", "2024-05-01", "--to", "2024-04-30"]
    )
    assert r.exit_code == 2 and _words(r.output) == "error: --to 2024-04-30 is before --from 2024-05-01"


def test_period_problem_without_data_names_the_missing_option() -> None:
    from idiograph.cli.report import period_problem

    d = date.fromisoformat
    assert period_problem(d("2025-01-01"), None, None) == (
        "--from is given without --to and the data has no referrals to take --to from: give --to"
    )
    assert period_problem(None, d("2025-01-01"), None) == (
        "--to is given without --from and the data has no referrals to take --from from: give --from"
    )
    assert period_problem(None, None, None) == "the data has no referrals to take the period from: give --from and --to"
    span = (d("2025-01-01"), d("2025-12-31"))
    assert period_problem(None, None, span) is None
    assert period_problem(d("2025-12-31"), None, span) is None and period_problem(None, d("2025-01-01"), span) is None
    assert period_problem(d("2026-01-01"), None, span) is not None
    assert period_problem(None, d("2024-12-31"), span) is not None


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_an_unknown_appointment_status_is_refused_with_file_row_and_value(
    service: Path, tmp_path: Path, kind: str
) -> None:
    """The folder reader took an appointment status it did not know and left it out of dna_rate unseen."""
    folder = tmp_path / "service"
    shutil.copytree(service, folder)
    appointments = pq.read_table(folder / "appointments.parquet")
    status = appointments.column("status").to_pylist()
    status[4] = "no_show"
    changed = appointments.set_column(appointments.schema.get_field_index("status"), "status", pa.array(status))
    (folder / "appointments.parquet").unlink()
    if kind == "parquet":
        pq.write_table(changed, folder / "appointments.parquet")
    else:
        pacsv.write_csv(changed, folder / "appointments.csv")
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(folder), "--format", "json"])
    assert r.exit_code == 2 and r.stdout == ""
    assert _words(r.output) == (
        f"error: --data: {folder}: appointments.{kind}: row 5: status 'no_show' is not an appointment outcome "
        "(one of attended, cancelled_person, cancelled_service, dna)"
    )
    # an empty status is refused too
    status[4] = None
    changed = appointments.set_column(appointments.schema.get_field_index("status"), "status", pa.array(status))
    pq.write_table(changed, folder / "appointments.parquet")
    (folder / "appointments.csv").unlink(missing_ok=True)
    r = CliRunner().invoke(app, ["report", "kpis", "--data", str(folder)])
    assert r.exit_code == 2 and "appointments.parquet: row 5: status None" in _words(r.output)


def test_a_period_error_from_the_database_names_the_option_and_writes_no_audit_record(run, db: Session) -> None:  # type: ignore[no-untyped-def]
    """Without --data: the data's days come from the database (read again only when the period cannot be made)."""
    team = team_by_name(db, "Community Mental Health Team", create=True)
    person = Person(given_name="Test", family_name="Period")
    db.add(person)
    db.flush()
    db.add(
        Episode(
            person_id=person.id,
            team_id=team.id,
            referral_date=date(2025, 3, 4),
            referral_source="gp",
            presenting_problem="depression",
            pathway="cmht",
            discharge_date=date(2025, 5, 30),
            discharge_reason="completed",
        )
    )
    db.flush()
    before = db.scalar(select(func.count(AuditRecord.seq)))
    r = run("report", "kpis", "--from", "2031-01-01")
    assert r.exit_code == 2 and r.stdout == ""
    assert _words(r.output) == (
        "error: --from 2031-01-01 is after the last day in the data (2025-05-30); "
        "give --to as well or an earlier --from"
    )
    r = run("report", "kpis", "--to", "2025-03-03", "--format", "csv")
    assert r.exit_code == 2
    assert _words(r.output) == (
        "error: --to 2025-03-03 is before the first day in the data (2025-03-04); give --from as well or a later --to"
    )
    assert db.scalar(select(func.count(AuditRecord.seq))) == before
    r = run("report", "kpis", "--to", "2025-03-04", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["period"] == {"from": "2025-03-04", "to": "2025-03-04"}


def test_only_from_on_an_empty_database_asks_for_to(run) -> None:  # type: ignore[no-untyped-def]
    r = run("report", "kpis", "--from", "2025-01-01")
    assert r.exit_code == 2
    assert _words(r.output) == (
        "error: --from is given without --to and the data has no referrals to take --to from: give --to"
    )
