"""``idiograph baselines``: priors and whole-population intervals."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import bad_option, console, database, date_option, error_line, progress_bar
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
    since: str | None = typer.Option(None, help="only results on or after this date (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, help="only results before the end of this date (YYYY-MM-DD)"),
    spark_master: str | None = typer.Option(
        None,
        help="Spark master URL (spark://host:7077, yarn, k8s://..., local[4]); default: spark-submit's or the "
        "Spark configuration's (spark-defaults.conf), else local[*]",
    ),
    spark_conf: list[str] | None = typer.Option(
        None, help="a Spark setting KEY=VALUE over the Spark configuration (repeat for more)"
    ),
) -> None:
    """Every person's setpoint and personalised interval for every measure, in one pass."""
    import time
    from datetime import timedelta

    from idiograph.cohort import baselines as cohort_baselines

    if method not in ("eb", "coskun", "setpoint"):
        bad_option("--method", f"{method!r} is not eb, coskun or setpoint")
    if engine not in ("duckdb", "spark"):
        bad_option("--engine", f"{engine!r} is not duckdb or spark")
    if engine != "spark" and (spark_master or spark_conf):
        bad_option("--spark-master" if spark_master else "--spark-conf", "only with --engine spark")
    conf: dict[str, str] = {}
    for item in spark_conf or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            bad_option("--spark-conf", f"{item!r} is not KEY=VALUE (e.g. spark.executor.memory=4g)")
        conf[key.strip()] = value.strip()
    first, last = date_option(since, "--since"), date_option(until, "--until")
    if first and last and last < first:
        bad_option("--until", f"{last} is before --since {first}")
    started = time.perf_counter()
    refused: Exception | None = None
    con = None
    where: tuple[str, str] | None = None
    with progress_bar() as progress:
        task = progress.add_task("starting", total=None)
        try:
            if engine == "spark":
                progress.update(task, description="starting Spark")
                con = cohort_baselines.connect("spark", spark_master, conf)
                where = cohort_baselines.spark_where(con)
            n = cohort_baselines.compute(
                observations,
                out,
                method,  # type: ignore[arg-type]
                coverage,
                engine,  # type: ignore[arg-type]
                say=lambda m: progress.update(task, description=m),
                since=first,
                until=last + timedelta(days=1) if last else None,
                con=con,
            )
        except cohort_baselines.InputError as exc:
            refused = exc
        finally:
            if con is not None:
                cohort_baselines.disconnect(con)
    if refused is not None:  # after the progress line, so the error is the last thing printed
        error_line(str(refused))
        raise typer.Exit(2)
    console.print(f"{n:,} (person, measure) rows written to {out} in {time.perf_counter() - started:.1f} s")
    if where is not None:
        console.print(f"on Spark {where[0]}, application {where[1]}")
