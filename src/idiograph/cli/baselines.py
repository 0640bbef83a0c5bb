"""``idiograph baselines``: priors and whole-population intervals."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import console, database, err, progress_bar
from idiograph.security.principal import Principal

app = typer.Typer(help="Personal baselines: priors, whole-population intervals, evaluation.", no_args_is_help=True)


@app.command("fit")
def baselines_fit(
    raise_latest: bool = typer.Option(False, help="then judge every person's latest result (raises alerts)"),
) -> None:
    """Estimate each measure's population prior from the service's results and rebuild every baseline."""
    from idiograph.baselines import service as baseline_service

    actor = Principal.system("baselines-fit").actor
    with database().writer() as session, progress_bar() as progress:
        progress.add_task("fitting priors and rebuilding baselines", total=None)
        rep = baseline_service.fit_priors(session, actor, raise_latest=raise_latest)
    console.print(f"{rep.priors} prior(s) for {rep.measures} measure(s); {rep.states:,} personal baselines rebuilt")
    for measure, why in rep.skipped.items():
        console.print(f"[yellow]no prior[/yellow] {measure}: {why}")


@app.command("compute")
def baselines_compute(
    observations: Path = typer.Option(..., help="Parquet or CSV with person_id, code, value, time"),
    out: Path = typer.Option(..., help="output file: .parquet or .csv"),
    method: str = typer.Option("eb", help="eb (empirical Bayes), coskun (biological variation) or setpoint (Foy)"),
    coverage: float = typer.Option(0.95, help="central interval for the next result"),
    engine: str = typer.Option("duckdb", help="duckdb (embedded) or spark (PySpark; local unless configured)"),
) -> None:
    """Every person's setpoint and personalised interval for every measure, in one pass."""
    import time

    from idiograph.cohort import baselines as cohort_baselines

    if method not in ("eb", "coskun", "setpoint"):
        err.print(f"--method: {method!r} is not eb, coskun or setpoint")
        raise typer.Exit(2)
    if engine not in ("duckdb", "spark"):
        err.print(f"--engine: {engine!r} is not duckdb or spark")
        raise typer.Exit(2)
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("starting", total=None)
        try:
            n = cohort_baselines.compute(
                observations,
                out,
                method,  # type: ignore[arg-type]
                coverage,
                engine,  # type: ignore[arg-type]
                say=lambda m: progress.update(task, description=m),
            )
        except cohort_baselines.InputError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    console.print(f"{n:,} (person, measure) rows written to {out} in {time.perf_counter() - started:.1f} s")
