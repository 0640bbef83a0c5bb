"""``idiograph db``: the database schema."""

from __future__ import annotations

import typer

from idiograph.cli.common import console
from idiograph.config import get_settings
from idiograph.db import make_engine

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (SQLite or PostgreSQL, by IDIOGRAPH_DATABASE_URL)."""
    from idiograph.migrate import upgrade

    settings = get_settings()
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    upgrade(engine, audit_key=settings.audit_key)
    console.print(f"schema is current on {engine.url.render_as_string()}")
