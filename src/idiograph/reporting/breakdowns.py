"""Equity breakdowns of the KPIs, with intervals, gaps and disclosure control: the report's ``by`` (issue 19;
pure: no database, no web; mypy --strict).

Every KPI the engine computes (``reporting.kpis.compute``: the NHS Talking Therapies KPIs, and the attendance
and community measures when it gives them) for each group of each breakdown:

==================  =======================================================================================
``ethnic_group``    the five high-level NHS groups (White, Mixed, Asian or Asian British, Black or Black
                    British, Other ethnic groups), ``Not stated`` (code Z) and ``Not known`` (code 99, not
                    recorded or not recognised): ``patients.demographics.ETHNIC_CATEGORIES``
``ethnic_category`` the detailed NHS category (its label), each with its ``ethnic_group``
``imd_quintile``    ``1`` (deciles 1-2, most deprived) ... ``5`` (deciles 9-10), ``unknown``
``age_band``        ``patients.demographics.AGE_BANDS`` on the age at referral, ``unknown``
``sex``             female, male, other, unknown (not recorded is ``unknown``)
``preferred_language`` the recorded tag as given (those with no count above 7 pooled as ``other
                    languages``), ``unknown`` when not recorded
==================  =======================================================================================

Every group of the vocabulary is listed, even with no referrals (so the list of groups reveals nothing), and
any other value found after them. The labels are those of ``cohort.kpis`` (the same table at scale).

Each KPI of a group has its numerator and denominator after disclosure control (``reporting.disclosure``;
the settings in ``breakdowns.yaml``), its rate (percent to 1 dp, half up, from the **unrounded** counts, as the
engine), the rate's Wilson 95% interval (Wilson 1927; ``methods.proportions.wilson``), and its **gap** to the
breakdown's reference group in percentage points with Newcombe's hybrid score 95% interval for a difference of
proportions (Newcombe 1998, "Interval estimation for the difference between independent proportions:
comparison of eleven methods", Stat Med 17:873-890, method 10). A suppressed value is ``null`` with
``"suppressed": true`` beside it; a rate, its interval and its gap are withheld when the numerator or the
denominator is suppressed, and every gap is withheld when the reference group's are.

Disclosure control treats one quantity as one cell whatever KPI shows it: ``finished_course`` is also the
denominator of both waits and of reliable improvement and deterioration (all finished courses, as nationally); the
recovery denominators are one (finished, less those known not to be at caseness at the start). The groups of a
breakdown sum to the service total (published unrounded in the report's ``kpis``), and the detailed ethnic
categories of a group sum to that group: these are
the margins that secondary suppression protects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from idiograph.methods.proportions import wilson
from idiograph.patients.demographics import AGE_BANDS, ETHNIC_CATEGORIES, SEXES
from idiograph.reporting.disclosure import (
    DisclosureConfig,
    Margin,
    Rate,
    Shown,
    bounds,
    exact_recoverable,
    problems,
    protect,
)
from idiograph.reporting.grid import Grain, check_grain
from idiograph.reporting.kpis import Definitions, Kpi, Referral, compute, definitions, split

SETTINGS = Path(__file__).with_name("breakdowns.yaml")
BREAKDOWNS = ("ethnic_group", "ethnic_category", "imd_quintile", "age_band", "sex", "preferred_language")
NOT_KNOWN = "Not known"
NOT_STATED = "Not stated"
UNKNOWN = "unknown"
OTHER_LANGUAGES = "other languages"  # languages too rare to list, pooled
UNRECORDED = frozenset({NOT_KNOWN, NOT_STATED, UNKNOWN})  # never the reference group
# breakdowns published together because their cells are tied (the categories of a group sum to it)
SYSTEMS = (("ethnic_group", "ethnic_category"), ("imd_quintile",), ("age_band",), ("sex",), ("preferred_language",))
# a KPI's denominator that is another published quantity: one cell for disclosure control
SHARED_DENOMINATORS = {
    "waited_6_weeks": "finished_course",
    "waited_18_weeks": "finished_course",
    "recovery": "finished_at_caseness",
    "reliable_recovery": "finished_at_caseness",
    "reliable_improvement": "finished_course",
    "reliable_deterioration": "finished_course",
}
GROUP_OF_CATEGORY = {label: group for group, label in ETHNIC_CATEGORIES.values()}
Scope = Literal["talking_therapies", "community"]


class Settings(BaseModel):
    """``breakdowns.yaml``: reference groups, disclosure control, the publication grid and the intervals'
    confidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1)
    references: dict[str, str | None] = Field(default_factory=dict)
    disclosure: DisclosureConfig = DisclosureConfig()
    confidence: float = Field(default=0.95, gt=0, lt=1)
    exact: bool = False  # also protect against the reader solving every constraint at once (seconds per report)
    publication_period: Grain = "quarter"  # group-level cells only for exactly one period of this grid (H-108)

    @field_validator("publication_period", mode="before")
    @classmethod
    def _grain(cls, value: object) -> Grain:
        return check_grain(str(value))

    @model_validator(mode="after")
    def _known_breakdowns(self) -> Settings:
        for name, group in self.references.items():
            if name not in BREAKDOWNS:
                raise ValueError(f"references: {name!r} is not a breakdown ({', '.join(BREAKDOWNS)})")
            closed = name != "preferred_language"  # the only open vocabulary
            if group is not None and closed and group not in VOCABULARY[name]:
                raise ValueError(
                    f"references: {name}: {group!r} is not one of its groups ({', '.join(VOCABULARY[name])})"
                )
            if group in UNRECORDED:
                raise ValueError(f"references: {name}: {group!r} stands for not recorded and cannot be the reference")
        return self


@lru_cache(maxsize=4)
def settings(path: Path = SETTINGS) -> Settings:
    """The settings in ``path``, or a ValueError naming the file, the field and the reason."""
    try:
        return Settings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        found = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path.name}: {found}") from None


def _quintile(decile: int | None) -> str:
    return str((decile + 1) // 2) if decile is not None and 1 <= decile <= 10 else UNKNOWN


def _band(age: int | None) -> str:
    if age is None:
        return UNKNOWN
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return UNKNOWN


def _category(code: str | None) -> str:
    return ETHNIC_CATEGORIES[code][1] if code in ETHNIC_CATEGORIES else NOT_KNOWN


def _group(code: str | None) -> str:
    return ETHNIC_CATEGORIES[code][0] if code in ETHNIC_CATEGORIES else NOT_KNOWN


GROUP: dict[str, Callable[[Referral], str]] = {
    "ethnic_group": lambda r: _group(r.ethnicity),
    "ethnic_category": lambda r: _category(r.ethnicity),
    "imd_quintile": lambda r: _quintile(r.deprivation_decile),
    "age_band": lambda r: _band(r.age_at_referral),
    "sex": lambda r: r.sex or UNKNOWN,
    "preferred_language": lambda r: r.preferred_language or UNKNOWN,
}

VOCABULARY: dict[str, tuple[str, ...]] = {
    "ethnic_group": tuple(dict.fromkeys(g for g, _ in ETHNIC_CATEGORIES.values())),
    "ethnic_category": tuple(label for _, label in ETHNIC_CATEGORIES.values()),
    "imd_quintile": ("1", "2", "3", "4", "5", UNKNOWN),
    "age_band": (*(label for _, _, label in AGE_BANDS), UNKNOWN),
    "sex": SEXES,
    "preferred_language": ("en", UNKNOWN),  # two groups at least, so one group is never the total
}


def groups(breakdown: str, values: Iterable[str]) -> list[str]:
    """The groups listed for a breakdown: its whole vocabulary, any other value found (sorted), and last the
    groups that stand for "not recorded"."""
    known = VOCABULARY[breakdown]
    extra = sorted(set(values) - set(known))
    return [g for g in known if g not in UNRECORDED] + extra + [g for g in known if g in UNRECORDED]


def _pct(x: float) -> float:
    return float(Decimal(100 * x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def newcombe(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for ``k1/n1 - k2/n2``, from the two Wilson intervals:
    ``d - sqrt((p1-l1)² + (u2-p2)²)`` to ``d + sqrt((u1-p1)² + (p2-l2)²)``."""
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


@lru_cache(maxsize=65536)
def shown_rate(numerator: int, denominator: int, confidence: float = 0.95) -> Shown:
    """What is published of a rate: (percent, interval low, interval high), each to 1 dp; all None when the
    denominator is 0."""
    if denominator == 0:
        return None, None, None
    lo, hi = wilson(numerator, denominator, confidence)
    return Kpi(numerator, denominator).rate, _pct(lo), _pct(hi)


def _kpis(referrals: Sequence[Referral], start: date, end: date, defs: Definitions) -> dict[str, Kpi]:
    report = compute(referrals, start, end, defs)
    measures: dict[str, Kpi] = getattr(report, "measures", {})
    return {**report.kpis, **measures}


Cells = dict[str, dict[str, dict[str, Kpi]]]  # breakdown -> group -> KPI name -> Kpi (unsuppressed)


def tabulate(
    referrals: Sequence[Referral], start: date, end: date, defs: Definitions | None = None
) -> tuple[dict[str, Kpi], Cells]:
    """(the totals, every breakdown's groups' KPIs) of ``referrals`` for the period, unsuppressed."""
    d = defs or definitions()
    totals = _kpis(referrals, start, end, d)  # checks the table first (a bad row is an error naming it)
    cells: Cells = {}
    for b in BREAKDOWNS:
        of = GROUP[b]
        members: dict[str, list[Referral]] = {}
        for r in referrals:
            members.setdefault(of(r), []).append(r)
        cells[b] = {g: _kpis(members.get(g, []), start, end, d) for g in groups(b, members)}
    return totals, cells


def _series(name: str, kpi: Kpi) -> list[tuple[str, int]]:
    out = [(name, kpi.numerator)]
    if kpi.denominator is not None:
        out.append((SHARED_DENOMINATORS.get(name, f"{name}/denominator"), kpi.denominator))
    return out


def _key(breakdown: str, group: str, series: str) -> str:
    return f"{breakdown} | {group} | {series}"


def _reference(breakdown: str, cells: Mapping[str, Mapping[str, Kpi]], config: Settings) -> str | None:
    chosen = config.references.get(breakdown)
    if chosen is not None:
        return chosen if chosen in cells else None
    sized = [(-k["referrals"].numerator, i, g) for i, (g, k) in enumerate(cells.items()) if g not in UNRECORDED]
    sized = [s for s in sized if s[0] < 0]
    return min(sized)[2] if sized else None


def _pool_rare(cells: Mapping[str, Mapping[str, Kpi]], small: int) -> dict[str, dict[str, Kpi]]:
    """Languages none of whose counts is above ``small`` are pooled as ``other languages``: a listed group with
    every count suppressed would still say that someone speaks it."""
    rare = [
        g
        for g, kpis in cells.items()
        if g not in VOCABULARY["preferred_language"]
        and all(k.numerator <= small and (k.denominator or 0) <= small for k in kpis.values())
    ]
    if not rare:
        return {g: dict(k) for g, k in cells.items()}
    pooled = {
        name: Kpi(
            sum(cells[g][name].numerator for g in rare),
            None if kpi.denominator is None else sum(cells[g][name].denominator or 0 for g in rare),
        )
        for name, kpi in cells[rare[0]].items()
    }
    kept = [g for g in cells if g not in rare and g not in UNRECORDED]
    out = {g: dict(cells[g]) for g in kept}
    out[OTHER_LANGUAGES] = pooled
    out.update({g: dict(cells[g]) for g in cells if g in UNRECORDED})
    return out


def _margins(groups_of: Mapping[str, Sequence[str]], totals: Mapping[str, int]) -> list[Margin]:
    """What ties the cells of one system: each breakdown's groups sum to the service total, and each ethnic
    group is the sum of its detailed categories."""
    out = [
        Margin(tuple(_key(b, g, s) for g in gs), total) for b, gs in groups_of.items() for s, total in totals.items()
    ]
    if "ethnic_group" in groups_of and "ethnic_category" in groups_of:
        for g in groups_of["ethnic_group"]:
            within = [x for x in groups_of["ethnic_category"] if GROUP_OF_CATEGORY.get(x, NOT_KNOWN) == g]
            for s in totals:
                out.append(Margin(tuple(_key("ethnic_category", x, s) for x in within), _key("ethnic_group", g, s)))
    return out


def publish(totals: Mapping[str, Kpi], cells: Cells, config: Settings | None = None) -> dict[str, list[dict[str, Any]]]:
    """The ``by`` object from unsuppressed totals and groups (:func:`tabulate`, or ``cohort.kpis`` at scale, which
    lists only the groups it found: the others are added here with zeros, in the order of :func:`groups`)."""
    c = config or settings()
    empty = {name: Kpi(0, None if kpi.denominator is None else 0) for name, kpi in totals.items()}
    cells = {b: {g: dict(cells[b].get(g, empty)) for g in groups(b, cells[b])} for b in BREAKDOWNS if b in cells}
    if "preferred_language" in cells:
        cells["preferred_language"] = _pool_rare(cells["preferred_language"], c.disclosure.suppress_max)
    totals_by_series: dict[str, int] = {}
    for name, kpi in totals.items():
        for s, n in _series(name, kpi):
            if totals_by_series.setdefault(s, n) != n:
                raise ValueError(f"totals: {s} is {totals_by_series[s]} and {n}: one quantity, two values")
    out: dict[str, list[dict[str, Any]]] = {}
    for system in SYSTEMS:
        present = [b for b in system if b in cells]
        if not present:
            continue
        counts: dict[str, int] = {}
        rates: list[Rate] = []
        for b in present:
            reference = _reference(b, cells[b], c)
            for g, kpis in cells[b].items():
                for name, kpi in kpis.items():
                    series = _series(name, kpi)
                    for s, n in series:
                        if counts.setdefault(_key(b, g, s), n) != n:
                            raise ValueError(
                                f"{b} {g}: {s} is {counts[_key(b, g, s)]} and {n}: one quantity, two values"
                            )
                    if len(series) > 1:
                        # the gap to the reference as shown to a reader who knows the reference's counts exactly
                        # (the strongest reader: the check uses a gap only when they are pinned)
                        ref = cells[b][reference][name] if reference is not None and g != reference else None
                        against = None if ref is None or ref.denominator is None else (ref.numerator, ref.denominator)
                        rates.append(
                            Rate(_key(b, g, name), _key(b, g, series[1][0]), show=_show(c.confidence, against))
                        )
        margins = _margins({b: list(cells[b]) for b in present}, totals_by_series)
        for m in margins:
            found = sum(counts.get(k, 0) for k in m.members)
            total = m.total if isinstance(m.total, int) else counts[m.total]
            if found != total or any(k not in counts for k in m.members):
                where = m.members[0].split(" | ")[0] if m.members else "a breakdown"
                raise ValueError(f"{where}: the groups sum to {found}, not to {total}")
        shown = protect(counts, margins, rates, c.disclosure, exact=c.exact)
        for b in present:
            out[b] = _shape(b, cells[b], shown, c)
    return out


def _show(confidence: float, reference: tuple[int, int] | None = None) -> Callable[[int, int], Shown]:
    """What is published from a candidate pair: the rate and its interval, and with ``reference`` (its numerator
    and denominator) the gap and its interval too."""
    if reference is None:
        return lambda n, d: shown_rate(n, d, confidence)
    rn, rd = reference
    return lambda n, d: shown_rate(n, d, confidence) + shown_gap(n, d, rn, rd, confidence)


@lru_cache(maxsize=65536)
def shown_gap(numerator: int, denominator: int, ref_numerator: int, ref_denominator: int, confidence: float) -> Shown:
    """What is published of a gap: (points, interval low, interval high) to 1 dp; all None when either
    denominator is 0."""
    if not denominator or not ref_denominator:
        return None, None, None
    gap = numerator / denominator - ref_numerator / ref_denominator
    lo, hi = newcombe(numerator, denominator, ref_numerator, ref_denominator, confidence)
    return _pct(gap), _pct(lo), _pct(hi)


def _shape(
    breakdown: str, cells: Mapping[str, Mapping[str, Kpi]], shown: Mapping[str, int | None], config: Settings
) -> list[dict[str, Any]]:
    reference = _reference(breakdown, cells, config)
    out: list[dict[str, Any]] = []
    for g, kpis in cells.items():
        cell: dict[str, Any] = {"group": g}
        if breakdown == "ethnic_category":
            cell["ethnic_group"] = GROUP_OF_CATEGORY.get(g, NOT_KNOWN)
        cell["reference"] = g == reference
        cell["kpis"] = {}
        for name, kpi in kpis.items():
            keys = [_key(breakdown, g, s) for s, _ in _series(name, kpi)]
            values = [shown[k] for k in keys]
            suppressed = any(v is None for v in values)
            entry: dict[str, Any] = {
                "numerator": values[0],
                "denominator": values[1] if len(values) > 1 else None,
                "rate": None,
                "suppressed": suppressed,
            }
            if kpi.denominator is not None:
                entry.update(_rate(breakdown, g, name, kpi, suppressed, reference, cells, shown, config))
            cell["kpis"][name] = entry
        out.append(cell)
    return out


def _rate(
    breakdown: str,
    group: str,
    name: str,
    kpi: Kpi,
    suppressed: bool,
    reference: str | None,
    cells: Mapping[str, Mapping[str, Kpi]],
    shown: Mapping[str, int | None],
    config: Settings,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"rate": None, "ci95": None, "gap": None, "gap_ci95": None}
    if suppressed or not kpi.denominator:
        return entry
    rate, lo, hi = shown_rate(kpi.numerator, kpi.denominator, config.confidence)
    entry.update(rate=rate, ci95=[lo, hi])
    if reference is None:
        return entry
    ref = cells[reference][name]
    ref_shown = [shown[_key(breakdown, reference, s)] for s, _ in _series(name, ref)]
    if any(v is None for v in ref_shown) or not ref.denominator or group == reference:
        return entry
    if ref.denominator is None:
        return entry
    gap, g_lo, g_hi = shown_gap(kpi.numerator, kpi.denominator, ref.numerator, ref.denominator, config.confidence)
    entry.update(gap=gap, gap_ci95=[g_lo, g_hi])
    return entry


def by_groups(
    referrals: Sequence[Referral],
    start: date,
    end: date,
    config: Settings | None = None,
    defs: Definitions | None = None,
    scope: Scope = "talking_therapies",
) -> dict[str, list[dict[str, Any]]]:
    """The report's ``by`` object: every KPI by every breakdown, after disclosure control. ``referrals`` may hold
    every team kind: only the talking-therapies teams' are used (``scope="community"`` for the others)."""
    d = defs or definitions()
    talking, community = split(referrals, d)
    chosen = talking if scope == "talking_therapies" else community
    totals, cells = tabulate(chosen, start, end, d)
    return publish(totals, cells, config)


def differencing_check(
    kpis: Mapping[str, Mapping[str, Any]],
    by: Mapping[str, Sequence[Mapping[str, Any]]],
    config: Settings | None = None,
    exact: bool = False,
) -> list[str]:
    """The automated differencing check of a published report, from what it publishes only: the totals
    (``kpis``, unrounded) and ``by``. Every count in ``by`` is 0 or a multiple of ``round_to`` and none is 1 to
    ``suppress_max``; a withheld value is null with ``"suppressed": true``; one quantity shown by several KPIs
    is published the same everywhere; and no suppressed cell can be worked out from the totals, the other cells
    (within their rounding bands), the published rates and intervals, and the gaps with their intervals once the
    reference group's counts are pinned (``reporting.disclosure.bounds``).
    Empty when the report is safe."""
    c = config or settings()
    out: list[str] = []
    totals: dict[str, int] = {}
    rate_names = {name for name, k in kpis.items() if k.get("denominator") is not None}
    for name, k in kpis.items():
        totals[name] = int(k["numerator"])
        if name in rate_names:
            totals.setdefault(SHARED_DENOMINATORS.get(name, f"{name}/denominator"), int(k["denominator"]))
    for system in SYSTEMS:
        present = [b for b in system if b in by]
        if not present:
            continue
        published: dict[str, int | None] = {}
        rates: list[Rate] = []
        gaps: dict[int, tuple[Shown, str, str]] = {}  # rate index -> (gap shown, reference numerator, denominator)
        reference = {b: str(x["group"]) for b in present for x in by[b] if x.get("reference")}
        for b in present:
            for cell in by[b]:
                g = str(cell["group"])
                for name, entry in cell["kpis"].items():
                    if name not in kpis:
                        out.append(f"{b} {g}: {name} has no total in kpis")
                        continue
                    parts = [(name, entry["numerator"])]
                    if name in rate_names:
                        parts.append((SHARED_DENOMINATORS.get(name, f"{name}/denominator"), entry["denominator"]))
                    if any(v is None for _, v in parts) and entry.get("suppressed") is not True:
                        out.append(f"{b} {g}: {name} has a null count without suppressed: true")
                    for s, v in parts:
                        key = _key(b, g, s)
                        if key in published and published[key] != v:
                            out.append(f"{b} {g}: {s} is published as {published[key]} and as {v}")
                        published[key] = v
                    if name in rate_names and entry.get("rate") is not None:
                        interval = entry.get("ci95") or [None, None]
                        shown: Shown = (entry["rate"], interval[0], interval[1])
                        num, den = (_key(b, g, s) for s, _ in parts)
                        rates.append(Rate(num, den, shown, _show(c.confidence)))
                        if entry.get("gap") is not None and b in reference:
                            gap_interval = entry.get("gap_ci95") or [None, None]
                            gaps[len(rates) - 1] = (
                                (entry["gap"], gap_interval[0], gap_interval[1]),
                                _key(b, reference[b], parts[0][0]),
                                _key(b, reference[b], parts[1][0]),
                            )
        seen = {key.rsplit(" | ", 1)[1] for key in published}
        used = {s: t for s, t in totals.items() if s in seen}
        margins = _margins({b: [str(cell["group"]) for cell in by[b]] for b in present}, used)
        try:
            found = problems(published, margins, rates, c.disclosure)
            if not found and gaps:
                # a gap is used once the reference's counts are pinned: it is then a function of the group's counts
                pinned = bounds(published, margins, rates, c.disclosure)
                for i, (gap, ref_num, ref_den) in gaps.items():
                    (a, b_), (d, e) = pinned[ref_num], pinned[ref_den]
                    if a == b_ and d == e:
                        r = rates[i]
                        shown_all = (*(r.shown or ()), *gap)
                        rates[i] = Rate(r.numerator, r.denominator, shown_all, _show(c.confidence, (a, d)))
                found = problems(published, margins, rates, c.disclosure)
            if not found and exact:
                found = [
                    f"{k}: suppressed but recoverable as {v} (solving every constraint at once)"
                    for k, v in exact_recoverable(published, margins, rates, c.disclosure).items()
                ]
            out.extend(found)
        except ValueError as exc:
            out.append(f"{', '.join(present)}: {exc}")
    return out
