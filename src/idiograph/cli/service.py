"""``idiograph serve`` and ``idiograph demo``: the web UI and the API, and a demo service to try them on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from idiograph.cli.common import console, database, fail, progress_bar, show_table
from idiograph.errors import DomainError
from idiograph.security.principal import Principal


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = typer.Option(
        1, min=1, max=64, help="server processes (each with its own threads and connection pool; see the user guide)"
    ),
) -> None:
    """Serve the web UI and the API."""
    import uvicorn

    if workers == 1:
        from idiograph.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    else:  # each process builds its own app from the same settings
        uvicorn.run("idiograph.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


def demo(
    people: int = typer.Option(2000, min=1, help="how many people"),
    seed: int = typer.Option(7, help="same seed, same service"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when people are already stored"),
    params: Path | None = typer.Option(None, help="a params.yaml describing the service (default: built in)"),
) -> None:
    """Fill the database with a synthetic service (window ending today) and print the demo log-ins."""
    from idiograph.synth import params as params_module
    from idiograph.synth.load import DEMO_PASSWORD, is_empty, load_demo, load_staff

    with database().session() as session:  # the demo commits in batches of people (synth.load)
        if if_empty and not is_empty(session):
            staff = load_staff(session, Principal.system("demo"))
            console.print("people are already stored; demo data left as it is")
        else:
            try:
                with progress_bar() as progress:
                    staff = load_demo(session, people, seed, params_module.load(params), date.today(), progress)
            except DomainError as exc:
                fail(exc)
    show_table(f"Demo log-ins (password for all: {DEMO_PASSWORD})", ("username", "role"), list(staff))
