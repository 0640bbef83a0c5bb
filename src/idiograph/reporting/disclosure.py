"""Statistical disclosure control for published counts (pure; mypy --strict).

The default follows NHS England's (formerly NHS Digital's) rule for figures below national level, as in the NHS
Talking Therapies publications: counts from 1 to 7 are suppressed (primary suppression) and every other count is
rounded to the nearest 5; 0 is published as 0. Both numbers are settings (:class:`DisclosureConfig`).

**Secondary suppression** (:func:`protect`). Published cells are tied by *margins*: the cells of one breakdown
sum to a total published elsewhere (the unrounded service total), and a cell can itself be the total of finer
cells (an ethnic group is the sum of its detailed categories). A suppressed cell must not be recoverable from
the others by subtraction. The rules, in order:

1. a margin never has exactly one suppressed member: the smallest non-zero published member is suppressed too;
2. then, while :func:`recoverable` finds a suppressed cell whose value is pinned to one integer by what is
   published, the smallest non-zero published cell sharing a margin with it is suppressed (a zero is never
   suppressed for this, it protects nothing the reader cannot see);
3. if no such cell is left (the quantity is tiny in every group), every cell tied to it through margins and
   rates (its component) is withheld, zeros included. A zero is suppressed only this way, so a reader knows a
   suppressed cell is at least 1 unless its whole component is withheld.

**What a reader can work out** (:func:`bounds`): each cell's smallest and largest possible true value, from
(a) the rounding band of a published count (a published 15 is 13..17; a published 10 is 8..12, since 1..7 are
never published), (b) suppressed cells at least 1 (0 only when every margin of their component, the cells tied
to them by margins and rates, is wholly withheld: what rule 3 does), (c) every margin's
sum, with (d) a numerator never above its denominator and (e) a published rate, and its interval, being
consistent only with some pairs of numerator and denominator inside their bands. Rates are computed from
unrounded counts (the national convention), so (e) often pins a published pair exactly: the protection of a
small count then rests on secondary suppression alone, which is why the check uses it. The bounds are
tightened until nothing changes. For one margin of box-bounded integers the range found is exact (every
integer in it is reachable). With nested margins and rates tying two quantities it is a sound outer range (a
value outside it is impossible; the tests check it always holds the truth) but not always the tightest: a
reader solving every constraint at once can narrow it further (found by the tests: a group's 6 of 6, pinned by
numerator <= denominator across two margins). :func:`exact_recoverable` is that reader, an integer program per
suppressed cell; ``protect(..., exact=True)`` suppresses until it too finds nothing. A figure combining two
groups (a gap to a reference group) is a constraint on four cells: the caller adds it to a rate's ``shown``
once the other group's counts are pinned (``reporting.breakdowns.differencing_check``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product

from pydantic import BaseModel, ConfigDict, Field, model_validator

SUPPRESSED = "*"
_BIG = 10**15  # an upper bound no count reaches; margins bring it down
_MAX_PAIRS = 40_000  # a rate's pairs are enumerated only when the two bands are this small (published bands are)

Shown = tuple[float | None, ...]


class DisclosureConfig(BaseModel):
    """Primary suppression and rounding of published counts (defaults: NHS England's rule below national
    level)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    suppress_max: int = Field(default=7, ge=0, description="counts from 1 to this are suppressed")
    round_to: int = Field(default=5, ge=1, description="other counts are rounded to the nearest multiple, half up")

    @model_validator(mode="after")
    def _nothing_rounds_to_zero(self) -> DisclosureConfig:
        if self.round_to > 2 * (self.suppress_max + 1):
            raise ValueError(
                f"round_to: {self.round_to} would round a published count of {self.suppress_max + 1} to 0 "
                f"(at most {2 * (self.suppress_max + 1)} with suppress_max {self.suppress_max})"
            )
        return self


DEFAULT = DisclosureConfig()


def _count(n: int) -> None:
    if n < 0:
        raise ValueError("counts are never negative")


def primary(n: int, config: DisclosureConfig = DEFAULT) -> bool:
    """A count that is suppressed for itself (1 to ``suppress_max``)."""
    _count(n)
    return 1 <= n <= config.suppress_max


def rounded(n: int, config: DisclosureConfig = DEFAULT) -> int:
    """``n`` to the nearest multiple of ``round_to``, half up."""
    _count(n)
    b = config.round_to
    return (2 * n + b) // (2 * b) * b


def shown(n: int, config: DisclosureConfig = DEFAULT) -> int | None:
    """What is published of a count on its own: None when suppressed, else the rounded count."""
    return None if primary(n, config) else rounded(n, config)


def safe_count(n: int) -> int | str:
    """The default rule for a single count, ``SUPPRESSED`` for a suppressed one (summary pages)."""
    value = shown(n)
    return SUPPRESSED if value is None else value


def band(value: int, config: DisclosureConfig = DEFAULT) -> tuple[int, int]:
    """The true counts that are published as ``value`` (0 only from 0)."""
    if value == 0:
        return 0, 0
    if value < 0 or value % config.round_to:
        raise ValueError(f"{value} is not a published count (0 or a multiple of {config.round_to})")
    b = config.round_to
    return max(config.suppress_max + 1, value - b // 2), value + (b - 1) // 2


@dataclass(frozen=True)
class Margin:
    """``members`` sum to ``total``: a number published exactly elsewhere (int), or another cell (its key)."""

    members: tuple[str, ...]
    total: int | str


@dataclass(frozen=True)
class Rate:
    """A rate of a numerator cell over a denominator cell (so numerator <= denominator). ``shown`` is what was
    published from the exact pair (the rate, its interval) or None when withheld; ``show`` makes the same from a
    candidate pair."""

    numerator: str
    denominator: str
    shown: Shown | None = None
    show: Callable[[int, int], Shown] | None = None


def publish(
    counts: Mapping[str, int], suppressed: Iterable[str], config: DisclosureConfig = DEFAULT
) -> dict[str, int | None]:
    """Each cell as published: None when suppressed, else rounded."""
    hidden = set(suppressed)
    return {k: None if k in hidden else rounded(n, config) for k, n in counts.items()}


def _withheld_whole(
    published: Mapping[str, int | None], margins: Sequence[Margin], rates: Sequence[Rate] = ()
) -> set[str]:
    """The cells that may be a suppressed zero: those of a component (cells tied by margins and rates) whose every
    margin is wholly withheld, the only way :func:`protect` suppresses a zero."""
    out: set[str] = set()
    done: set[str] = set()
    for k in published:
        if k in done:
            continue
        part = _component(k, margins, rates)
        done |= part
        inside = [m for m in margins if set(m.members) & part]
        if inside and all(published[x] is None for m in inside for x in m.members):
            out |= part
    return out


def bounds(
    published: Mapping[str, int | None],
    margins: Sequence[Margin],
    rates: Sequence[Rate] = (),
    config: DisclosureConfig = DEFAULT,
) -> dict[str, tuple[int, int]]:
    """What a reader of the publication can work out: each cell's (lowest, highest) possible true value."""
    maybe_zero = _withheld_whole(published, margins, rates)
    box: dict[str, list[int]] = {}
    for k, v in published.items():
        box[k] = list(band(v, config)) if v is not None else [0 if k in maybe_zero else 1, _BIG]

    def tighten(key: str, lo: int, hi: int) -> bool:
        b = box[key]
        new = [max(b[0], lo), min(b[1], hi)]
        if new[0] > new[1]:
            raise ValueError(f"{key}: the publication is inconsistent (no value fits)")
        if new != b:
            box[key] = new
            return True
        return False

    changed = True
    rounds = 0
    while changed:
        rounds += 1
        if rounds > 10_000:  # each round narrows some integer range; this is never reached on real tables
            break
        changed = False
        for m in margins:
            if isinstance(m.total, str):
                t_lo, t_hi = box[m.total]
            else:
                t_lo = t_hi = m.total
            s_lo = sum(box[k][0] for k in m.members)
            s_hi = sum(box[k][1] for k in m.members)
            if isinstance(m.total, str):
                changed |= tighten(m.total, s_lo, s_hi)
                t_lo, t_hi = box[m.total]
            elif not s_lo <= m.total <= s_hi:
                raise ValueError(f"the publication is inconsistent: {m.members} cannot sum to {m.total}")
            for k in m.members:
                lo, hi = box[k]
                changed |= tighten(k, t_lo - (s_hi - hi), t_hi - (s_lo - lo))
                s_lo += box[k][0] - lo
                s_hi += box[k][1] - hi
        for r in rates:
            n, d = box[r.numerator], box[r.denominator]
            changed |= tighten(r.numerator, 0, d[1])
            changed |= tighten(r.denominator, box[r.numerator][0], _BIG)
            if r.shown is None or r.show is None:
                continue
            n, d = box[r.numerator], box[r.denominator]
            if (n[1] - n[0] + 1) * (d[1] - d[0] + 1) > _MAX_PAIRS:
                continue
            fits = [
                (a, b)
                for a, b in product(range(n[0], n[1] + 1), range(d[0], d[1] + 1))
                if a <= b and r.show(a, b) == r.shown
            ]
            if not fits:
                raise ValueError(f"{r.numerator}/{r.denominator}: the publication is inconsistent (no pair fits)")
            changed |= tighten(r.numerator, min(a for a, _ in fits), max(a for a, _ in fits))
            changed |= tighten(r.denominator, min(b for _, b in fits), max(b for _, b in fits))
    return {k: (v[0], v[1]) for k, v in box.items()}


def recoverable(
    published: Mapping[str, int | None],
    margins: Sequence[Margin],
    rates: Sequence[Rate] = (),
    config: DisclosureConfig = DEFAULT,
) -> dict[str, int]:
    """Suppressed cells whose true value a reader can work out exactly, with that value (a zero worked out is not
    counted: the rule publishes zeros)."""
    b = bounds(published, margins, rates, config)
    return {k: b[k][0] for k, v in published.items() if v is None and b[k][0] == b[k][1] > 0}


def problems(
    published: Mapping[str, int | None],
    margins: Sequence[Margin],
    rates: Sequence[Rate] = (),
    config: DisclosureConfig = DEFAULT,
) -> list[str]:
    """The differencing check: every published count is 0 or a multiple of ``round_to`` and none is 1 to
    ``suppress_max``, and no suppressed cell is recoverable. Empty when the publication is safe."""
    out = [
        f"{k}: {v} is published but is not 0 or a multiple of {config.round_to} above {config.suppress_max}"
        for k, v in published.items()
        if v is not None and (v < 0 or v % config.round_to or 1 <= v <= config.suppress_max)
    ]
    if out:
        return out
    return [
        f"{k}: suppressed but recoverable as {v}" for k, v in recoverable(published, margins, rates, config).items()
    ]


def _candidates(key: str, counts: Mapping[str, int], hidden: set[str], margins: Sequence[Margin]) -> list[str]:
    near: list[str] = []
    for m in margins:
        if key in m.members or m.total == key:
            near.extend(m.members)
            if isinstance(m.total, str):
                near.append(m.total)
    return [k for k in dict.fromkeys(near) if k not in hidden and counts[k] > 0]


def _smallest(keys: Sequence[str], counts: Mapping[str, int], order: Mapping[str, int]) -> str:
    return min(keys, key=lambda k: (counts[k], order[k]))


def secondary_single(
    counts: Mapping[str, int], hidden: set[str], margins: Sequence[Margin], order: Mapping[str, int]
) -> bool:
    """Rule 1: no margin with exactly one suppressed member. Adds to ``hidden``; True when it added any."""
    added = False
    again = True
    while again:
        again = False
        for m in margins:
            if sum(k in hidden for k in m.members) != 1:
                continue
            left = [k for k in m.members if k not in hidden and counts[k] > 0]
            if left:
                hidden.add(_smallest(left, counts, order))
                added = again = True
    return added


def protect(
    counts: Mapping[str, int],
    margins: Sequence[Margin],
    rates: Sequence[Rate] = (),
    config: DisclosureConfig = DEFAULT,
    exact: bool = False,
) -> dict[str, int | None]:
    """Primary and secondary suppression and rounding: the publication of ``counts`` (None = suppressed).

    ``rates`` name the numerator and denominator of each published rate, with ``show`` (their ``shown`` is
    ignored: it is made here from the true counts when both are published). With ``exact``, the publication is
    also checked against the reader at their strongest (:func:`exact_recoverable`; seconds, not milliseconds)."""
    for k, n in counts.items():
        _count(n)
        if n < 0:
            raise ValueError(f"{k}: counts are never negative")
    order = {k: i for i, k in enumerate(counts)}
    hidden = {k for k, n in counts.items() if primary(n, config)}
    secondary_single(counts, hidden, margins, order)
    while True:
        published = publish(counts, hidden, config)
        with_rates = _shown(rates, counts, published)
        found = recoverable(published, margins, with_rates, config)
        if not found and exact:
            found = exact_recoverable(published, margins, with_rates, config)
        if not found:
            return published
        key = next(iter(found))
        near = _candidates(key, counts, hidden, margins)
        before = len(hidden)
        if near:
            hidden.add(_smallest(near, counts, order))
        else:
            hidden.update(_component(key, margins, rates))
        secondary_single(counts, hidden, margins, order)
        if len(hidden) == before:  # nothing left to withhold: the margins themselves give the cell away
            return published


def _component(key: str, margins: Sequence[Margin], rates: Sequence[Rate]) -> set[str]:
    """Every cell tied to ``key`` through margins and rates, directly or not."""
    seen = {key}
    todo = [key]
    while todo:
        k = todo.pop()
        for m in margins:
            if k in m.members or m.total == k:
                for other in (*m.members, *([m.total] if isinstance(m.total, str) else [])):
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
        for r in rates:
            if k in (r.numerator, r.denominator):
                for other in (r.numerator, r.denominator):
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
    return seen


def _shown(rates: Sequence[Rate], counts: Mapping[str, int], published: Mapping[str, int | None]) -> list[Rate]:
    out = []
    for r in rates:
        both = published[r.numerator] is not None and published[r.denominator] is not None
        value = r.show(counts[r.numerator], counts[r.denominator]) if both and r.show is not None else None
        out.append(Rate(r.numerator, r.denominator, value, r.show))
    return out


def published_rates(
    rates: Sequence[Rate], counts: Mapping[str, int], published: Mapping[str, int | None]
) -> list[Rate]:
    """``rates`` with ``shown`` filled from the true counts where numerator and denominator are both published."""
    return _shown(rates, counts, published)


def exact_recoverable(
    published: Mapping[str, int | None],
    margins: Sequence[Margin],
    rates: Sequence[Rate] = (),
    config: DisclosureConfig = DEFAULT,
) -> dict[str, int]:
    """As :func:`recoverable`, but solving every constraint at once (an integer program per suppressed cell, HiGHS
    through ``scipy.optimize.milp``): the reader at their strongest. Slower; used to check :func:`bounds`."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    box = bounds(published, margins, rates, config)
    keys = list(published)
    index = {k: i for i, k in enumerate(keys)}
    pairs: list[tuple[Rate, list[tuple[int, int]]]] = []
    for r in rates:
        if r.shown is None or r.show is None:
            continue
        (n0, n1), (d0, d1) = box[r.numerator], box[r.denominator]
        fits = [(a, b) for a, b in product(range(n0, n1 + 1), range(d0, d1 + 1)) if a <= b and r.show(a, b) == r.shown]
        pairs.append((r, fits))
    size = len(keys) + sum(len(f) for _, f in pairs)
    rows: list[tuple[dict[int, float], float, float]] = []
    for m in margins:
        row: dict[int, float] = {index[k]: 1.0 for k in m.members}
        if isinstance(m.total, str):
            row[index[m.total]] = row.get(index[m.total], 0.0) - 1.0
            rows.append((row, 0.0, 0.0))
        else:
            rows.append((row, float(m.total), float(m.total)))
    for r in rates:
        rows.append(({index[r.numerator]: 1.0, index[r.denominator]: -1.0}, -np.inf, 0.0))
    at = len(keys)
    for r, fits in pairs:
        zs = range(at, at + len(fits))
        rows.append(({z: 1.0 for z in zs}, 1.0, 1.0))
        rows.append(({index[r.numerator]: 1.0, **{z: -float(a) for z, (a, _) in zip(zs, fits, strict=True)}}, 0.0, 0.0))
        rows.append(
            ({index[r.denominator]: 1.0, **{z: -float(b) for z, (_, b) in zip(zs, fits, strict=True)}}, 0.0, 0.0)
        )
        at += len(fits)
    a = lil_matrix((len(rows), size))
    lower, upper = np.empty(len(rows)), np.empty(len(rows))
    for i, (row, lo, hi) in enumerate(rows):
        for j, coefficient in row.items():
            a[i, j] = coefficient
        lower[i], upper[i] = lo, hi
    constraints = LinearConstraint(a.tocsr(), lower, upper)
    var_lo = np.array([box[k][0] for k in keys] + [0.0] * (size - len(keys)), dtype=float)
    var_hi = np.array([box[k][1] for k in keys] + [1.0] * (size - len(keys)), dtype=float)
    integrality = np.ones(size)
    out: dict[str, int] = {}
    for k, v in published.items():
        if v is not None:
            continue
        lo, hi = box[k]
        if lo == hi:
            if lo > 0:
                out[k] = lo
            continue
        found = []
        for sign in (1.0, -1.0):
            c = np.zeros(size)
            c[index[k]] = sign
            res = milp(c, integrality=integrality, bounds=Bounds(var_lo, var_hi), constraints=constraints)
            if res.x is None:
                raise ValueError(f"{k}: the publication is inconsistent (no solution)")
            found.append(round(float(res.x[index[k]])))
        if found[0] == found[1] > 0:
            out[k] = found[0]
    return out
