"""``idiograph audit``: the tamper-evident audit trail."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import console, database, err

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


def _expected(text: str | None):  # type: ignore[no-untyped-def]
    from idiograph.security.audit_chain import Head

    if text is None:
        return None
    if text.startswith("@"):
        lines = [x for x in Path(text[1:]).read_text(encoding="utf-8").splitlines() if x.strip()]
        if not lines:
            raise ValueError(f"{text[1:]} holds no exported head")
        text = lines[-1].split()[-1]
    return Head.parse(text)


@app.command("verify")
def audit_verify(
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        help="a head exported earlier (SEQ:HASH, or @FILE for the last line `idiograph audit head` appended "
        "there): the trail must still contain it, which catches records cut from the end",
    ),
) -> None:
    """Check the whole keyed chain; names every edited, deleted, reordered or forged record."""
    from idiograph.security import audit
    from idiograph.security.audit import Actor, verify

    try:
        expect = _expected(expect_head)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] --expect-head: {exc}")
        raise typer.Exit(2) from None
    db = database()
    with db.reader() as session:
        n, head, problems = verify(session, expect)
    with db.writer() as session:  # the check itself is on the record: when, how far, what it found
        detail = {"records": n, "problems": len(problems), "expected_head": str(expect) if expect else None}
        audit.append(session, Actor.system("audit-verify"), "verify", "AuditTrail", None, None, detail=detail)
    if problems:
        for p in problems:
            err.print(f"[red]record {p.seq}[/red] {p.kind}: {p.message}")
        raise typer.Exit(1)
    checked = f"; contains the exported head {expect.seq}" if expect else ""
    console.print(f"audit trail intact: {n} records, head {head}{checked}")


@app.command("head")
def audit_head(
    append_to: Path | None = typer.Option(None, help="also append it, with the time, to this file (keep it elsewhere)"),
) -> None:
    """Print where the chain ends now (SEQ:HASH), to keep apart from the database for `verify --expect-head`."""
    from idiograph.security import audit

    with database().reader() as session:
        now = audit.head(session)
    if append_to is not None:
        audit.export_head(append_to, now)
    console.print(str(now))
