"""``idiograph monitoring evaluate`` and ``idiograph baselines evaluate``: the research harness on synthetic
ground truth (evaluation/), kept apart from the commands that change a service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from idiograph.cli.common import check_format, console, err, progress_bar


def synthetic_service(folder: Path, people: int, seed: int, progress: Progress) -> Path:
    """Write a synthetic service (Parquet) into ``folder`` for an evaluation, showing progress."""
    from idiograph.synth import params as params_module
    from idiograph.synth.chunks import chunks, service_tables
    from idiograph.synth.generator import generate_service
    from idiograph.synth.writers import write_all

    task = progress.add_task(f"generating {people:,} people (seed {seed})", total=people)
    write_all(
        folder,
        "parquet",
        service_tables(generate_service(params_module.load(), people, seed)),
        chunks(people, seed, None, 2000, 2),
        f"urn:idiograph:synth:{seed}",
        lambda t: progress.advance(task, t["people"].num_rows),
    )
    return folder


def monitoring_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(10000, min=100, help="without --data: generate this many people"),
    seed: int = typer.Option(2026, help="without --data: the generator's seed"),
    instrument: str = typer.Option("phq-9", help="phq-9 or gad-7"),
    tail: list[float] = typer.Option([0.10], help="one-sided tail of the boundary (repeat to compare)"),
    k: int = typer.Option(50, min=5, help="neighbours for the Lutz model"),
    by_group: bool = typer.Option(True, help="also break down by ethnic group, sex and age band"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
) -> None:
    """Judge the not-on-track models on held-out episodes of a synthetic service (a fixed half of people)."""
    import tempfile

    from idiograph.evaluation import not_on_track_report as report
    from idiograph.evaluation import synthetic

    check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("reading episodes", total=None)
        try:
            eps = synthetic.episodes(folder, instrument)
            results, n_train, n_test = report.run(
                eps, instrument, tail, k, lambda m: progress.update(step, description=m)
            )
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    if not by_group:
        results = [r for r in results if r.dimension == "all"]
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    title = (
        f"Not on track on {instrument.upper()}: fitted on {n_train:,} finished episodes, "
        f"judged on {n_test:,} held out ({source})"
    )
    if out_format == "json":
        sys.stdout.write(json.dumps({"title": title, "results": [report.as_json(r) for r in results]}, indent=2) + "\n")
        return
    if out_format == "markdown":
        sys.stdout.write(f"{title}\n\n| " + " | ".join(report.COLUMNS) + " |\n|" + "---|" * len(report.COLUMNS) + "\n")
        for r in results:
            sys.stdout.write("| " + " | ".join(report.row(r)) + " |\n")
        return
    table = Table(title=title)
    for col in report.COLUMNS:
        table.add_column(col)
    for r in results:
        table.add_row(*report.row(r))
    console.print(table)


def baselines_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(5000, min=100, help="without --data: generate this many people"),
    seed: int = typer.Option(2026, help="without --data: the generator's seed"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
) -> None:
    """Personal against population intervals and fixed thresholds, on a synthetic service's ground truth."""
    import tempfile

    from idiograph.evaluation import baselines_report as baseline_report

    check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("evaluating", total=None)
        try:
            rows = baseline_report.run(folder, lambda m: progress.update(step, description=m))
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    title = (
        f"Personal baselines against population rules: priors fitted on half the people, judged on the other ({source})"
    )
    if out_format == "json":
        sys.stdout.write(
            json.dumps({"title": title, "results": [baseline_report.as_json(r) for r in rows]}, indent=2) + "\n"
        )
        return
    if out_format == "markdown":
        cols = baseline_report.COLUMNS
        sys.stdout.write(f"{title}\n\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for r in rows:
            sys.stdout.write("| " + " | ".join(baseline_report.cells(r)) + " |\n")
        return
    table = Table(title=title)
    for col in baseline_report.COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(*baseline_report.cells(r))
    console.print(table)
