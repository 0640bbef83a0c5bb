"""``idiograph matching``: matching people to therapists by measured strengths under capacity."""

from __future__ import annotations

from pathlib import Path

import typer

from idiograph.cli.common import bad_option, console, error_line, progress_bar, show_table
from idiograph.errors import DomainError

app = typer.Typer(help="Matching people to therapists by measured strengths and preferences, under capacity.")


@app.command("solve")
def matching_solve(
    people: Path = typer.Option(
        ..., help="PEOPLE table (CSV or Parquet): person_id, domain[, language, preferred_format]"
    ),
    therapists: Path = typer.Option(
        ..., help="THERAPISTS table: clinician_id, capacity, strength_<domain>...[, languages, formats]"
    ),
    out: Path = typer.Option(..., help="ASSIGNMENTS table to write (.csv or .parquet)"),
) -> None:
    """The optimal batch match: as many people assigned as capacity and hard constraints (language, format) allow,
    then the largest sum of the assigned therapists' strength in each person's domain. Waitlisted and unassignable
    people are in the output with the reason; nothing is dropped."""
    from idiograph.matching.solve import solve
    from idiograph.matching.tables import assignment_columns, people_from, therapists_from
    from idiograph.selection.tables import read_table, write_table

    if out.suffix.lower() not in (".csv", ".parquet"):
        bad_option("--out", "must end in .csv or .parquet")
    try:
        with progress_bar() as progress:
            step = progress.add_task("reading the tables", total=None)
            asked, offered = people_from(read_table(people)), therapists_from(read_table(therapists))
            progress.update(step, description=f"solving for {len(asked):,} people and {len(offered):,} therapists")
            result = solve(asked, offered)
            progress.update(step, description="writing the assignments")
            write_table(out, assignment_columns(result))
            progress.update(step, description="done", total=1, completed=1)
    except DomainError as exc:
        error_line(exc.detail)
        for p in getattr(exc, "problems", [])[:20]:
            console.print(f"  {p.field}: {p.reason}")
        raise typer.Exit(2) from None
    n = len(result.assignments)
    show_table(
        f"{n:,} people matched to {out}: optimal (most assigned, then most strength)",
        ["", "people"],
        [
            ["assigned", f"{result.assigned:,}"],
            ["waitlisted: capacity ran out", f"{result.waitlisted - len(result.unassignable):,}"],
            ["unassignable: nobody meets their needs", f"{len(result.unassignable):,}"],
        ],
        numeric={"people"},
    )
    console.print(f"total strength of assigned pairs: {result.objective:,.3f}")
