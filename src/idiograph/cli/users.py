"""``idiograph users``: staff accounts."""

from __future__ import annotations

import sys

import typer

from idiograph.cli.common import console, database, err, fail
from idiograph.errors import DomainError
from idiograph.security.principal import Principal

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: str = typer.Option(...),
    role: str = typer.Option(...),
    team: list[str] = typer.Option([], help="team name; a new name creates the team"),
    display_name: str | None = None,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
) -> None:
    """Create a local account."""
    from idiograph.security.service import create_user

    if not password_stdin:
        err.print("give the password on standard input with --password-stdin")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    with database().writer() as session:
        try:
            user = create_user(session, Principal.system(), username, role, password, display_name, team)
        except DomainError as exc:
            fail(exc)
            return
    console.print(f"created {user.username} ({user.role}){' in ' + ', '.join(team) if team else ''}")
