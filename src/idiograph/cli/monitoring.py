"""``idiograph monitoring``: expected recovery and not-on-track alerts."""

from __future__ import annotations

import typer

from idiograph.cli.common import console, database, err, progress_bar, show_table
from idiograph.security.principal import Principal

app = typer.Typer(help="Expected recovery and not-on-track alerts.", no_args_is_help=True)


@app.command("fit")
def monitoring_fit(
    judge: bool = typer.Option(True, help="then judge the latest score of every open episode"),
) -> None:
    """Refit the expected-recovery models on the service's finished episodes (each becomes active)."""
    from idiograph.monitoring.recovery import not_on_track

    actor = Principal.system("monitoring-fit").actor
    with database().writer() as session, progress_bar() as progress:
        task = progress.add_task("fitting", total=None)
        fitted = not_on_track.fit(session, actor, lambda m: progress.update(task, description=m))
        raised = not_on_track.judge_open(session, actor) if judge and fitted else 0
    if not fitted:
        err.print("no model fitted: too few finished episodes with scores after intake")
        raise typer.Exit(1)
    show_table(
        "Expected-recovery models (now active)",
        ("instrument", "model", "finished episodes"),
        [(f.instrument, f.kind, f"{f.n_episodes:,}") for f in fitted],
        numeric=("finished episodes",),
    )
    if judge:
        console.print(f"open episodes judged: {raised} not-on-track alert(s) raised")
