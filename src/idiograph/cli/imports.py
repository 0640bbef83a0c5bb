"""``idiograph import``: bring data in (transactional and idempotent)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from idiograph.cli.common import console, err, fail, progress_bar, sessionmaker, team_id
from idiograph.config import get_settings
from idiograph.errors import DomainError
from idiograph.security.principal import Principal

app = typer.Typer(help="Bring data in (transactional and idempotent).", no_args_is_help=True)


@app.command("fhir")
def import_fhir(
    paths: list[Path] = typer.Argument(..., help="Bundle .json files, or .ndjson files with one Bundle per line"),
    team: str | None = typer.Option(None, help="team whose caseload new people join"),
    source: str | None = typer.Option(None, help="source system (default: Bundle.meta.source)"),
) -> None:
    """Import FHIR transaction or batch Bundles (each Bundle is its own transaction)."""
    from idiograph.fhir.importer import import_bundle

    settings = get_settings()
    with sessionmaker()() as session, progress_bar() as progress:
        task = progress.add_task("files", total=len(paths))
        for path in paths:
            statuses: dict[str, int] = {}
            done = 0
            try:
                team_uuid = team_id(session, team)
                with path.open(encoding="utf-8") as f:
                    lines = f if path.suffix == ".ndjson" else [f.read()]
                    for text in lines:
                        if not text.strip():
                            continue
                        body = json.loads(text)
                        result = import_bundle(
                            session, Principal.system(), body, settings.instance_uri, source, team_uuid
                        )
                        done += 1
                        for e in result["entry"]:
                            statuses[e["response"]["status"]] = statuses.get(e["response"]["status"], 0) + 1
            except DomainError as exc:
                where = f"{path}, bundle {done + 1}" if path.suffix == ".ndjson" else str(path)
                err.print(f"{where}: rejected ({done} earlier bundle(s) in this file were stored)", soft_wrap=True)
                fail(exc)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                err.print(f"[red]error:[/red] {path}: {exc}", soft_wrap=True)
                raise typer.Exit(2) from None
            summary = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
            progress.console.print(f"{path}: {done} bundle(s); {summary}", soft_wrap=True)
            progress.advance(task)


@app.command("csv")
def import_csv_cmd(
    path: Path,
    team: str | None = typer.Option(None, help="team whose caseload new people join"),
    source: str = typer.Option("csv", help="source system name (makes re-imports idempotent)"),
) -> None:
    """Import the long CSV format: person_id, code, value, time [, system, unit, person columns]."""
    from idiograph import pipeline
    from idiograph.observations.csv_import import import_csv

    with sessionmaker()() as session, progress_bar() as progress:
        try:
            result, created = import_csv(
                session,
                Principal.system(),
                path.read_text(encoding="utf-8"),
                source,
                team_id(session, team),
                progress,
                record=pipeline.record,
            )
        except DomainError as exc:
            fail(exc)
            return
    console.print(
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged "
        f"observations for {result.people} people ({created} new people)"
    )
