"""``idiograph import``: bring data in (transactional and idempotent)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from idiograph.cli.common import console, database, err, fail, progress_bar, team_id
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
    """Import FHIR transaction or batch Bundles. Each Bundle is its own transaction: a refused Bundle is reported
    with its reasons and the import goes on to the next (exit 1 at the end if any was refused)."""
    from idiograph.fhir.importer import import_bundle, summary_of

    settings = get_settings()
    db = database()
    refused = 0
    if team is not None:
        with db.reader() as session:
            try:
                team_id(session, team)
            except DomainError as exc:
                fail(exc)
    with progress_bar() as progress:
        task = progress.add_task("files", total=len(paths))
        for path in paths:
            statuses: dict[str, int] = {}
            outcomes: dict[str, int] = {}
            stored = 0
            try:
                with path.open(encoding="utf-8") as f:
                    lines = f if path.suffix == ".ndjson" else [f.read()]
                    for number, text in enumerate(lines, 1):
                        if not text.strip():
                            continue
                        where = f"{path}, bundle {number}" if path.suffix == ".ndjson" else str(path)
                        try:
                            body = json.loads(text)
                            with db.writer() as session:
                                result = import_bundle(
                                    session,
                                    Principal.system(),
                                    body,
                                    settings.instance_uri,
                                    source,
                                    team_id(session, team),
                                )
                        except json.JSONDecodeError as exc:
                            refused += 1
                            err.print(f"{where}: refused, not JSON ({exc})", soft_wrap=True)
                            continue
                        except DomainError as exc:
                            refused += 1
                            err.print(f"{where}: refused ({exc.detail})", soft_wrap=True)
                            for p in exc.problems[:20]:
                                err.print(f"  {p.field}: {p.reason}", soft_wrap=True)
                            continue
                        stored += 1
                        for e in result["entry"]:
                            statuses[e["response"]["status"]] = statuses.get(e["response"]["status"], 0) + 1
                        for k, n in summary_of(result).items():
                            outcomes[k] = outcomes.get(k, 0) + n
            except (OSError, UnicodeDecodeError) as exc:
                err.print(f"[red]error:[/red] {path}: {exc}", soft_wrap=True)
                raise typer.Exit(2) from None
            summary = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
            said = ", ".join(f"{n} {k}" for k, n in outcomes.items())
            progress.console.print(f"{path}: {stored} bundle(s) stored; {summary} ({said})", soft_wrap=True)
            progress.advance(task)
    if refused:
        err.print(f"{refused} bundle(s) refused; the others were stored")
        raise typer.Exit(1)


@app.command("csv")
def import_csv_cmd(
    path: Path,
    team: str | None = typer.Option(None, help="team whose caseload new people join"),
    source: str = typer.Option("csv", help="source system name (makes re-imports idempotent)"),
) -> None:
    """Import the long CSV format: person_id, code, value, time [, system, unit, person columns]."""
    from idiograph import pipeline
    from idiograph.observations.csv_import import import_csv

    with progress_bar() as progress:
        try:
            with database().writer() as session:
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
