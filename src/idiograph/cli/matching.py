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
    from idiograph.matching.tables import assignment_columns, ignored_columns, people_from, therapists_from
    from idiograph.selection.tables import read_table, write_table

    if out.suffix.lower() not in (".csv", ".parquet"):
        bad_option("--out", "must end in .csv or .parquet")
    try:
        with progress_bar() as progress:
            step = progress.add_task("reading the tables", total=None)
            people_table, therapist_table = read_table(people), read_table(therapists)
            asked, offered = people_from(people_table), therapists_from(therapist_table)
            for kind, table in (("people", people_table), ("therapists", therapist_table)):
                if extra := ignored_columns(table, kind):
                    console.print(f"[yellow]not read from the {kind} table: {', '.join(extra)}[/yellow]")
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


@app.command("strengths")
def matching_strengths(
    service: Path | None = typer.Option(
        None, help="a synthetic service folder (idiograph synth); without it, the database's finished episodes"
    ),
    out: Path = typer.Option(..., help="THERAPISTS table to write (.csv or .parquet), ready for matching solve"),
) -> None:
    """Each therapist's strength by problem domain: every finished episode's end score against its expected end
    score (the service's expected-recovery curve: intake score and sessions), shrunk toward the service mean
    (empirical Bayes) with a 95% interval; classed effective / neutral / ineffective only with enough cases
    (matching.yaml: min_cases). From the database this also replaces the strengths the ranking and batch use."""
    from idiograph.matching.settings import settings
    from idiograph.matching.strengths import estimate
    from idiograph.matching.tables import therapist_columns
    from idiograph.selection.tables import write_table

    if out.suffix.lower() not in (".csv", ".parquet"):
        bad_option("--out", "must end in .csv or .parquet")
    s = settings()
    try:
        with progress_bar() as progress:
            step = progress.add_task("reading finished episodes", total=None)
            if service is not None:
                staff, found, skipped = _from_folder(service, s)
            else:
                staff, found, skipped = _from_database(s, lambda m: progress.update(step, description=m))
            progress.update(step, description=f"estimating strengths from {len(found):,} finished episodes")
            strengths, summaries = estimate(found, s.strengths.min_cases, s.strengths.level)
            write_table(out, therapist_columns(staff, strengths, summaries))
            progress.update(step, description="done", total=1, completed=1)
    except (FileNotFoundError, KeyError) as exc:
        error_line(f"{exc}")
        raise typer.Exit(2) from None
    except (DomainError, ValueError) as exc:
        error_line(getattr(exc, "detail", str(exc)))
        raise typer.Exit(2) from None
    rows = []
    for d in summaries:
        mine = [x for x in strengths if x.domain == d.domain]
        counts = {k: sum(x.klass == k for x in mine) for k in ("effective", "neutral", "ineffective", "too_few")}
        rows.append(
            [
                d.domain,
                f"{d.therapists:,}",
                f"{d.episodes:,}",
                f"{d.between_sd:.2f}",
                f"{d.within_sd:.2f}",
                *(f"{counts[k]:,}" for k in ("effective", "neutral", "ineffective", "too_few")),
            ]
        )
    show_table(
        f"Strengths of {len(staff):,} therapists written to {out} (PHQ-9 points against the service average)",
        [
            "domain",
            "therapists",
            "episodes",
            "between SD",
            "within SD",
            "effective",
            "neutral",
            "ineffective",
            f"< {s.strengths.min_cases} cases",
        ],
        rows,
        numeric={"therapists", "episodes", "between SD", "within SD", "effective", "neutral", "ineffective"},
    )
    for why, n in sorted(skipped.items()):
        console.print(f"not used: {n:,} episodes ({why})")
    console.print(
        "Strengths are for supervision and matching, not a league table: most intervals include the service average."
    )


def _from_folder(folder: Path, s: object) -> tuple[list[dict[str, object]], list[object], dict[str, int]]:
    from collections import Counter

    from idiograph.evaluation import matching as ev
    from idiograph.evaluation import matching_data as md
    from idiograph.evaluation.synthetic import table

    refs = md.referrals(folder, s)  # type: ignore[arg-type]
    staff = [x for x in md.staff(folder) if x.role == "clinician"]
    # free places now: the caseload less the episodes still open (not yet discharged, whatever their problem; an
    # episode that ended early holds no place - found: every unfinished episode ever was counted as held)
    still_open = Counter(
        e["clinician_id"]
        for e in table(folder, "episodes").select(["clinician_id", "discharge_date"]).to_pylist()
        if e["discharge_date"] is None and e["clinician_id"]
    )
    rows: list[dict[str, object]] = [
        {
            "clinician_id": x.clinician_id,
            "name": x.name,
            "team": x.team_id,
            "capacity": max(0, x.capacity - still_open.get(x.clinician_id, 0)),
            "languages": x.languages,
            "formats": x.formats,
        }
        for x in staff
    ]
    found = ev.outcomes(refs, ev.fit_curve(refs))
    usable = sum(1 for r in refs if r.finished and len(r.scores) >= 2)
    return rows, list(found), {"not finished or fewer than two scores": len(refs) - usable}


def _from_database(s: object, say: object) -> tuple[list[dict[str, object]], list[object], dict[str, int]]:
    from sqlalchemy import select

    from idiograph.cli.common import database
    from idiograph.matching import service as matching_service
    from idiograph.matching.model import Therapist
    from idiograph.security.principal import Principal

    with database().writer() as session:
        found, skipped = matching_service.outcomes_from_db(session, s)  # type: ignore[arg-type]
        matching_service.fit_strengths(session, Principal.system("matching").actor, (found, skipped))
        teams = matching_service.team_names(session)
        staff: list[dict[str, object]] = [
            {
                "clinician_id": str(t.id),
                "name": t.name,
                "team": teams.get(t.team_id) if t.team_id else None,
                "capacity": t.capacity,
                "languages": t.languages,
                "formats": t.formats,
            }
            for t in session.scalars(select(Therapist).where(Therapist.active.is_(True)).order_by(Therapist.name))
        ]
    return staff, list(found), skipped


@app.command("evaluate")
def matching_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(10000, min=500, help="without --data: generate this many people"),
    seed: int = typer.Option(3, help="without --data: the generator's seed (also the random allocation's)"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
) -> None:
    """Judge matching on synthetic truth: strengths estimated from the earlier referrals, the later ones allocated
    as the service did, at random under capacity, matched, and by an oracle that knows the true strengths."""
    import json
    import sys
    import tempfile

    from idiograph.cli.common import check_format
    from idiograph.cli.evaluation import synthetic_service
    from idiograph.evaluation import matching as ev
    from idiograph.evaluation import matching_data as md
    from idiograph.matching.settings import settings

    check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("reading referrals", total=None)
        try:
            s = settings()
            report = ev.run(
                md.referrals(folder, s),
                md.staff(folder),
                md.true_strengths(folder),
                s,
                seed,
                lambda m: progress.update(step, description=m),
            )
        except (FileNotFoundError, KeyError) as exc:
            error_line(f"{exc}")
            raise typer.Exit(2) from None
        progress.update(step, description="done", total=1, completed=1)
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    title = (
        f"Matching on later referrals ({source}): {report.later:,} matched; strengths from the "
        f"{report.history:,} earlier referrals ({report.finished:,} finished episodes)"
    )
    notes = ev.notes(report)
    policy_rows = ev.policy_rows(report)
    group_rows = ev.group_rows(report)
    if out_format == "json":
        sys.stdout.write(json.dumps({"title": title, "notes": notes, **ev.as_json(report)}, indent=2) + "\n")
        return
    if out_format == "markdown":
        sys.stdout.write(f"{title}\n\n" + "".join(f"- {n}\n" for n in notes))
        for columns, rows in ((ev.POLICY_COLUMNS, policy_rows), (ev.GROUP_COLUMNS, group_rows)):
            sys.stdout.write("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
            for r in rows:
                sys.stdout.write("| " + " | ".join(r) + " |\n")
        return
    show_table(title, ev.POLICY_COLUMNS, policy_rows)
    show_table("Gain of matching over as allocated, by group", ev.GROUP_COLUMNS, group_rows)
    for n in notes:
        console.print(f"- {n}")
