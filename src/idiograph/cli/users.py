"""``idiograph users``: staff accounts."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session

from idiograph.cli.common import console, database, err, fail, show_table
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


@app.command("list")
def users_list() -> None:
    """Every account: role, whether active, failed sign-ins in a row and any lockout, live sessions."""
    from idiograph.db import utcnow
    from idiograph.security.service import list_users
    from idiograph.security.sessions import live_count

    now = utcnow()
    rows = []
    with database().reader() as session:
        for u in list_users(session, Principal.system()):
            locked = f"{u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until and u.locked_until > now else ""
            rows.append(
                (
                    u.username,
                    u.display_name,
                    u.role.replace("_", " "),
                    u.profession.replace("_", " ") if u.profession else "",
                    "yes" if u.active else "no",
                    str(u.failed_signins),
                    locked,
                    str(live_count(session, u.id)),
                )
            )
    show_table(
        "Accounts",
        ("username", "name", "role", "profession", "active", "failed sign-ins", "locked until (UTC)", "live sessions"),
        rows,
        numeric=("failed sign-ins", "live sessions"),
    )


def _account_change(what: str, change) -> None:  # type: ignore[no-untyped-def]
    with database().writer() as session:
        try:
            ended = change(session)
        except DomainError as exc:
            fail(exc)
            return
    console.print(f"{what}{f'; {ended} session(s) ended' if ended else ''}")


@app.command("password")
def users_password(
    username: str = typer.Option(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the new password from stdin"),
) -> None:
    """Set a new password for someone (give it to them another way); their sessions and tokens end."""
    from idiograph.security.service import reset_password

    if not password_stdin:
        err.print("give the new password on standard input with --password-stdin")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    _account_change(
        f"password of {username} reset", lambda s: reset_password(s, Principal.system(), username, password)
    )


@app.command("deactivate")
def users_deactivate(username: str = typer.Option(...)) -> None:
    """Deactivate an account: every session and token ends at once."""
    from idiograph.security.service import set_active

    _account_change(f"{username} deactivated", lambda s: set_active(s, Principal.system(), username, False))


@app.command("activate")
def users_activate(username: str = typer.Option(...)) -> None:
    """Reactivate an account."""
    from idiograph.security.service import set_active

    _account_change(f"{username} activated", lambda s: set_active(s, Principal.system(), username, True))


@app.command("unlock")
def users_unlock(username: str = typer.Option(...)) -> None:
    """Lift a lockout after failed sign-ins."""
    from idiograph.security.service import unlock

    _account_change(f"{username} unlocked", lambda s: unlock(s, Principal.system(), username))


@app.command("role")
def users_role(username: str = typer.Option(...), role: str = typer.Option(...)) -> None:
    """Change someone's role (it applies from their next request)."""
    from idiograph.security.service import set_role

    _account_change(f"{username} is now {role}", lambda s: set_role(s, Principal.system(), username, role))


@app.command("teams")
def users_teams(
    username: str = typer.Option(...),
    team: list[str] = typer.Option([], help="an existing team; repeat for each (none: no team)"),
) -> None:
    """Put someone in exactly these teams."""
    from idiograph.security.service import set_teams

    _account_change(
        f"{username}'s teams: {', '.join(team) or 'none'}", lambda s: set_teams(s, Principal.system(), username, team)
    )


@app.command("team-kind")
def users_team_kind(
    team: str = typer.Option(..., help="an existing team's name"),
    kind: str = typer.Option(..., help="talking_therapies, cmht, crisis, ... ('' to clear); reports keep kinds apart"),
) -> None:
    """Say what kind of team it is (the Reports page and `report kpis` report each kind apart)."""
    from idiograph.security.teams import set_kind

    def change(s: Session) -> int:
        set_kind(s, Principal.system(), team, kind or None)
        return 0  # no session ends

    _account_change(f"{team}: kind {kind or 'not stated'}", change)


@app.command("profession")
def users_profession(
    username: str = typer.Option(...),
    profession: str = typer.Option(..., help="one of the intake definition's professions; '' to clear"),
) -> None:
    """Set someone's profession (it marks what they contribute to an intake record)."""
    from idiograph.intake.definition import definition
    from idiograph.security.service import set_profession

    professions = definition().professions
    _account_change(
        f"{username}'s profession: {professions.get(profession, 'none')}",
        lambda s: set_profession(s, Principal.system(), username, profession, professions),
    )
