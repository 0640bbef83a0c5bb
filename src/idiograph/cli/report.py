"""``idiograph report``: evidence for commissioners (issue 19); for now the NHS Talking Therapies KPIs from a
synthetic service folder."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from idiograph.cli.common import date_option, err, error_line, fail, show_table
from idiograph.errors import DomainError

app = typer.Typer(help="Evidence for commissioners: national KPIs (more to come, issue 19).", no_args_is_help=True)

KPIS_HELP = "\n\n".join(
    (
        "NHS Talking Therapies KPIs for a period, from a synthetic service folder (idiograph synth).",
        "The unit is a referral. referrals counts those received in the period, entered_treatment those whose"
        " first treatment contact falls in it; the outcome metrics (finished_course, recovery, reliable_recovery,"
        " reliable_improvement, reliable_deterioration, waited_6_weeks, waited_18_weeks) take the referrals that"
        " ended in it. Talking-therapies teams are in kpis; community teams apart in community, by the same"
        " definitions for comparison (not a national standard for them).",
        "Not built yet: dna_rate, disengagement_discharges, crisis_admissions; the breakdowns (by is an empty"
        " object {} for now); disclosure control (these are unrounded totals: do not publish them below national"
        " level as they are); reading the database (without --data the command refuses, exit 2).",
        "JSON: period {from, to}, definitions (the version), kpis {NAME: {numerator, denominator, rate}},"
        " community (the same shape), by {}, supplementary and funnel (each by team kind). A count has"
        " denominator null; a rate is a percent to 1 decimal place, null when its denominator is 0. CSV: one row"
        " per team kind and KPI (the funnel is in the table and JSON).",
    )
)


@app.command("kpis", help=KPIS_HELP)
def kpis(
    data: Path | None = typer.Option(None, "--data", help="a folder written by idiograph synth"),
    start: str | None = typer.Option(
        None, "--from", help="first day of the period (YYYY-MM-DD; default: the data's first)"
    ),
    end: str | None = typer.Option(None, "--to", help="last day of the period, included (default: the data's last)"),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
    out: Path | None = typer.Option(None, "--out", help="write here instead of the screen"),
) -> None:
    from idiograph.evaluation.kpis_data import referrals
    from idiograph.reporting.kpis import compute, definitions, split

    if fmt not in ("table", "csv", "json"):
        error_line(f"--format: {fmt!r} is not table, csv or json")
        raise typer.Exit(2)
    first, last = date_option(start, "--from"), date_option(end, "--to")
    if data is None:
        error_line(
            "reading the KPIs from the database is not built yet; give --data DIR, a folder written by "
            "idiograph synth (issue 19)"
        )
        raise typer.Exit(2)
    try:
        table = referrals(data)
    except (OSError, KeyError, ValueError) as exc:
        error_line(f"--data: {data}: {exc}")
        raise typer.Exit(2) from None
    days = [
        d
        for r in table
        for d in (r.referral_date, r.end_date, r.assessed_date, r.first_treatment_date, r.second_treatment_date)
        if d is not None
    ]
    if not days and (first is None or last is None):
        error_line(f"--data: {data} has no referrals; give --from and --to")
        raise typer.Exit(2)
    first = first or min(days)
    last = last or max(days)
    defs = definitions()
    talking, community = split(table, defs)
    try:
        reports = {
            "talking_therapies": compute(talking, first, last, defs),
            "community": compute(community, first, last, defs),
        }
    except DomainError as exc:
        fail(exc)
        return
    doc: dict[str, Any] = {
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "definitions": defs.version,
        "kpis": _shape(reports["talking_therapies"].kpis),
        "community": _shape(reports["community"].kpis),
        "by": {},
        "supplementary": {k: _shape(r.supplementary) for k, r in reports.items()},
        "funnel": {
            k: [{"stage": s.name, "reached": s.reached, "stopped": s.stopped} for s in r.funnel]
            for k, r in reports.items()
        },
    }
    if fmt == "json":
        _write(out, json.dumps(doc, indent=2) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        w = csv.writer(buffer, lineterminator="\n")
        w.writerow(["team_kind", "kpi", "numerator", "denominator", "rate"])
        for kind, r in reports.items():
            for name, k in {**r.kpis, **r.supplementary}.items():
                w.writerow([kind, name, k.numerator, "" if k.denominator is None else k.denominator, _rate(k.rate)])
        _write(out, buffer.getvalue())
    else:
        _table(doc, reports, out)


def _shape(kpis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: {"numerator": k.numerator, "denominator": k.denominator, "rate": k.rate} for n, k in kpis.items()}


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1f}"


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


def _table(doc: dict[str, Any], reports: dict[str, Any], out: Path | None) -> None:
    buffer = io.StringIO()
    screen = Console(file=buffer, width=110) if out is not None else None
    period = f"{doc['period']['from']} to {doc['period']['to']}"
    for kind, label in (("talking_therapies", "Talking therapies teams"), ("community", "Community teams")):
        r = reports[kind]
        rows = []
        for name, k in {**r.kpis, **r.supplementary}.items():
            rate = "" if k.denominator is None else ("-" if k.rate is None else f"{k.rate:.1f}%")
            rows.append(
                (name.replace("_", " "), str(k.numerator), "" if k.denominator is None else str(k.denominator), rate)
            )
        show_table(
            f"{label}: KPIs by the NHS Talking Therapies definitions, {period} ({doc['definitions']})",
            ("kpi", "numerator", "denominator", "rate"),
            rows,
            numeric=("numerator", "denominator", "rate"),
            out=screen,
        )
        show_table(
            f"{label}: funnel of the {r.ended} referrals that ended in the period",
            ("stage", "reached", "stopped here, by ending reason"),
            [
                (s.name.replace("_", " "), str(s.reached), ", ".join(f"{n} {c}" for n, c in s.stopped.items()) or "-")
                for s in r.funnel
            ],
            numeric=("reached",),
            out=screen,
        )
    if out is not None:
        _write(out, buffer.getvalue())
