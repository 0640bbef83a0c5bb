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

app = typer.Typer(help="Take a person's record out.", no_args_is_help=True)


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
