"""``idiograph outcomes``: NHS Talking Therapies outcomes from a spreadsheet of scores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from idiograph.cli.common import console, err, fail, show_table
from idiograph.errors import DomainError


def outcomes(
    path: Path = typer.Argument(..., help="CSV: episode_id, date, phq9, gad7 [, attended]"),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
) -> None:
    """NHS Talking Therapies outcomes per episode and for the service, from a spreadsheet of scores."""
    from idiograph.monitoring.outcomes.csv_scores import parse
    from idiograph.monitoring.outcomes.nhs_talking_therapies import service_rates

    if fmt not in ("table", "csv", "json"):
        err.print(f"--format: {fmt!r} is not table, csv or json")
        raise typer.Exit(2)
    try:
        episodes, problems = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] {path}: {exc}")
        raise typer.Exit(2) from None
    if problems:
        fail(DomainError(f"{len(problems)} problem(s) in {path}", problems))
    rows = []
    for e in sorted(episodes, key=lambda e: e.episode_id):
        o = e.outcome()
        rows.append(
            {
                "episode_id": e.episode_id,
                "finished": o.finished,
                "paired_scores": o.paired_scores,
                "caseness_start": o.caseness_start,
                "recovered": o.recovered,
                "reliable_improvement": o.reliable_improvement,
                "reliable_deterioration": o.reliable_deterioration,
                "reliable_recovery": o.reliable_recovery,
            }
        )
    r = service_rates(e.outcome() for e in episodes)
    rates = {
        name: {
            "percent": None if rate.percent is None else round(rate.percent, 1),
            "numerator": rate.numerator,
            "denominator": rate.denominator,
        }
        for name, rate in (
            ("recovery", r.recovery),
            ("reliable_improvement", r.reliable_improvement),
            ("reliable_recovery", r.reliable_recovery),
            ("reliable_deterioration", r.reliable_deterioration),
        )
    }
    if fmt == "json":
        sys.stdout.write(json.dumps({"episodes": rows, "finished": r.finished, "rates": rates}, indent=2) + "\n")
        return
    if fmt == "csv":
        import csv as csv_module

        w = csv_module.writer(sys.stdout)
        w.writerow(list(rows[0]) if rows else ["episode_id"])
        for row in rows:
            w.writerow(["" if v is None else v for v in row.values()])
        w.writerow([])
        w.writerow(["measure", "percent", "numerator", "denominator"])
        for name, v in rates.items():
            w.writerow([name, "" if v["percent"] is None else f"{v['percent']:.1f}", v["numerator"], v["denominator"]])
        return
    yn = {True: "yes", False: "no", None: "-"}
    show_table(
        f"Episodes ({len(rows)})",
        (
            "episode",
            "finished",
            "paired scores",
            "case at start",
            "recovered",
            "improved",
            "worse",
            "reliably recovered",
        ),
        [
            (
                row["episode_id"],
                yn[row["finished"]],
                str(row["paired_scores"]),
                yn[row["caseness_start"]],
                yn[row["recovered"]],
                yn[row["reliable_improvement"]],
                yn[row["reliable_deterioration"]],
                yn[row["reliable_recovery"]],
            )
            for row in rows
        ],
        numeric=("paired scores",),
    )
    console.print("improved, worse: reliable improvement and reliable deterioration (Jacobson and Truax 1991)")
    show_table(
        f"Service ({r.finished} finished episodes)",
        ("measure", "rate", "numerator", "denominator"),
        [
            (
                name.replace("_", " "),
                "-" if v["percent"] is None else f"{v['percent']:.1f}%",
                str(v["numerator"]),
                str(v["denominator"]),
            )
            for name, v in rates.items()
        ],
        numeric=("rate", "numerator", "denominator"),
    )
