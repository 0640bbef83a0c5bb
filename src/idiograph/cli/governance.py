"""``idiograph governance``: escalations that nobody answered in time."""

from __future__ import annotations

import typer

from idiograph.cli.common import console, database, show_table
from idiograph.security.principal import Principal

app = typer.Typer(help="Governance: escalations not answered in time.", no_args_is_help=True)


@app.command("escalate-overdue")
def escalate_overdue() -> None:
    """Re-escalate, once, every escalation past its due time, by the policy's overdue rule (safe to run on a
    schedule: running it again changes nothing)."""
    from idiograph.governance import service as governance

    policy = governance.current_policy()
    if policy.overdue is None:
        console.print(f"policy {policy.version} has no overdue rule: nothing re-escalated")
        return
    with database().writer() as session:
        done = governance.escalate_overdue(session, Principal.system("governance"))
        rows = [
            (f"{e.due_at:%Y-%m-%d %H:%M}", str(e.person_id)[:8], e.to_role.replace("_", " "), str(e.escalated_to))
            for e in done
        ]
    if not rows:
        console.print("no overdue escalations waiting to be re-escalated")
        return
    show_table(
        f"Re-escalated to a {policy.overdue.escalate_to.replace('_', ' ')} ({len(rows)})",
        ("was due (UTC)", "person", "answered by", "now also with"),
        rows,
    )
