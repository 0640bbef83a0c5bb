"""``idiograph adaptive``: item banks for adaptive questionnaires, replayed and judged on real answer patterns."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path
from typing import Any

import typer

from idiograph.cli.common import bad_option, console, error_line, progress_bar, show_table

app = typer.Typer(help="Adaptive questionnaires: calibrate an item bank, replay answer patterns, judge the rule.")

STOPS = ("classification", "se", "length")
SPLITS = ("even", "odd", "all")
LENGTH_DEFAULT = 5  # about the shipped PHQ-9 rule's average (4.6 items on the judging half)


def _read_patterns(path: Path, instrument: str, id_column: str) -> tuple[list[str], list[dict[str, int]], int]:
    """Complete answer patterns keyed by item code, their ids, and how many rows were skipped as incomplete.

    NHANES DPQ layout (SEQN, DPQ010..DPQ090: 7, 9 and blank are missing) for the PHQ-9, or one column per item
    named by its code (LOINC) with an id column."""
    from idiograph.adaptive import banks

    bank = banks.load_bank(instrument)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        rows = list(reader)
    if "SEQN" in header and all(c in header for c in banks.NHANES_COLUMNS):
        if instrument != "phq-9":
            bad_option("--responses", "the NHANES DPQ layout holds the PHQ-9; use --instrument phq-9")
        id_col, columns = "SEQN", dict(zip(bank.codes, banks.NHANES_COLUMNS, strict=True))
    elif all(c in header for c in bank.codes):
        if id_column not in header:
            bad_option("--id-column", f"no column {id_column!r} in {path.name} (columns: {', '.join(header)})")
        id_col, columns = id_column, {c: c for c in bank.codes}
    else:
        missing = [c for c in bank.codes if c not in header]
        bad_option(
            "--responses",
            f"neither the NHANES DPQ layout (SEQN, DPQ010..DPQ090) nor one column per {instrument} item "
            f"(missing {', '.join(missing)})",
        )
    top = {c: len(item.b) for c, item in zip(bank.codes, bank.items, strict=True)}
    # missing: blank, and in the NHANES layout its codes 7 (refused) and 9 (don't know); anything else off the
    # answer scale is an error named by row and column, never a silent skip (found by a new user's trial)
    missing_codes = {7.0, 9.0} if id_col == "SEQN" else set()
    ids: list[str] = []
    patterns: list[dict[str, int]] = []
    skipped = 0
    wrong: list[str] = []
    for n, row in enumerate(rows, start=2):  # the file's line: the header is line 1
        pattern: dict[str, int] = {}
        for code, col in columns.items():
            raw = (row.get(col) or "").strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                wrong.append(f"line {n}, {col}: {raw!r} is not a number")
                continue
            if value in missing_codes:
                continue
            if abs(value - round(value)) < 1e-9:  # SAS exports write 0 as 5.397605e-79 (read_nhanes reads it as 0)
                value = float(round(value))
            if not value.is_integer() or not 0 <= value <= top[code]:
                wrong.append(f"line {n}, {col}: {raw} is not an answer (0 to {top[code]})")
                continue
            pattern[code] = int(value)
        if len(pattern) != len(bank.codes):
            skipped += 1
            continue
        raw_id = (row.get(id_col) or "").strip()
        ids.append(str(int(float(raw_id))) if id_col == "SEQN" and raw_id else raw_id)
        patterns.append(pattern)
    if wrong:
        more = f" (and {len(wrong) - 10:,} more)" if len(wrong) > 10 else ""
        bad_option("--responses", "values off the answer scale: " + "; ".join(wrong[:10]) + more)
    return ids, patterns, skipped


@app.command("calibrate")
def adaptive_calibrate(
    responses: Path = typer.Option(..., help="NHANES DPQ file (SEQN, DPQ010..DPQ090), e.g. DPQ_J.csv"),
    out: Path = typer.Option(..., help="item bank YAML to write (the shipped one is adaptive/banks/phq-9.yaml)"),
    split: str = typer.Option("even", help="respondents to calibrate on by SEQN: even (shipped), odd or all"),
) -> None:
    """Fit the PHQ-9 graded response model by marginal maximum likelihood (EM) on one SEQN split and write the
    bank with its provenance (source file and checksum, split, respondents, log-likelihood, date, code version).
    With --split even on DPQ_J.csv it reproduces the shipped bank; the other split is for judging."""
    from idiograph.adaptive import banks

    if split not in SPLITS:
        bad_option("--split", f"must be one of {', '.join(SPLITS)}")
    if not responses.exists():
        bad_option("--responses", f"{responses} does not exist")
    shipped: dict[str, Any] = banks._data("phq-9").get("default_rule", {}) if split == "even" else {}
    try:
        with progress_bar() as progress:
            step = progress.add_task(f"fitting the PHQ-9 GRM on {split} SEQN", total=None)
            data = banks.calibrate_phq9(responses, split, default=shipped or None)  # type: ignore[arg-type]
            banks.write_bank(data, out)
            progress.update(step, description="done", total=1, completed=1)
    except ValueError as exc:
        error_line(str(exc))
        raise typer.Exit(2) from None
    prov = data["provenance"]
    show_table(
        f"PHQ-9 item bank written to {out}",
        ["item", "a", "b1", "b2", "b3"],
        [[i["code"], f"{i['a']:.3f}", *(f"{b:.3f}" for b in i["b"])] for i in data["items"]],
        numeric={"a", "b1", "b2", "b3"},
    )
    console.print(
        f"{prov['respondents']:,} respondents ({prov['split']}); log-likelihood {prov['log_likelihood']:,.3f}; "
        f"{'converged' if prov['converged'] else 'NOT converged'} in {prov['iterations']} EM iterations"
    )


@app.command("simulate")
def adaptive_simulate(
    responses: Path = typer.Option(..., help="complete answer patterns: NHANES DPQ layout, or item-code columns"),
    out: Path = typer.Option(..., help="CSV to write, one row per complete respondent"),
    instrument: str = typer.Option("phq-9", help="item bank: phq-9 or gad-7 (provisional)"),
    stop: str = typer.Option("classification", help="stopping rule: classification, se or length"),
    cut: int = typer.Option(10, help="decision cut on the full-form total (above means total >= cut)"),
    confidence: float | None = typer.Option(None, help="classification: stop at this P(above) or P(below)"),
    se: float | None = typer.Option(None, help="se: stop at this posterior SD of theta"),
    max_items: int | None = typer.Option(None, help="length: items to ask, 5 by default (a cap for the others too)"),
    id_column: str = typer.Option("id", help="the id column when the items are named by their codes"),
) -> None:
    """Replay every complete answer pattern through the adaptive engine, as if each person answered one question
    at a time. Rows without every item answered are skipped and counted. Writes id, items_asked, asked,
    decision, estimate, estimate_lower, estimate_upper, theta, se."""
    from dataclasses import replace

    from idiograph.adaptive import banks
    from idiograph.evaluation.adaptive import replay

    if stop not in STOPS:
        bad_option("--stop", f"must be one of {', '.join(STOPS)}")
    try:
        bank = banks.load_bank(instrument)
    except KeyError as exc:
        bad_option("--instrument", str(exc.args[0]))
    if not responses.exists():
        bad_option("--responses", f"{responses} does not exist")
    if confidence is not None and not 0.5 < confidence <= 1.0:
        bad_option("--confidence", "must be above 0.5 and at most 1")
    if max_items is not None and not 1 <= max_items <= len(bank.codes):
        bad_option("--max-items", f"must be between 1 and {len(bank.codes)}")
    rule = replace(banks.default_rule(instrument), stop=stop, cut=cut)  # type: ignore[arg-type]
    if confidence is not None:
        rule = replace(rule, confidence=confidence)
    if se is not None:
        rule = replace(rule, se=se)
    if max_items is not None:
        rule = replace(rule, max_items=max_items)
    elif stop == "length":
        rule = replace(rule, max_items=min(LENGTH_DEFAULT, len(bank.codes)))
        console.print(f"--stop length without --max-items: {rule.max_items} items")
    if bank.provisional:
        console.print(f"[bold yellow]{instrument}: PROVISIONAL item parameters (not calibrated on item data)[/]")
    ids, patterns, skipped = _read_patterns(responses, instrument, id_column)
    columns = ["id", "items_asked", "asked", "decision", "estimate", "estimate_lower", "estimate_upper", "theta", "se"]
    counts: list[int] = []
    with out.open("w", newline="", encoding="utf-8") as f, progress_bar() as progress:
        writer = csv.writer(f)
        writer.writerow(columns)
        task = progress.add_task(f"replaying {len(patterns):,} complete patterns", total=len(patterns))
        for pid, pattern in zip(ids, patterns, strict=True):
            r = replay(bank, rule, pattern)
            counts.append(len(r.asked))
            writer.writerow(
                [
                    pid,
                    len(r.asked),
                    ";".join(r.asked),
                    r.decision,
                    f"{r.estimate:.2f}",
                    f"{r.lower:.0f}",
                    f"{r.upper:.0f}",
                    f"{r.theta:.4f}",
                    f"{r.se:.4f}",
                ]
            )
            progress.advance(task)
    console.print(f"skipped {skipped:,} rows without every {instrument} item answered")
    if counts:
        console.print(
            f"{len(counts):,} respondents written to {out}: mean {statistics.fmean(counts):.2f} items, "
            f"median {statistics.median(counts):g} ({rule.stop} stopping, cut {rule.cut})"
        )


def _fmt_rate(k: int, n: int) -> str:
    from idiograph.methods.proportions import wilson

    if n == 0:
        return "-"
    lo, hi = wilson(k, n)
    return f"{k / n:.3f} ({lo:.3f}-{hi:.3f})"


@app.command("evaluate")
def adaptive_evaluate(
    responses: Path = typer.Option(..., help="NHANES DPQ file (SEQN, DPQ010..DPQ090), e.g. DPQ_J.csv"),
    judge: str = typer.Option("odd", help="SEQN split to report on; thresholds are chosen on the other one"),
    cut: int = typer.Option(10, help="decision cut on the full-form PHQ-9 total"),
    margin: float = typer.Option(0.015, help="thresholds must reach 0.95 + this on the calibration split"),
    markdown: Path | None = typer.Option(None, help="also write the judging table as Markdown here"),
) -> None:
    """Judge the adaptive PHQ-9 against the full form at the cut, beside deterministic and stochastic curtailment
    of the fixed form and SE stopping. Each method's threshold is the one with the fewest items whose sensitivity
    and specificity reach 0.95 + margin on the calibration split (the SEQN parity not judged); the table reports
    the judging split only. Sensitivity and specificity carry Wilson 95% intervals."""
    from idiograph.adaptive import banks
    from idiograph.evaluation import adaptive as ev

    if judge not in ("even", "odd"):
        bad_option("--judge", "must be even or odd")
    if not responses.exists():
        bad_option("--responses", f"{responses} does not exist")
    calibrate_on = "even" if judge == "odd" else "odd"
    bank = banks.load_bank("phq-9")
    split_text = str(banks.provenance("phq-9").get("split", ""))
    if f"calibrated on {judge.upper()}" in split_text:
        console.print(f"[bold red]the shipped bank was calibrated on {judge} SEQN: this judges in-sample[/]")
    seqn, x = banks.read_nhanes(responses)
    complete = (x >= 0).all(axis=1)
    floor = 0.95 + margin
    base_rule = banks.default_rule("phq-9")
    from dataclasses import replace

    base_rule = replace(base_rule, cut=cut)

    def patterns(split: str) -> tuple[list[dict[str, int]], list[int]]:
        keep = banks.split_mask(seqn, split) & complete  # type: ignore[arg-type]
        rows = x[keep]
        return [dict(zip(bank.codes, map(int, r), strict=True)) for r in rows], [int(t) for t in rows.sum(axis=1)]

    cal, cal_totals = patterns(calibrate_on)
    jud, jud_totals = patterns(judge)
    confidences = (0.99, 0.993, 0.995, 0.997, 0.998, 0.999)
    gammas = (0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995)
    ses = (0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25)
    with progress_bar() as progress:

        def traces(kind: str, people: list[dict[str, int]], label: str) -> list[list[ev.Result]]:
            task = progress.add_task(f"{label}: {kind} paths", total=len(people))
            out = []
            for p in people:
                out.append(ev.fixed_trace(bank, cut, p) if kind == "fixed-order" else ev.se_trace(bank, cut, p))
                progress.advance(task)
            return out

        def adaptive(people: list[dict[str, int]], c: float, label: str) -> list[ev.Outcome]:
            task = progress.add_task(f"{label}: adaptive at confidence {c}", total=len(people))
            out = []
            for p in people:
                out.append(ev.of_result(ev.replay(bank, ev.classification_rule(base_rule, c), p)))
                progress.advance(task)
            return out

        cal_fixed, cal_se = traces("fixed-order", cal, "calibration"), traces("se", cal, "calibration")
        gamma, gamma_tries = ev.choose(
            gammas,
            lambda g: ev.summarise("", "", [ev.stochastic(t, g) for t in cal_fixed], cal_totals, cut),
            floor,
        )
        se_cut, se_tries = ev.choose(
            ses, lambda s: ev.summarise("", "", [ev.by_se(t, s) for t in cal_se], cal_totals, cut), floor
        )
        confidence, tried = ev.choose(
            confidences,
            lambda c: ev.summarise("", "", adaptive(cal, c, "calibration"), cal_totals, cut),
            floor,
        )
        jud_fixed, jud_se = traces("fixed-order", jud, "judging"), traces("se", jud, "judging")
        rows = [
            ev.summarise("full form", "all items", [ev.full_form(t, cut) for t in jud_fixed], jud_totals, cut),
            ev.summarise(
                "deterministic curtailment",
                "fixed order",
                [ev.deterministic(t, cut) for t in jud_fixed],
                jud_totals,
                cut,
            ),
            ev.summarise(
                "stochastic curtailment",
                f"gamma {gamma}",
                [ev.stochastic(t, gamma) for t in jud_fixed],
                jud_totals,
                cut,
            ),
            ev.summarise(
                "adaptive, SE stopping", f"SD <= {se_cut}", [ev.by_se(t, se_cut) for t in jud_se], jud_totals, cut
            ),
            ev.summarise(
                "adaptive, classification",
                f"confidence {confidence}",
                adaptive(jud, confidence, "judging"),
                jud_totals,
                cut,
            ),
        ]
        if abs(base_rule.confidence - confidence) > 1e-12:
            rows.append(
                ev.summarise(
                    "adaptive, shipped rule",
                    f"confidence {base_rule.confidence}",
                    adaptive(jud, base_rule.confidence, "judging"),
                    jud_totals,
                    cut,
                )
            )
    columns = ["method", "threshold", "mean items", "median", "sensitivity (95% CI)", "specificity (95% CI)"]
    columns += ["agreement", "kappa", "total MAE", "95% PI covers"]
    table = [
        [
            s.method,
            s.setting,
            f"{s.mean_items:.2f}",
            f"{s.median_items:g}",
            _fmt_rate(s.true_positives, s.positives),
            _fmt_rate(s.true_negatives, s.negatives),
            f"{s.agreement:.3f}",
            f"{s.kappa:.3f}",
            f"{s.mae:.2f}",
            f"{s.coverage:.3f}",
        ]
        for s in rows
    ]
    n_pos = rows[0].positives
    title = (
        f"PHQ-9 >= {cut} on the judging split ({judge} SEQN: {rows[0].n:,} complete respondents, {n_pos} at or "
        f"above the cut); thresholds chosen on {calibrate_on} SEQN ({len(cal):,}) for sensitivity and "
        f"specificity >= {floor:.3f}"
    )
    show_table(title, columns, table, numeric=set(columns[2:]))
    tries = [
        ("adaptive, classification: confidence", confidences, tried),
        ("stochastic curtailment: gamma", gammas, gamma_tries),
        ("adaptive, SE stopping: SD <=", ses, se_tries),
    ]
    notes = [f"Calibration split ({calibrate_on} SEQN), each threshold tried:"]
    for label, values, summaries in tries:
        for v, s in zip(values, summaries, strict=True):
            notes.append(
                f"  {label} {v}: {s.mean_items:.2f} items, sensitivity {s.sensitivity:.3f}, "
                f"specificity {s.specificity:.3f}"
            )
    for line in notes:
        console.print(line)
    if markdown is not None:
        lines = [f"**{title}**", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(r) + " |" for r in table]
        lines += ["", "```", *notes, "```"]
        markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
        console.print(f"table written to {markdown}")
