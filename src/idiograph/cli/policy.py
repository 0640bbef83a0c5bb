"""``idiograph policy``: delegated-authority policies."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import console, err

app = typer.Typer(help="Delegated-authority policies.", no_args_is_help=True)


@app.command("check")
def policy_check(path: Path = typer.Argument(..., help="a delegated-authority policy file (YAML)")) -> None:
    """Validate a policy, explain it in plain words, and refuse contradictions (exit 1)."""
    from idiograph.governance import policy as policy_module

    try:
        p = policy_module.load(path)
    except FileNotFoundError:
        err.print(f"[red]error:[/red] {path} does not exist")
        raise typer.Exit(2) from None
    except policy_module.PolicyError as exc:
        err.print(f"[red]{path} is not a usable policy:[/red]")
        for where, why in exc.problems:
            err.print(f"  {where}: {why}")
        raise typer.Exit(1) from None
    for line in policy_module.explain(p):
        console.print(line)
    console.print(f"[green]{path}: valid, version {p.version}[/green]")
