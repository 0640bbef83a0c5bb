"""The ``idiograph`` command line (Typer + Rich)."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from idiograph.config import get_settings
from idiograph.db import make_engine, make_sessionmaker
from idiograph.errors import DomainError
from idiograph.security.principal import Principal

app = typer.Typer(help="idiograph: clinical personalisation for mental health services.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
import_app = typer.Typer(help="Bring data in (transactional and idempotent).", no_args_is_help=True)
export_app = typer.Typer(help="Take a person's record out.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
monitoring_app = typer.Typer(help="Expected recovery and not-on-track alerts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(monitoring_app, name="monitoring")
policy_app = typer.Typer(help="Delegated-authority policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
baselines_app = typer.Typer(
    help="Personal baselines: priors, whole-population intervals, evaluation.", no_args_is_help=True
)
app.add_typer(baselines_app, name="baselines")
console = Console()
err = Console(stderr=True)


def _sessionmaker():  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(get_settings().database_url))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _fail(exc: DomainError) -> None:
    err.print(f"[red]error:[/red] {exc.detail}")
    for p in exc.problems[:50]:
        err.print(f"  {p.field}: {p.reason}")
    if len(exc.problems) > 50:
        err.print(f"  … and {len(exc.problems) - 50} more")
    raise typer.Exit(2)


def _team_id(session, name: str | None) -> uuid.UUID | None:  # type: ignore[no-untyped-def]
    from idiograph.patients.service import team_by_name

    return team_by_name(session, name).id if name else None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (SQLite or PostgreSQL, by IDIOGRAPH_DATABASE_URL)."""
    from idiograph.migrate import upgrade

    settings = get_settings()
    upgrade(make_engine(settings.database_url))
    console.print(f"schema is current on {make_engine(settings.database_url).url.render_as_string()}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the web UI and the API."""
    import uvicorn

    from idiograph.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command()
def demo(
    people: int = typer.Option(2000, min=1, help="how many people"),
    seed: int = typer.Option(7, help="same seed, same service"),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when people are already stored"),
    params: Path | None = typer.Option(None, help="a params.yaml describing the service (default: built in)"),
) -> None:
    """Fill the database with a synthetic service (window ending today) and print the demo log-ins."""
    from idiograph.synth import params as params_module
    from idiograph.synth.load import DEMO_PASSWORD, is_empty, load_demo, load_staff

    Session = _sessionmaker()
    with Session() as session:
        if if_empty and not is_empty(session):
            staff = load_staff(session, Principal.system("demo"))
            console.print("people are already stored; demo data left as it is")
        else:
            with _progress() as progress:
                staff = load_demo(session, people, seed, params_module.load(params), date.today(), progress)
    table = Table(title=f"Demo log-ins (password for all: {DEMO_PASSWORD})")
    table.add_column("username")
    table.add_column("role")
    for username, role in staff:
        table.add_row(username, role)
    console.print(table)


@app.command()
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
        with _progress() as progress:
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
        with _progress() as progress:
            task = progress.add_task("validating", total=people)
            for i in range(people):
                tally.add(generate_person(p, service, seed, i))
                progress.advance(task)
        table = Table(title=f"Generated vs national figures ({people:,} people, seed {seed})")
        for col in ("figure", "generated", "target", "", "detail"):
            table.add_column(col)
        failed = False
        for f in figures(tally, p.targets):
            mark = "" if f.within is None else ("ok" if f.within else "OUT")
            failed |= f.within is False
            target = f"{f.target[0]:g}-{f.target[1]:g}" if f.target else ""
            table.add_row(f.name, f"{f.generated:.1f}", target, mark, f.detail)
        equity = equity_direction_holds(tally)
        table.add_row(
            "recovery White > minority groups", "yes" if equity else "no", "yes", "ok" if equity else "OUT", ""
        )
        console.print(table)
        if failed or not equity:
            raise typer.Exit(1)


@app.command()
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
        _fail(DomainError(f"{len(problems)} problem(s) in {path}", problems))
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
    table = Table(title=f"Episodes ({len(rows)})")
    for col in (
        "episode",
        "finished",
        "paired",
        "caseness at start",
        "recovered",
        "reliable improvement",
        "reliable deterioration",
        "reliable recovery",
    ):
        table.add_column(col)
    yn = {True: "yes", False: "no", None: "-"}
    for row in rows:
        table.add_row(
            row["episode_id"],
            yn[row["finished"]],
            str(row["paired_scores"]),
            yn[row["caseness_start"]],
            yn[row["recovered"]],
            yn[row["reliable_improvement"]],
            yn[row["reliable_deterioration"]],
            yn[row["reliable_recovery"]],
        )
    console.print(table)
    summary = Table(title=f"Service ({r.finished} finished episodes)")
    for col in ("measure", "rate", "numerator", "denominator"):
        summary.add_column(col)
    for name, v in rates.items():
        summary.add_row(
            name.replace("_", " "),
            "-" if v["percent"] is None else f"{v['percent']:.1f}%",
            str(v["numerator"]),
            str(v["denominator"]),
        )
    console.print(summary)


@users_app.command("create")
def users_create(
    username: str = typer.Option(...),
    role: str = typer.Option(...),
    team: list[str] = typer.Option([], help="team name; a new name creates the team"),
    display_name: str | None = None,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
) -> None:
    """Create a local account."""
    from idiograph.security.service import create_user

    if not password_stdin:
        err.print("give the password on standard input with --password-stdin")
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    with _sessionmaker()() as session:
        try:
            user = create_user(session, Principal.system(), username, role, password, display_name, team)
        except DomainError as exc:
            _fail(exc)
            return
    console.print(f"created {user.username} ({user.role}){' in ' + ', '.join(team) if team else ''}")


@import_app.command("fhir")
def import_fhir(
    paths: list[Path] = typer.Argument(..., help="Bundle .json files, or .ndjson files with one Bundle per line"),
    team: str | None = typer.Option(None, help="team whose caseload new people join"),
    source: str | None = typer.Option(None, help="source system (default: Bundle.meta.source)"),
) -> None:
    """Import FHIR transaction or batch Bundles (each Bundle is its own transaction)."""
    from idiograph.fhir.importer import import_bundle

    settings = get_settings()
    with _sessionmaker()() as session, _progress() as progress:
        task = progress.add_task("files", total=len(paths))
        for path in paths:
            statuses: dict[str, int] = {}
            done = 0
            try:
                team_id = _team_id(session, team)
                with path.open(encoding="utf-8") as f:
                    lines = f if path.suffix == ".ndjson" else [f.read()]
                    for text in lines:
                        if not text.strip():
                            continue
                        body = json.loads(text)
                        result = import_bundle(
                            session, Principal.system(), body, settings.instance_uri, source, team_id
                        )
                        done += 1
                        for e in result["entry"]:
                            statuses[e["response"]["status"]] = statuses.get(e["response"]["status"], 0) + 1
            except DomainError as exc:
                where = f"{path}, bundle {done + 1}" if path.suffix == ".ndjson" else str(path)
                err.print(f"{where}: rejected ({done} earlier bundle(s) in this file were stored)", soft_wrap=True)
                _fail(exc)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                err.print(f"[red]error:[/red] {path}: {exc}", soft_wrap=True)
                raise typer.Exit(2) from None
            summary = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
            progress.console.print(f"{path}: {done} bundle(s); {summary}", soft_wrap=True)
            progress.advance(task)


@import_app.command("csv")
def import_csv_cmd(
    path: Path,
    team: str | None = typer.Option(None, help="team whose caseload new people join"),
    source: str = typer.Option("csv", help="source system name (makes re-imports idempotent)"),
) -> None:
    """Import the long CSV format: person_id, code, value, time [, system, unit, person columns]."""
    from idiograph.observations.csv_import import import_csv

    with _sessionmaker()() as session, _progress() as progress:
        try:
            result, created = import_csv(
                session, Principal.system(), path.read_text(encoding="utf-8"), source, _team_id(session, team), progress
            )
        except DomainError as exc:
            _fail(exc)
            return
    console.print(
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged "
        f"observations for {result.people} people ({created} new people)"
    )


@export_app.command("fhir")
def export_fhir(
    person: uuid.UUID = typer.Option(..., help="person id"),
    out: Path | None = typer.Option(None, help="file to write (default: standard output)"),
) -> None:
    """Export a person's record as a FHIR transaction Bundle (re-importable as is)."""
    from idiograph.fhir.service import export_person

    with _sessionmaker()() as session:
        try:
            bundle = export_person(session, Principal.system(), person, get_settings().instance_uri, via="cli")
        except DomainError as exc:
            _fail(exc)
            return
    text = json.dumps(bundle, indent=2)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(bundle['entry'])} resources to {out}")
    else:
        sys.stdout.write(text + "\n")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; names every edited, deleted or reordered record."""
    from idiograph.security.audit import verify

    with _sessionmaker()() as session:
        n, head, problems = verify(session)
    if problems:
        for p in problems:
            err.print(f"[red]record {p.seq}[/red] {p.kind}: {p.message}")
        raise typer.Exit(1)
    console.print(f"audit trail intact: {n} records, head {head}")


@monitoring_app.command("fit")
def monitoring_fit(
    judge: bool = typer.Option(True, help="then judge the latest score of every open episode"),
) -> None:
    """Refit the expected-recovery models on the service's finished episodes (each becomes active)."""
    from idiograph.db import transaction
    from idiograph.monitoring.recovery import not_on_track

    actor = Principal.system("monitoring-fit").actor
    with _sessionmaker()() as session, _progress() as progress:
        task = progress.add_task("fitting", total=None)
        with transaction(session):
            fitted = not_on_track.fit(session, actor, lambda m: progress.update(task, description=m))
            raised = not_on_track.judge_open(session, actor) if judge and fitted else 0
    if not fitted:
        err.print("no model fitted: too few finished episodes with scores after intake")
        raise typer.Exit(1)
    table = Table(title="Expected-recovery models (now active)")
    for col in ("instrument", "model", "finished episodes"):
        table.add_column(col)
    for f in fitted:
        table.add_row(f.instrument, f.kind, f"{f.n_episodes:,}")
    console.print(table)
    if judge:
        console.print(f"open episodes judged: {raised} not-on-track alert(s) raised")


def _check_format(out_format: str) -> None:
    if out_format not in ("table", "markdown", "json"):
        err.print(f"--format: {out_format!r} is not table, markdown or json")
        raise typer.Exit(2)


def _synthetic_service(folder: Path, people: int, seed: int, progress: Progress) -> Path:
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


@monitoring_app.command("evaluate")
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

    _check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, _progress() as progress:
        folder = data or _synthetic_service(Path(tmp), people, seed, progress)
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


@baselines_app.command("fit")
def baselines_fit(
    raise_latest: bool = typer.Option(False, help="then judge every person's latest result (raises alerts)"),
) -> None:
    """Estimate each measure's population prior from the service's results and rebuild every baseline."""
    from idiograph.baselines import service as baseline_service
    from idiograph.db import transaction

    actor = Principal.system("baselines-fit").actor
    with _sessionmaker()() as session, _progress() as progress:
        progress.add_task("fitting priors and rebuilding baselines", total=None)
        with transaction(session):
            rep = baseline_service.fit_priors(session, actor, raise_latest=raise_latest)
    console.print(f"{rep.priors} prior(s) for {rep.measures} measure(s); {rep.states:,} personal baselines rebuilt")
    for measure, why in rep.skipped.items():
        console.print(f"[yellow]no prior[/yellow] {measure}: {why}")


@baselines_app.command("compute")
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
    with _progress() as progress:
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


@baselines_app.command("evaluate")
def baselines_evaluate(
    data: Path | None = typer.Option(None, help="a folder written by idiograph synth (parquet or csv)"),
    people: int = typer.Option(5000, min=100, help="without --data: generate this many people"),
    seed: int = typer.Option(2026, help="without --data: the generator's seed"),
    out_format: str = typer.Option("table", "--format", help="table, markdown or json"),
) -> None:
    """Personal against population intervals and fixed thresholds, on a synthetic service's ground truth."""
    import tempfile

    from idiograph.evaluation import baselines_report as baseline_report

    _check_format(out_format)
    with tempfile.TemporaryDirectory() as tmp, _progress() as progress:
        folder = data or _synthetic_service(Path(tmp), people, seed, progress)
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


@policy_app.command("check")
def policy_check(path: Path = typer.Argument(..., help="a delegated-authority policy file (YAML)")) -> None:
    """Validate a policy, explain it in plain words, and refuse contradictions (exit 1)."""
    from idiograph.governance import policy as policy_module

    try:
        p = policy_module.load(path)
    except FileNotFoundError:
        err.print(f"[red]error:[/red] {path} does not exist")
        raise typer.Exit(2) from None
    except policy_module.PolicyError as exc:
        err.print(f"[red]{path} is not a usable policy:[/red]")
        for where, why in exc.problems:
            err.print(f"  {where}: {why}")
        raise typer.Exit(1) from None
    for line in policy_module.explain(p):
        console.print(line)
    console.print(f"[green]{path}: valid, version {p.version}[/green]")


if __name__ == "__main__":
    app()
