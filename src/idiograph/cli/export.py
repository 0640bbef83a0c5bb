"""``idiograph export``: take a person's record out."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import typer

from idiograph.cli.common import console, database, fail
from idiograph.config import get_settings
from idiograph.errors import DomainError
from idiograph.security.principal import Principal

app = typer.Typer(help="Take records out: one person's FHIR Bundle, or Bulk Data NDJSON.", no_args_is_help=True)


@app.command("fhir")
def export_fhir(
    person: uuid.UUID = typer.Option(..., help="person id"),
    out: Path | None = typer.Option(None, help="file to write (default: standard output)"),
) -> None:
    """Export a person's record as a FHIR transaction Bundle (re-importable as is)."""
    from idiograph.fhir.service import export_person

    with database().reader() as session:
        try:
            bundle = export_person(session, Principal.system(), person, get_settings().instance_uri, via="cli")
        except DomainError as exc:
            fail(exc)
            return
    text = json.dumps(bundle, indent=2)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(bundle['entry'])} resources to {out}")
    else:
        sys.stdout.write(text + "\n")


@app.command("bulk")
def export_bulk(
    out: Path = typer.Option(..., help="folder to write the NDJSON files to (one per resource type)"),
    team: str | None = typer.Option(None, help="one team's caseload (name or id); default: the whole service"),
    types: str | None = typer.Option(None, "--type", help="comma-separated resource types (default: all)"),
) -> None:
    """Export the whole service (or one team) as FHIR NDJSON, one file per resource type (Bulk Data format)."""
    from idiograph.fhir import bulk
    from idiograph.security.teams import team_by_name

    db = database()
    system = Principal.system()
    params = [("_type", types)] if types else []
    try:
        with db.writer() as session:
            team_id = None
            if team:
                try:
                    team_id = uuid.UUID(team)
                except ValueError:
                    team_id = team_by_name(session, team).id
            scope = "team" if team_id else "service"
            req = bulk.parse_request(params, "respond-async", scope, team_id, f"idiograph export bulk --out {out}")
            job = bulk.kick_off(session, system, req)
            job_id = job.id
    except DomainError as exc:
        fail(exc)
        return
    out.mkdir(parents=True, exist_ok=True)
    from idiograph.cli.common import progress_bar

    with progress_bar() as bar:
        task = bar.add_task("exporting", total=None)

        def show(rt: str, n: int) -> None:
            bar.update(task, description=f"{rt}", completed=n)

        bulk.run(db, job_id, system, get_settings().export_dir, show, out=out)
    with db.reader() as session:
        from idiograph.fhir.model import BulkExport

        done = session.get(BulkExport, job_id)
        assert done is not None
        if done.status != "done":
            fail(DomainError(done.error or f"the export {done.status}"))
        for f in done.files:
            console.print(f"{f['type']:<24} {int(str(f['count'])):>10,}  {out / str(f['name'])}")
        console.print(done.progress)
