"""``idiograph report``: evidence for commissioners (issue 19): the NHS Talking Therapies KPIs and the attendance
and community measures, from the database or a synthetic service folder."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from idiograph.cli.common import date_option, err, error_line, fail, show_table
from idiograph.errors import DomainError, InvalidInput

app = typer.Typer(help="Evidence for commissioners: national KPIs and community measures.", no_args_is_help=True)

KPIS_HELP = "\n\n".join(
    (
        "NHS Talking Therapies KPIs and the attendance and community measures for a period, from the database"
        " (IDIOGRAPH_DATABASE_URL; read-only, one audit record for the aggregate read) or, with --data, from a"
        " synthetic service folder (idiograph synth).",
        "The unit is a referral. referrals counts those received in the period, entered_treatment those whose"
        " first treatment contact falls in it; the outcome metrics (finished_course, recovery, reliable_recovery,"
        " reliable_improvement, reliable_deterioration, waited_6_weeks, waited_18_weeks) take the referrals that"
        " ended in it. dna_rate is did not attend over appointments with an attendance outcome (attended, did not"
        " attend, cancelled by the person or the service) dated in the period; disengagement_discharges counts"
        " referrals ended in the period with a national ending reason meaning the person dropped out;"
        " crisis_admissions counts inpatient admissions in the period as far as they are recorded (the application"
        " records none itself: they come by FHIR import, or from a folder's events). Supplementary: crisis"
        " presentations, re-referral within 30 days, crisis-plan coverage of people at high risk.",
        "Talking-therapies teams are in kpis; community teams apart in community, by the same definitions for"
        " comparison. A team's kind is on its record (idiograph users team-kind), else kpis.yaml team_kinds by"
        " name.",
        "by: every KPI by ethnic_group, ethnic_category, imd_quintile, age_band, sex and preferred_language"
        " (talking-therapies teams), with Wilson 95% intervals and the gap to a reference group, under disclosure"
        " control (counts 1-7 suppressed, others rounded to 5, secondary suppression; a suppressed value is null"
        " with suppressed true). The kpis and community totals are unrounded: do not publish a small service's"
        " totals as they are. Publish by only for exactly one period of the publication grid (breakdowns.yaml"
        " publication_period: by default a whole NHS financial quarter that has ended, e.g. --from 2026-07-01 --to"
        " 2026-09-30): for any other period the JSON still gives by, for a data team, with a warning on stderr and"
        " a note in notes, since the group cells of overlapping or nested periods can be subtracted to recover a"
        " suppressed count; the CSV, a file made to be passed on, then holds the service-level rows only, as the"
        " Reports page's does.",
        "JSON: period {from, to}, definitions (the version), kpis {NAME: {numerator, denominator, rate}},"
        " community (the same shape), by, supplementary and funnel (each by team kind), notes. A count has"
        " denominator null; a rate is a percent to 1 decimal place, null when its denominator is 0. CSV: the rows"
        " the Reports page's CSV writes (columns teams, breakdown, group, reference_group, kpi, numerator,"
        " denominator, rate_percent, ci95_low, ci95_high, gap_points, gap_ci95_low, gap_ci95_high, suppressed,"
        " question): each team kind's KPI totals, every by cell and the experience questions (the funnel and the"
        " supplementary measures are in the table and JSON).",
    )
)


@app.command("kpis", help=KPIS_HELP)
def kpis(
    data: Path | None = typer.Option(
        None, "--data", help="a folder written by idiograph synth (default: the database)"
    ),
    start: str | None = typer.Option(
        None, "--from", help="first day of the period (YYYY-MM-DD; default: the data's first)"
    ),
    end: str | None = typer.Option(None, "--to", help="last day of the period, included (default: the data's last)"),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
    out: Path | None = typer.Option(None, "--out", help="write here instead of the screen"),
) -> None:
    from idiograph.reporting.kpi_report import period_of, report_document

    if fmt not in ("table", "csv", "json"):
        error_line(f"--format: {fmt!r} is not table, csv or json")
        raise typer.Exit(2)
    first, last = date_option(start, "--from"), date_option(end, "--to")
    if first is not None and last is not None:
        _refuse(period_problem(first, last, None))  # before any data is read
    try:
        if data is None:
            doc = _from_database(first, last)
        else:
            table = _from_folder(data)
            _refuse(period_problem(first, last, period_of(table)))
            doc = report_document(table, first, last)
    except DomainError as exc:
        fail(exc)
        return
    _warn_off_grid(doc)
    if fmt == "json":
        _write(out, json.dumps(doc, indent=2) + "\n")
    elif fmt == "csv":
        from idiograph.reporting.kpi_csv import csv_text
        from idiograph.reporting.kpi_report import publication

        on_grid = publication(date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"]))
        if not on_grid["on_grid"]:  # as the Reports page's CSV: no group cell off the grid (H-108)
            doc = {**doc, "by": {}, "community_by": {}, "experience": {}, "community_outcomes": {}}
            err.print(
                "the CSV holds the service totals only (no group, experience or community-outcome rows) for this "
                "period",
                highlight=False,
            )
        _write(out, csv_text(doc))
    else:
        _table(doc, out)


def _warn_off_grid(doc: dict[str, Any]) -> None:
    """A warning on stderr when ``by`` covers a period that is not one complete period of the publication grid:
    its group cells can be differenced against another period's (H-108). The same words are in ``notes``."""
    from idiograph.reporting.kpi_report import off_grid_note, publication

    start, end = date.fromisoformat(doc["period"]["from"]), date.fromisoformat(doc["period"]["to"])
    status = publication(start, end)
    if not status["on_grid"]:
        err.print(f"warning: {off_grid_note(start, end, status)}", markup=False, highlight=False)


def _from_folder(data: Path) -> list[Any]:
    from idiograph.evaluation.kpis_data import referrals

    if not data.is_dir():  # found by a new user's trial: a missing folder was said to have no teams.parquet
        error_line(f"--data: {data} is not a folder (write one with idiograph synth)")
        raise typer.Exit(2)
    try:
        return referrals(data)
    except KeyError as exc:  # a table without a column the report reads: name the column, not just the key
        error_line(f"--data: {data}: a table lacks the column {exc} (write the folder with idiograph synth)")
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:
        error_line(f"--data: {data}: {exc}")
        raise typer.Exit(2) from None


def period_problem(first: date | None, last: date | None, span: tuple[date, date] | None) -> str | None:
    """What is wrong with the period the user typed, naming their option and the reason (None: nothing). ``span``
    is the first and last day the data mention (None when they mention none) and gives the end not typed; a
    period given whole needs no data (``span`` is then not read)."""
    if first is not None and last is not None:
        return f"--to {last} is before --from {first}" if last < first else None
    if span is None:
        if first is None and last is None:
            return "the data has no referrals to take the period from: give --from and --to"
        typed, other = ("--from", "--to") if first is not None else ("--to", "--from")
        return f"{typed} is given without {other} and the data has no referrals to take {other} from: give {other}"
    if first is not None and first > span[1]:
        return f"--from {first} is after the last day in the data ({span[1]}); give --to as well or an earlier --from"
    if last is not None and last < span[0]:
        return f"--to {last} is before the first day in the data ({span[0]}); give --from as well or a later --to"
    return None


def _refuse(problem: str | None) -> None:
    """Stop with exit code 2 on a ``period_problem``."""
    if problem is not None:
        _stop(problem)


def _stop(problem: str) -> NoReturn:
    error_line(problem)
    raise typer.Exit(2)


def _from_database(first: date | None, last: date | None) -> dict[str, Any]:
    from idiograph.cli.common import database
    from idiograph.reporting.kpi_report import period_of
    from idiograph.reporting.referrals_db import kpi_document, referrals_from_db
    from idiograph.security.principal import Principal

    with database().reader() as session:
        try:
            return kpi_document(session, Principal.system("report"), first, last)
        except InvalidInput:
            if first is not None and last is not None:
                raise  # a whole period was checked before: this is about something else
            # a period the data cannot complete: read the data's days (in the same snapshot) to say why, with the
            # option typed; the document was not made, so its one audit record was not written either
            problem = period_problem(first, last, period_of(referrals_from_db(session)))
            if problem is None:
                raise
    _stop(problem)


def _sections(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(team kind, its KPIs then its supplementary measures) for each team kind."""
    return [
        (kind, {**doc[key], **doc["supplementary"][kind]})
        for kind, key in (("talking_therapies", "kpis"), ("community", "community"))
    ]


def _write(out: Path | None, text: str) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        error_line(f"--out: {out}: {exc}")
        raise typer.Exit(2) from None
    err.print(f"wrote {out}")


def _table(doc: dict[str, Any], out: Path | None) -> None:
    buffer = io.StringIO()
    screen = Console(file=buffer, width=110) if out is not None else None
    period = f"{doc['period']['from']} to {doc['period']['to']}"
    labels = {"talking_therapies": "Talking therapies teams", "community": "Community teams"}
    for kind, kpis in _sections(doc):
        rows = []
        for name, k in kpis.items():
            rate = "" if k["denominator"] is None else ("-" if k["rate"] is None else f"{k['rate']:.1f}%")
            rows.append(
                (
                    name.replace("_", " "),
                    str(k["numerator"]),
                    "" if k["denominator"] is None else str(k["denominator"]),
                    rate,
                )
            )
        show_table(
            f"{labels[kind]}: KPIs, {period} ({doc['definitions']})",
            ("kpi", "numerator", "denominator", "rate"),
            rows,
            numeric=("numerator", "denominator", "rate"),
            out=screen,
        )
        funnel = doc["funnel"][kind]
        show_table(
            f"{labels[kind]}: funnel of the {funnel[0]['reached']} referrals that ended in the period",
            ("stage", "reached", "stopped here, by ending reason"),
            [
                (
                    s["stage"].replace("_", " "),
                    str(s["reached"]),
                    ", ".join(f"{n} {c}" for n, c in s["stopped"].items()) or "-",
                )
                for s in funnel
            ],
            numeric=("reached",),
            out=screen,
        )
    (screen or err).print("\n".join(f"- {n}" for n in doc["notes"]))
    if out is not None:
        _write(out, buffer.getvalue())
