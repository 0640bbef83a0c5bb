"""``idiograph synth``: a synthetic mental-health service with known ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import console, err, progress_bar, show_table


def synth(
    people: int = typer.Option(3000, min=1, help="how many people"),
    seed: int = typer.Option(1, help="same seed, same bytes"),
    out: Path | None = typer.Option(None, help="folder to write (observed data; ground truth under truth/)"),
    fmt: str = typer.Option("parquet", "--format", help="parquet, csv or fhir (one Bundle per person, NDJSON)"),
    params: Path | None = typer.Option(None, help="a params.yaml describing the service (default: built in)"),
    validate: bool = typer.Option(False, "--validate", help="print generated vs national figures"),
    workers: int = typer.Option(2, min=1, help="processes generating people"),
    chunk: int = typer.Option(2000, min=100, help="people per chunk (memory is bounded by chunks, not people)"),
) -> None:
    """Generate a synthetic mental-health service with known ground truth."""
    from idiograph.synth import params as params_module
    from idiograph.synth.chunks import chunks, service_tables
    from idiograph.synth.generator import generate_person, generate_service
    from idiograph.synth.validate import Tally, equity_direction_holds, figures
    from idiograph.synth.writers import write_all

    if fmt not in ("parquet", "csv", "fhir"):
        err.print(f"--format: {fmt!r} is not parquet, csv or fhir")
        raise typer.Exit(2)
    if out is None and not validate:
        err.print("give --out DIR to write files, or --validate to check the calibration")
        raise typer.Exit(2)
    try:
        p = params_module.load(params)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] params: {exc}")
        raise typer.Exit(2) from None
    service = generate_service(p, people, seed)
    if out is not None:
        with progress_bar() as progress:
            task = progress.add_task(f"writing {fmt}", total=people)
            counts = {"observations": 0}

            def advance(tables):  # type: ignore[no-untyped-def]
                counts["observations"] += tables["observations"].num_rows
                progress.advance(task, tables["people"].num_rows)

            write_all(
                out,
                fmt,
                service_tables(service),
                chunks(people, seed, params, chunk, workers),
                f"urn:idiograph:synth:{seed}",
                advance,
            )
        console.print(f"wrote {people:,} people and {counts['observations']:,} observations to {out}")
    if validate:
        tally = Tally()
        with progress_bar() as progress:
            task = progress.add_task("validating", total=people)
            for i in range(people):
                tally.add(generate_person(p, service, seed, i))
                progress.advance(task)
        shown: list[tuple[str, ...]] = []
        failed = False
        for f in figures(tally, p.targets):
            mark = "" if f.within is None else ("ok" if f.within else "OUT")
            failed |= f.within is False
            target = f"{f.target[0]:g}-{f.target[1]:g}" if f.target else ""
            shown.append((f.name, f"{f.generated:.1f}", target, mark, f.detail))
        equity = equity_direction_holds(tally)
        shown.append(
            ("recovery White > minority groups", "yes" if equity else "no", "yes", "ok" if equity else "OUT", "")
        )
        show_table(
            f"Generated vs national figures ({people:,} people, seed {seed})",
            ("figure", "generated", "target", "within", "detail"),
            shown,
            numeric=("generated",),
        )
        if failed or not equity:
            raise typer.Exit(1)
