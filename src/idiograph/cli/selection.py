"""``idiograph selection``: learn each option's expected outcome from finished episodes, predict it for new people,
and judge the method against synthetic truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idiograph.cli.common import bad_option, console, error_line, fail, progress_bar, show_table
from idiograph.errors import DomainError

app = typer.Typer(help="Treatment selection: each option's expected outcome for a person.", no_args_is_help=True)


@app.command("fit")
def selection_fit(
    data: Path | None = typer.Argument(
        None, help="finished episodes: a .csv or .parquet table, one row per episode; none: the service's database"
    ),
    treatment: str | None = typer.Option(None, help="the column naming the option each episode received"),
    outcome: str | None = typer.Option(None, help="the numeric outcome column (e.g. the last PHQ-9)"),
    covariates: str | None = typer.Option(
        None, help="comma-separated covariate columns; default: every column but the treatment, outcome and id"
    ),
    id_column: str | None = typer.Option(None, "--id", help="an identifier column, never used as a covariate"),
    reference: str | None = typer.Option(
        None, help="the option effects are measured against (the standard offer); default: the most common"
    ),
    lower_is_better: bool = typer.Option(False, help="a lower outcome is better (e.g. a symptom score)"),
    coverage: float = typer.Option(0.95, help="coverage of every interval"),
    seed: int = typer.Option(0, help="seed of the cross-fitting folds and the learners"),
    out: Path | None = typer.Option(None, help="where to write the model (JSON); with a table only"),
) -> None:
    """Fit on a table of finished episodes and write the model; with no table, fit the service's own model on its
    finished episodes in the database (versioned, and the one the care pages use)."""
    from idiograph.selection.learner import OptionsLearner

    if data is None:
        given = {"--treatment": treatment, "--outcome": outcome, "--covariates": covariates, "--id": id_column}
        given |= {"--reference": reference, "--out": out}
        extra = [k for k, v in given.items() if v is not None]
        if extra:
            bad_option(extra[0], "only with a table (the service's model is fitted from the database)")
        _fit_service()
        return
    for option, value in (("--treatment", treatment), ("--outcome", outcome), ("--out", out)):
        if value is None:
            bad_option(option, "required with a table")
    assert treatment is not None and outcome is not None and out is not None
    if not out.parent.is_dir():
        bad_option("--out", f"the folder {out.parent} does not exist")
    if not 0.5 <= coverage < 1:
        bad_option("--coverage", f"{coverage} is not at least 0.5 and below 1")
    table = _read(data)
    for option, column in (("--treatment", treatment), ("--outcome", outcome), ("--id", id_column)):
        if column is not None and column not in table:
            bad_option(option, f"{column!r} is not a column of {data.name} (columns: {', '.join(table)})")
    reserved = {treatment, outcome, id_column}
    if covariates is None:
        names = [c for c in table if c not in reserved]
    else:
        names = [c.strip() for c in covariates.split(",") if c.strip()]
        missing = [c for c in names if c not in table]
        if missing:
            bad_option("--covariates", f"not columns of {data.name}: {', '.join(missing)}")
        clash = [c for c in names if c in reserved]
        if clash:
            bad_option("--covariates", f"{', '.join(clash)} cannot be a covariate (treatment, outcome or id)")
    if not names:
        bad_option("--covariates", "no covariate columns left")
    try:
        with progress_bar() as progress:
            task = progress.add_task("starting", total=None)
            model = OptionsLearner(coverage=coverage, lower_is_better=lower_is_better, seed=seed).fit(
                table,
                names,
                table[treatment],
                table[outcome],
                reference,
                progress=lambda step: progress.update(task, description=step),
            )
            progress.update(task, description="fitted", total=1, completed=1)
    except DomainError as exc:
        fail(exc)
    body = model.to_dict()
    body["id_column"] = id_column  # predict copies it by default
    out.write_text(json.dumps(body))
    rows = [
        [
            o,
            f"{model.counts_[o]:,}",
            "reference" if o == model.reference_ else "",
            f"{model.overlap_[o][0]:.3f} to {model.overlap_[o][1]:.3f}",
        ]
        for o in model.options_
    ]
    show_table(
        f"{model.n_:,} episodes, {len(names)} covariates; model {body['version']} written to {out}",
        ["option", "episodes", "", "chance of receiving it"],
        rows,
        numeric={"episodes"},
    )
    if model.dropped_:
        console.print(f"{model.dropped_:,} row(s) without an option or an outcome were left out")
    from idiograph.selection.features import Categorical

    for f in model.design_.features:
        if isinstance(f, Categorical) and len(f.levels) > MANY_LEVELS and _mostly_numbers(table[f.name]):
            console.print(
                f"[yellow]note[/yellow] {f.name} is treated as a category ({len(f.levels)} levels): it has values "
                "that are not numbers; clean them if it is a number"
            )


@app.command("predict")
def selection_predict(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="a model written by idiograph selection fit"),
    data: Path = typer.Argument(..., help="people to predict for: a .csv or .parquet table with the covariates"),
    out: Path = typer.Option(..., help="where to write the predictions: .csv or .parquet"),
    id_column: str | None = typer.Option(
        None, "--id", help="an identifier column to copy (default: the fit's --id if present, else the row number)"
    ),
) -> None:
    """Every option's expected outcome with intervals, the effect against the reference, and the recommendation."""
    from idiograph.selection.learner import OptionsLearner
    from idiograph.selection.tables import prediction_columns, write_table

    if out.suffix.lower() not in (".csv", ".parquet"):
        bad_option("--out", f"{out.name!r} must end in .csv or .parquet")
    if not out.parent.is_dir():
        bad_option("--out", f"the folder {out.parent} does not exist")
    try:
        body = json.loads(model_path.read_text())
    except (OSError, ValueError) as exc:
        bad_option("MODEL", f"{model_path} cannot be read as a model: {exc}")
    table = _read(data)
    if id_column is not None and id_column not in table:
        bad_option("--id", f"{id_column!r} is not a column of {data.name}")
    if id_column is None and isinstance(body, dict) and body.get("id_column") in table:
        id_column = body["id_column"]  # the fit's --id, when the table has it
    try:
        model = OptionsLearner.from_dict(body)
        prediction = model.predict(table, min_support=MIN_SUPPORT)
    except DomainError as exc:
        fail(exc)
    n = len(next(iter(table.values()))) if table else 0
    ids: tuple[str, list[Any]] = (id_column, list(table[id_column])) if id_column else ("row", list(range(n)))
    write_table(out, prediction_columns(prediction, ids))
    for note in _unseen(model, table):
        console.print(f"[yellow]note[/yellow] {note}")
    import numpy as np

    thin = int(np.isnan(prediction.outcome).sum())
    thin_effects = int(np.isnan(prediction.effect).sum())
    if thin or thin_effects:
        console.print(
            f"left empty: {thin:,} person-option outcome(s) (3 cells each) and {thin_effects:,} effect(s) (3 cells "
            f"each), {3 * (thin + thin_effects):,} cells in all: fewer than {MIN_SUPPORT} similar finished episodes "
            "received that option (or the reference, for an effect), too few to give a number"
        )
    counts = {o: prediction.recommended.count(o) for o in prediction.options}
    if None in prediction.recommended:
        counts["(none: too few similar episodes for any option)"] = prediction.recommended.count(None)
    show_table(
        f"{n:,} people; model {body.get('version')}; predictions written to {out}",
        ["option", "recommended for"],
        [[o, f"{c:,}"] for o, c in counts.items()],
        numeric={"recommended for"},
    )


MIN_SUPPORT = 30  # similar finished episodes before an option gets numbers (as on the care page)
MANY_LEVELS = 20


def _mostly_numbers(values: Any) -> bool:
    def number(v: Any) -> bool:
        try:
            float(v)
        except (TypeError, ValueError):
            return False
        return True

    present = [v for v in values if v is not None and str(v).strip() != ""]
    return bool(present) and sum(number(v) for v in present) > len(present) / 2


def _unseen(model: Any, table: dict[str, Any]) -> list[str]:
    """Categorical covariates whose values were never seen when fitting (they count as the first level)."""
    from idiograph.selection.features import Categorical

    out = []
    for f in model.design_.features:
        if isinstance(f, Categorical) and f.name in table:
            unseen = {str(v) for v in table[f.name] if v is not None and str(v).strip() and str(v) not in f.levels}
            if unseen and "other" not in f.levels:
                shown = ", ".join(sorted(unseen)[:3])
                out.append(
                    f"{f.name}: {len(unseen)} value(s) never seen when fitting ({shown}); counted as {f.levels[0]!r}"
                )
    return out


def _fit_service() -> None:
    from idiograph.cli.common import database
    from idiograph.security.principal import Principal
    from idiograph.selection import service

    actor = Principal.system("selection-fit").actor
    try:
        with database().writer() as session, progress_bar() as progress:
            task = progress.add_task("starting", total=None)
            rec = service.fit(session, actor, progress=lambda step: progress.update(task, description=step))
            progress.update(task, description="fitted", total=1, completed=1)
            version, n, learners = rec.version, rec.n_episodes, rec.body["learners"]
            weeks = rec.body["course"]["weeks"]
    except DomainError as exc:
        fail(exc)
    phq9, gad7 = learners["phq-9"]["counts"], learners.get("gad-7", {}).get("counts", {})
    rows = [[o, f"{c:,}", f"{gad7[o]:,}" if o in gad7 else "-"] for o, c in phq9.items()]
    show_table(
        f"The service's options model {version}: {n:,} finished episodes, courses over {weeks} weeks (now the active "
        "model)",
        ["option", "episodes (PHQ-9)", "with GAD-7"],
        rows,
        numeric={"episodes (PHQ-9)", "with GAD-7"},
    )


def _read(path: Path) -> dict[str, Any]:
    from idiograph.selection.tables import read_table

    try:
        return read_table(path)
    except DomainError as exc:
        error_line(exc.detail)
        raise typer.Exit(2) from None


@app.command("evaluate")
def selection_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(10000, min=500, help="without --data: generate this many people"),
    seed: int = typer.Option(3, help="without --data: the generator's seed (also the learner's)"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
) -> None:
    """Judge treatment selection on synthetic truth: fitted on one half of the people, judged on the other."""
    import sys
    import tempfile

    from idiograph.cli.common import check_format, err
    from idiograph.cli.evaluation import synthetic_service
    from idiograph.evaluation import selection as ev
    from idiograph.evaluation import selection_data

    check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, progress_bar() as progress:
        folder = data or synthetic_service(Path(tmp), people, seed, progress)
        step = progress.add_task("reading episodes", total=None)
        try:
            kinds = selection_data.episodes(folder)
            report = ev.run(kinds, seed, lambda m: progress.update(step, description=m))
        except (FileNotFoundError, KeyError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except DomainError as exc:
            fail(exc)
        progress.update(step, description="done", total=1, completed=1)
    source = f"{data}" if data else f"synthetic service, {people:,} people, seed {seed}"
    fitted = ", ".join(f"{k}: {a:,} finished episodes" for k, (a, _, _) in report.kinds.items())
    title = f"Treatment selection on held-out people ({source}); fitted on {fitted}"
    notes = [
        ev.verdict(report),
        "Policies are scored by the generator's true effect of the option each picks for each held-out person "
        "(latent improvement on the PHQ-9 item bank's scale, in population SDs; higher is better). 'single best' is "
        "the one option truly best on average, given to everyone; 'oracle' is each person's truly best.",
        "Differences are paired means with normal 95% intervals. The outcome interval's coverage is of held-out "
        "finished episodes' last PHQ-9 under the option they received (Wilson 95%).",
        "Semi-synthetic: the same people, covariates and confounded allocation, outcomes from a known surface in "
        "PHQ-9 points (evaluation/selection.py: surface), so each person's true expected effect is known exactly.",
        "Courses and chances: fitted on the same half as the service fits them, judged on the other half's finished "
        "episodes under the option each received; a score is set against the band for its nearest week.",
        "Groups of fewer than 10 people are suppressed (*). Seed 1 was used to choose the method's settings; report "
        "other seeds. Synthetic data: rerun on your own episodes.",
        *[f"Not judged, {k}: {why}" for k, why in report.skipped.items()],
    ]
    policy_rows = [ev.policy_cells(r) for r in report.policy]
    semi_rows = [ev.semi_cells(r) for r in report.semi]
    group_rows = [
        [g if d == "all" else f"{d}: {g}", "*" if share.n == 0 else share.text()] for d, g, share in report.semi_groups
    ]
    course_rows = [ev.course_cells(r) for r in report.courses]
    chance_rows = [ev.chance_cells(r) for r in report.chances]
    if out_format == "json":
        sys.stdout.write(
            json.dumps({"title": title, "notes": notes, "seed": None if data else seed, **ev.as_json(report)}, indent=2)
            + "\n"
        )
        return
    if out_format == "markdown":
        sys.stdout.write(f"{title}\n\n" + "".join(f"- {n}\n" for n in notes))
        tables = (
            (ev.POLICY_COLUMNS, policy_rows),
            (ev.SEMI_COLUMNS, semi_rows),
            (["group", "covers"], group_rows),
            (ev.COURSE_COLUMNS, course_rows),
            (ev.CHANCE_COLUMNS, chance_rows),
        )
        for columns, rows in tables:
            sys.stdout.write("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
            for r in rows:
                sys.stdout.write("| " + " | ".join(r) + " |\n")
        return
    show_table(title, ev.POLICY_COLUMNS, policy_rows)
    show_table("Semi-synthetic: intervals against known effects", ev.SEMI_COLUMNS, semi_rows)
    show_table("Semi-synthetic: effect intervals covering by group", ["group", "covers (all contrasts)"], group_rows)
    show_table(
        "Each option's course: the 95% band against held-out scores in treatment", ev.COURSE_COLUMNS, course_rows
    )
    show_table("Chances of recovery and reliable deterioration against what happened", ev.CHANCE_COLUMNS, chance_rows)
    for n in notes:
        console.print(f"- {n}")
