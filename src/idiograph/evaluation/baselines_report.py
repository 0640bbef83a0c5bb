"""The baseline evaluation as a table: personal against population rules on a synthetic service's truth.

For each measure the personal rule is the reference; each comparator appears twice: as configured (its own
false-alarm rate, so its detection is not comparable) and at the reference's false alarms per person-year
(``evaluation.baselines.match``), the fair comparison (DESIGN rule 9).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from idiograph.baselines import settings as baseline_settings
from idiograph.baselines.intervals import Scale, z_for
from idiograph.evaluation import baselines as ev
from idiograph.evaluation.baselines_data import half, measure_cases, relapse_cases
from idiograph.evaluation.placebo import PLACEBO_SEED
from idiograph.evaluation.rates import Share
from idiograph.instruments.definitions import instruments
from idiograph.measures.change import measurement_error
from idiograph.monitoring import settings as monitoring_settings
from idiograph.observations.catalogue import shipped

REFERENCE, CONFIGURED, MATCHED = "reference", "as configured", "equal false alarms"


def columns(windows: Sequence[int] = ev.WINDOWS) -> tuple[str, ...]:
    per_window = [h for w in windows for h in (f"detected within {w} d (95% CI)", f"placebo within {w} d")]
    return (
        "signal",
        "measure",
        "rule",
        "compared",
        "series",
        "truly changed",
        *per_window,
        f"median delay within {max(windows)} d (days)",
        "detected any time (no window)",
        "placebo any time",
        "false alarms / person-year (95% CI)",
    )


COLUMNS = columns()


@dataclass(frozen=True)
class Row:
    signal: str
    measure: str
    result: ev.RuleResult
    compared: str = REFERENCE


def run(
    folder: Path,
    say: Callable[[str], None] = lambda _m: None,
    windows: Sequence[int] = ev.WINDOWS,
    placebo_seed: int = PLACEBO_SEED,
) -> list[Row]:
    cfg = baseline_settings.load()
    cat = {c.code: c for c in shipped().values() if c.kind in ("lab", "device")}
    say("reading results and ground truth")
    cases = measure_cases(folder, set(cat))
    rows: list[Row] = []
    p = cfg.alert_coverage
    wins = tuple(windows)
    for code, all_cases in sorted(cases.items()):
        c = cat[code]
        scale: Scale = "log" if c.scale == "log" else "linear"
        usable = [x for x in all_cases if all(v > 0 for _, v in x.points) or scale == "linear"]
        train = [x for x in usable if half(x.person) == 0 and len(x.points) > 1]
        test = ev.Panel.of([x for x in usable if half(x.person) == 1 and len(x.points) > 1], placebo_seed)
        if len(train) < 10 or not test.cases:
            continue
        say(f"judging {c.display}")
        prior = ev.fit_prior(train, scale)
        personal_z = ev.memo(ev.personal_z(prior))
        population_z = ev.memo(ev.population_z(prior))
        if c.kind == "lab":
            personal = ev.score(f"personal interval ({p:.0%})", test, ev.above(personal_z, z_for(p)), wins)
        else:
            e = cfg.ewma
            personal = ev.score(
                f"personal EWMA (ARL0 {e.arl0:g})",
                test,
                ev.personal_ewma(scale, e.lam, e.arl0, e.baseline_results),
                wins,
            )
        rows.append(Row("shift", c.display, personal))
        target = personal.false_alarms_per_person_year
        if c.kind == "device":
            rows.append(
                Row(
                    "shift",
                    c.display,
                    ev.score(f"personal interval ({p:.0%})", test, ev.above(personal_z, z_for(p)), wins),
                    CONFIGURED,
                )
            )
            _, r = ev.match(lambda z: f"personal interval ({ev.coverage_of(z):.4%})", test, personal_z, target, wins)
            rows.append(Row("shift", c.display, r, MATCHED))
        rows.append(
            Row(
                "shift",
                c.display,
                ev.score(f"population interval ({p:.0%})", test, ev.above(population_z, z_for(p)), wins),
                CONFIGURED,
            )
        )
        _, r = ev.match(lambda z: f"population interval ({ev.coverage_of(z):.4%})", test, population_z, target, wins)
        rows.append(Row("shift", c.display, r, MATCHED))
    rel_cfg = monitoring_settings.load().relapse
    for inst_id in rel_cfg.instruments:
        inst = instruments()[inst_id]
        say(f"judging relapse on {inst.title}")
        rel = relapse_cases(folder, inst_id, rel_cfg.baseline_scores, rel_cfg.follow_up_days)
        train = [x for x in rel if half(x.person) == 0]
        test = ev.Panel.of([x for x in rel if half(x.person) == 1], placebo_seed)
        sem = measurement_error(inst)
        if len(train) < 10 or not test.cases or sem is None:
            continue
        prior = ev.fit_prior(train, "linear")
        personal = ev.score(
            f"personal CUSUM (ARL0 {rel_cfg.arl0:g})", test, ev.personal_cusum(sem, rel_cfg.k, rel_cfg.arl0), wins
        )
        rows.append(Row("relapse", inst.title, personal))
        target = personal.false_alarms_per_person_year
        cut = inst.caseness.min if inst.caseness else 10
        rows.append(
            Row("relapse", inst.title, ev.score(f"score {cut:g} or more", test, ev.threshold(cut), wins), CONFIGURED)
        )
        _, m = ev.match(_threshold_name, test, ev.score_value, target, wins)
        rows.append(Row("relapse", inst.title, m, MATCHED))
        upper = ev.memo(ev.population_z(prior, signed=True))
        rows.append(
            Row(
                "relapse",
                inst.title,
                ev.score(f"population interval ({p:.0%})", test, ev.above(upper, z_for(p)), wins),
                CONFIGURED,
            )
        )
        _, m = ev.match(lambda z: f"population interval ({ev.coverage_of(z):.2%})", test, upper, target, wins)
        rows.append(Row("relapse", inst.title, m, MATCHED))
    return rows


def _threshold_name(level: float) -> str:
    """A threshold on whole-number scores: alarming above ``level`` is alarming at the next whole score."""
    return "any score" if level == -math.inf else f"score {math.floor(level) + 1:g} or more"


def cells(row: Row) -> list[str]:
    r = row.result
    per_window = [x for w in r.windows for x in (r.detection(w).text(), r.placebo(w).text())]
    delay = r.median_delay(max(r.windows)) if r.windows else None
    return [
        row.signal,
        row.measure,
        r.rule,
        row.compared,
        f"{r.series:,}",
        f"{r.changed:,}",
        *per_window,
        f"{delay:.0f}" if delay is not None else "-",
        r.detection().text(),
        r.placebo().text(),
        r.false_alarm_rate.text(),
    ]


def _share(s: Share) -> dict[str, object]:
    j = s.as_json()
    return {"detected": j["k"], "of": j["n"], "rate": j["rate"], "low": j["low"], "high": j["high"]}


def as_json(row: Row) -> dict[str, object]:
    r = row.result
    fa = r.false_alarm_rate.interval
    return {
        "signal": row.signal,
        "measure": row.measure,
        "rule": r.rule,
        "compared": row.compared,
        "series": r.series,
        "changed": r.changed,
        "detected": r.detected,
        "detection_rate": r.detection_rate if r.changed else None,
        "median_delay_days": r.median_delay_days,
        "false_alarms": r.false_alarms,
        "person_years": r.person_years,
        "false_alarms_per_person_year": r.false_alarms_per_person_year,
        "false_alarms_per_person_year_low": fa[0] if fa else None,
        "false_alarms_per_person_year_high": fa[1] if fa else None,
        "any_time": {"detection": _share(r.detection()), "placebo": _share(r.placebo())},
        "windows": {
            str(w): {
                "detection": _share(r.detection(w)),
                "placebo": _share(r.placebo(w)),
                "median_delay_days": r.median_delay(w),
            }
            for w in r.windows
        },
        "placebo_series": r.placebo_series,
    }
