"""The baseline evaluation as a table: personal against population rules on a synthetic service's truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from idiograph.baselines import settings as baseline_settings
from idiograph.evaluation import baselines as ev
from idiograph.evaluation.baselines_data import half, measure_cases, relapse_cases
from idiograph.measures.change import measurement_error
from idiograph.measures.definitions import instruments
from idiograph.monitoring import settings as monitoring_settings
from idiograph.observations.catalogue import shipped

COLUMNS = (
    "signal",
    "measure",
    "rule",
    "series",
    "truly changed",
    "detected",
    "median delay (days)",
    "false alarms / person-year",
)


@dataclass(frozen=True)
class Row:
    signal: str
    measure: str
    result: ev.RuleResult


def run(folder: Path, say: Callable[[str], None] = lambda _m: None) -> list[Row]:
    cfg = baseline_settings.load()
    cat = {c.code: c for c in shipped().values() if c.kind in ("lab", "device")}
    say("reading results and ground truth")
    cases = measure_cases(folder, set(cat))
    rows: list[Row] = []
    p = cfg.alert_coverage
    for code, all_cases in sorted(cases.items()):
        c = cat[code]
        scale: ev.Scale = "log" if c.scale == "log" else "linear"
        usable = [x for x in all_cases if all(v > 0 for _, v in x.points) or scale == "linear"]
        train = [x for x in usable if half(x.person) == 0 and len(x.points) > 1]
        test = [x for x in usable if half(x.person) == 1 and len(x.points) > 1]
        if len(train) < 10 or not test:
            continue
        say(f"judging {c.display}")
        prior = ev.fit_prior(train, scale)
        if c.kind == "lab":
            personal = ev.score(f"personal interval ({p:.0%})", test, ev.personal_point(prior, p))
        else:
            e = cfg.ewma
            personal = ev.score(
                f"personal EWMA (ARL0 {e.arl0:g})", test, ev.personal_ewma(scale, e.lam, e.arl0, e.baseline_results)
            )
        rows.append(Row("shift", c.display, personal))
        if c.kind == "device":
            rows.append(
                Row("shift", c.display, ev.score(f"personal interval ({p:.0%})", test, ev.personal_point(prior, p)))
            )
        rows.append(
            Row("shift", c.display, ev.score(f"population interval ({p:.0%})", test, ev.population_point(prior, p)))
        )
        cov, matched = ev.matched_population(prior, test, personal.false_alarms_per_person_year)
        rows.append(
            Row(
                "shift",
                c.display,
                ev.RuleResult(f"population interval at equal false alarms ({cov:.4%})", *_fields(matched)),
            )
        )
    r = monitoring_settings.load().relapse
    for inst_id in r.instruments:
        inst = instruments()[inst_id]
        say(f"judging relapse on {inst.title}")
        rel = relapse_cases(folder, inst_id, r.baseline_scores, r.follow_up_days)
        train = [x for x in rel if half(x.person) == 0]
        test = [x for x in rel if half(x.person) == 1]
        sem = measurement_error(inst)
        if len(train) < 10 or not test or sem is None:
            continue
        prior = ev.fit_prior(train, "linear")
        personal = ev.score(f"personal CUSUM (ARL0 {r.arl0:g})", test, ev.personal_cusum(sem, r.k, r.arl0))
        rows.append(Row("relapse", inst.title, personal))
        cut = inst.caseness.min if inst.caseness else 10
        rows.append(Row("relapse", inst.title, ev.score(f"score {cut:g} or more", test, ev.threshold(cut))))
        rows.append(
            Row("relapse", inst.title, ev.score(f"population interval ({p:.0%})", test, ev.population_upper(prior, p)))
        )
    return rows


def _fields(r: ev.RuleResult) -> tuple[int, int, int, float | None, int, float]:
    return (r.series, r.changed, r.detected, r.median_delay_days, r.false_alarms, r.person_years)


def cells(row: Row) -> list[str]:
    r = row.result
    return [
        row.signal,
        row.measure,
        r.rule,
        f"{r.series:,}",
        f"{r.changed:,}",
        f"{r.detection_rate:.1%}" if r.changed else "-",
        f"{r.median_delay_days:.0f}" if r.median_delay_days is not None else "-",
        f"{r.false_alarms_per_person_year:.3f}",
    ]


def as_json(row: Row) -> dict[str, object]:
    r = row.result
    return {
        "signal": row.signal,
        "measure": row.measure,
        "rule": r.rule,
        "series": r.series,
        "changed": r.changed,
        "detected": r.detected,
        "detection_rate": r.detection_rate if r.changed else None,
        "median_delay_days": r.median_delay_days,
        "false_alarms": r.false_alarms,
        "person_years": r.person_years,
        "false_alarms_per_person_year": r.false_alarms_per_person_year,
    }
