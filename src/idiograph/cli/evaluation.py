"""``idiograph monitoring evaluate`` and ``idiograph baselines evaluate``: the research harness on synthetic
ground truth (evaluation/), kept apart from the commands that change a service."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.progress import Progress

from idiograph.cli.common import check_format, console, err, progress_bar, show_table


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


def _emit(
    out_format: str,
    title: str,
    notes: list[str],
    columns: Sequence[str],
    rows: list[list[str]],
    body: dict[str, object],
) -> None:
    """Print an evaluation as JSON, a markdown table or a rich table, with its notes beside it."""
    if out_format == "json":
        sys.stdout.write(json.dumps({"title": title, "notes": notes, **body}, indent=2) + "\n")
        return
    if out_format == "markdown":
        sys.stdout.write(f"{title}\n\n" + "".join(f"- {n}\n" for n in notes))
        sys.stdout.write("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for r in rows:
            sys.stdout.write("| " + " | ".join(r) + " |\n")
        return
    show_table(title, columns, rows)
    for n in notes:
        console.print(f"- {n}")


def monitoring_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(10000, min=100, help="without --data: generate this many people"),
    seed: int = typer.Option(2026, help="without --data: the generator's seed"),
    instrument: str = typer.Option("phq-9", help="phq-9 or gad-7"),
    tail: list[float] = typer.Option([0.10], help="one-sided tail of the boundary (repeat to compare)"),
    k: int = typer.Option(50, min=5, help="neighbours for the Lutz model"),
    by_group: bool = typer.Option(True, help="also break down by ethnic group, sex and age band"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
    placebo_seed: int = typer.Option(1, help="seed of the fake deterioration scores (placebo onsets)"),
) -> None:
    """Judge the not-on-track models on held-out episodes of a synthetic service (a fixed half of people)."""
    import tempfile

    from idiograph.evaluation import not_on_track_report as report
    from idiograph.evaluation import seeds, synthetic

    check_format(out_format)
    if any(not 0 < t < 0.5 for t in tail):
        err.print("--tail: each tail must be between 0 and 0.5")
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("reading episodes", total=None)
        try:
            eps = synthetic.episodes(folder, instrument)
            rep = report.run(
                eps, instrument, tail, k, lambda m: progress.update(step, description=m), placebo_seed=placebo_seed
            )
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    results = rep.results if by_group else [r for r in rep.results if r.dimension == "all"]
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    title = (
        f"Not on track on {instrument.upper()}: fitted on {rep.n_train:,} finished episodes, "
        f"judged on {rep.n_test:,} held out ({source})"
    )
    rule, ref_tail = rep.reference
    notes = [
        seeds.note(None if data else seed),
        f"Reference: the shipped rule {rule} at tail {ref_tail:g}; rows marked 'equal false alarms' are each other "
        "rule at the tail that flags as many improvers as the reference (the fair comparison).",
        "Deteriorated flagged: at or before the score at which the person first reached reliable deterioration "
        "(the instrument's reliable-change criterion from intake); weeks of warning run from the first flag to "
        "that score; 'ahead' means strictly before it.",
        f"Placebo: the same rule at a fake deterioration score in episodes that never deteriorated (seed "
        f"{rep.placebo_seed}), at the relative positions of the true ones: what chance alone scores.",
        "False alarms: reliably improved episodes flagged before their last score. Intervals: Wilson 95% (for "
        "scores above the boundary they treat scores as independent, though they cluster within episodes, so "
        "they are too narrow); cells of fewer than 10 cases are suppressed. Synthetic data (hazard H-014): "
        "rerun on your own episodes.",
    ]
    body: dict[str, object] = {
        "seed": None if data else seed,
        "tuning_seeds": list(seeds.TUNING_SEEDS),
        "reference": {"rule": rule, "tail": ref_tail},
        "placebo_seed": rep.placebo_seed,
        "results": [report.as_json(r) for r in results],
    }
    _emit(out_format, title, notes, report.COLUMNS, [report.row(r) for r in results], body)


def baselines_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(5000, min=100, help="without --data: generate this many people"),
    seed: int = typer.Option(2026, help="without --data: the generator's seed"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
    window: list[int] = typer.Option([30, 60], min=1, help="days after the true change a detection must fall in"),
    placebo_seed: int = typer.Option(1, help="seed of the fake onsets in series that never changed"),
) -> None:
    """Personal against population intervals and fixed thresholds, on a synthetic service's ground truth."""
    import tempfile

    from idiograph.evaluation import baselines_report as baseline_report
    from idiograph.evaluation import seeds

    check_format(out_format)
    windows = sorted(set(window))
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("evaluating", total=None)
        try:
            rows = baseline_report.run(
                folder, lambda m: progress.update(step, description=m), windows, placebo_seed=placebo_seed
            )
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    title = (
        f"Personal baselines against population rules: priors fitted on half the people, judged on the other ({source})"
    )
    spans = " and ".join(f"{w}" for w in windows)
    notes = [
        seeds.note(None if data else seed),
        f"Detected within {spans} days: an alarm from the true change to that many days after it. 'Any time' "
        "counts any later alarm and is shown only to say how much a missing window inflates a rate.",
        f"Placebo: the same rule at fake onsets in series that never changed (seed {placebo_seed}), at the "
        "relative positions of the true changes: what chance alone scores.",
        "Compared: each comparator as configured (its own false alarms, not comparable) and at the reference's "
        "false alarms per person-year (the fair comparison). False alarms: alarms before the change or in "
        "series that never changed, per person-year of unchanged observation (Garwood 95% interval, which "
        "treats alarms as independent). Rates: Wilson 95%; fewer than 10 cases suppressed.",
        "Synthetic data (hazard H-014): a service should rerun this on its own data.",
    ]
    body: dict[str, object] = {
        "seed": None if data else seed,
        "tuning_seeds": list(seeds.TUNING_SEEDS),
        "windows_days": windows,
        "placebo_seed": placebo_seed,
        "results": [baseline_report.as_json(r) for r in rows],
    }
    cols = baseline_report.columns(windows)
    _emit(out_format, title, notes, cols, [baseline_report.cells(r) for r in rows], body)
