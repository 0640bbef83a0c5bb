"""The batch match of people to therapists under capacity, solved to optimality (pure: numpy, scipy).

**Objective.** First, as many people assigned as capacity and the hard constraints allow; then, among all such
assignments, the largest sum of the assigned therapists' strength in each person's problem domain
(``strength_<domain>``, higher is better). With only the required columns that is the whole objective. Hard
constraints exclude a pair: a person's stated language must be one the therapist works in, and a person's preferred
format one the therapist offers (each applies only when both tables carry the column; a therapist with an empty cell
is not assumed to offer it).

**Method.** People who share a domain, language and format are interchangeable, so the problem is a transportation
problem between those groups and the therapists, whose constraint matrix is totally unimodular: a basic optimal
solution of its linear programme is integral. Two linear programmes (HiGHS interior point with crossover, dual
simplex as the fallback): the largest number that can be assigned, then the largest total strength with exactly that
number assigned. Each group's places are then given to
its people in input order. ``exact_by_assignment`` (scipy's Hungarian algorithm on capacity replicated into slots)
checks optimality on small instances in the tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix

from idiograph import languages
from idiograph.errors import FieldProblem, InvalidInput


@dataclass(frozen=True)
class Person:
    person_id: str
    domain: str
    language: str | None = None
    preferred_format: str | None = None
    # the product's per-person terms (matching.service): only these therapists may take them (hard constraints
    # worked out beforehand: team, risk, language or an interpreter), and a preference score added per therapist
    allowed: frozenset[str] | None = None
    bonus: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Therapist:
    clinician_id: str
    capacity: int
    strengths: dict[str, float]  # domain -> strength (higher is better)
    languages: frozenset[str] | None = None  # None: the table has no languages column
    formats: frozenset[str] | None = None


@dataclass(frozen=True)
class Assignment:
    person_id: str
    clinician_id: str | None  # None: waitlisted
    strength: float | None
    reasons: str


@dataclass
class Result:
    assignments: list[Assignment]
    objective: float  # the sum of strengths (plus any preference scores) over assigned pairs
    assigned: int
    waitlisted: int
    unassignable: dict[str, str] = field(default_factory=dict)  # person_id -> why nobody can take them


def check(people: Sequence[Person], therapists: Sequence[Therapist]) -> None:
    """Refuse what would make the answer wrong, naming every problem: unknown domains, negative or missing
    capacity, duplicated ids, a strength that is not a number."""
    problems: list[FieldProblem] = []
    domains = set().union(*(t.strengths for t in therapists)) if therapists else set()
    for d in sorted({p.domain for p in people} - domains):
        problems.append(FieldProblem("domain", f"{d!r} has no strength_{d} column in the therapists table"))
    seen: set[str] = set()
    for t in therapists:
        if t.clinician_id in seen:
            problems.append(FieldProblem("clinician_id", f"{t.clinician_id!r} appears twice"))
        seen.add(t.clinician_id)
        if t.capacity < 0:
            problems.append(FieldProblem("capacity", f"{t.clinician_id!r} has negative capacity {t.capacity}"))
        for d, s in t.strengths.items():
            if not np.isfinite(s):
                problems.append(FieldProblem(f"strength_{d}", f"{t.clinician_id!r} has no number"))
    ids = [p.person_id for p in people]
    twice = sorted(i for i, k in Counter(ids).items() if k > 1) if len(set(ids)) != len(ids) else []
    if twice:
        problems.append(FieldProblem("person_id", f"appear more than once: {', '.join(map(repr, twice[:10]))}"))
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in the tables; nothing was solved", problems)


def eligible(p: Person, t: Therapist) -> bool:
    if p.allowed is not None and t.clinician_id not in p.allowed:
        return False
    # as in the product: English (the working language) constrains nobody; a region does not change a language
    if (
        not languages.is_english(p.language)
        and t.languages is not None
        and not languages.speaks(t.languages, p.language)
    ):
        return False
    return not (p.preferred_format and t.formats is not None and p.preferred_format not in t.formats)


def solve(people: Sequence[Person], therapists: Sequence[Therapist]) -> Result:
    """The optimal assignment (see the module's description)."""
    check(people, therapists)
    kinds: dict[tuple[str, str | None, str | None, int], list[int]] = {}
    for i, p in enumerate(people):
        own = i if (p.allowed is not None or p.bonus) else -1  # per-person terms: a group of one
        kinds.setdefault((p.domain, p.language or None, p.preferred_format or None, own), []).append(i)
    keys = list(kinds)
    caps = np.array([t.capacity for t in therapists], dtype=float)
    rows, cols, value = [], [], []
    for g, key in enumerate(keys):
        probe = people[kinds[key][0]]
        extra = dict(probe.bonus)
        for j, t in enumerate(therapists):
            if t.capacity > 0 and eligible(probe, t):
                rows.append(g)
                cols.append(j)
                value.append(t.strengths[probe.domain] + extra.get(t.clinician_id, 0.0))
    flows = _transport(
        np.array(rows, dtype=int),
        np.array(cols, dtype=int),
        np.array(value, dtype=float),
        np.array([len(kinds[k]) for k in keys], dtype=float),
        caps,
    )
    by_kind: dict[int, list[tuple[int, int]]] = {}
    for e, f in enumerate(flows):
        if f > 0:
            by_kind.setdefault(rows[e], []).append((cols[e], int(f)))
    reachable = set(rows)
    out: list[Assignment | None] = [None] * len(people)
    unassignable: dict[str, str] = {}
    total = 0.0
    for g, key in enumerate(keys):
        domain = key[0]
        members = kinds[key]
        ranked = sorted(by_kind.get(g, []), key=lambda jf: -therapists[jf[0]].strengths[domain])
        places = [j for j, f in ranked for _ in range(f)]
        for i, j in zip(members, places, strict=False):
            t = therapists[j]
            s = t.strengths[domain]
            total += s + dict(people[i].bonus).get(t.clinician_id, 0.0)
            out[i] = Assignment(people[i].person_id, t.clinician_id, s, _reasons(people[i], t, s))
        for i in members[len(places) :]:
            nobody = g not in reachable
            why = _nobody(people[i]) if nobody else f"waitlisted: every suitable therapist for {domain} is full"
            if nobody:
                unassignable[people[i].person_id] = why
            out[i] = Assignment(people[i].person_id, None, None, why)
    done = [a for a in out if a is not None]
    assigned = sum(a.clinician_id is not None for a in done)
    return Result(done, total, assigned, len(done) - assigned, unassignable)


def _transport(
    rows: np.ndarray, cols: np.ndarray, value: np.ndarray, supply: np.ndarray, caps: np.ndarray
) -> np.ndarray:
    """Integral flows on the eligible (group, therapist) edges: most assigned first, then most strength. Interior
    point with crossover to a basic solution (about ten times faster than dual simplex at 100,000 people); a basic
    solution of a transportation problem is integral, which is checked, and dual simplex is the fallback."""
    if rows.size == 0:
        return np.zeros(0)
    n_edges = rows.size
    a = coo_matrix(
        (np.ones(2 * n_edges), (np.r_[rows, supply.size + cols], np.r_[np.arange(n_edges), np.arange(n_edges)])),
        shape=(supply.size + caps.size, n_edges),
    ).tocsr()
    b = np.r_[supply, caps]
    for method in ("highs-ipm", "highs-ds"):
        most = linprog(-np.ones(n_edges), A_ub=a, b_ub=b, bounds=(0, None), method=method)
        if most.status != 0:
            continue
        k = float(np.round(-most.fun))
        best = linprog(-value, A_ub=a, b_ub=b, A_eq=np.ones((1, n_edges)), b_eq=[k], bounds=(0, None), method=method)
        if best.status != 0:
            continue
        flows = np.round(best.x)
        if np.abs(flows - best.x).max(initial=0) <= 1e-6:
            return np.asarray(flows, dtype=float)
    raise RuntimeError("the assignment could not be solved to an integral optimum")


def _reasons(p: Person, t: Therapist, s: float) -> str:
    parts = [f"strength in {p.domain} {s:.2f}"]
    if not languages.is_english(p.language) and t.languages is not None:
        parts.append(f"works in {languages.name(p.language)}")
    if p.preferred_format and t.formats is not None:
        parts.append(f"offers {p.preferred_format.replace('_', ' ')}")
    return "; ".join(parts)


def _nobody(p: Person) -> str:
    needs = [
        f"language {p.language}" if p.language else "",
        f"format {p.preferred_format}" if p.preferred_format else "",
    ]
    wanted = " and ".join(n for n in needs if n)
    return f"unassignable: no therapist with free capacity offers {p.domain}" + (f" with {wanted}" if wanted else "")


def exact_by_assignment(people: Sequence[Person], therapists: Sequence[Therapist]) -> tuple[int, float]:
    """(number assigned, total strength) of the optimum by the Hungarian algorithm on capacity replicated into
    slots, with a waitlist column per person; for checking ``solve`` on small instances."""
    slots = [j for j, t in enumerate(therapists) for _ in range(max(t.capacity, 0))]
    extra = [dict(p.bonus) for p in people]
    n = len(people)
    if n == 0:
        return 0, 0.0
    values = [
        t.strengths[p.domain] + e.get(t.clinician_id, 0.0)
        for p, e in zip(people, extra, strict=True)
        for t in therapists
    ]
    # one more person assigned must outweigh any difference in strength (waitlisting gains 0)
    big = 1.0 + 2 * n * (max(abs(v) for v in values) + 1.0) if values else 1.0
    gain = np.full((n, len(slots) + n), -np.inf)
    gain[:, len(slots) :] = 0.0
    for i, p in enumerate(people):
        for s, j in enumerate(slots):
            if eligible(p, therapists[j]):
                gain[i, s] = big + therapists[j].strengths[p.domain] + extra[i].get(therapists[j].clinician_id, 0.0)
    gain[np.isinf(gain)] = -1e12
    r, c = linear_sum_assignment(gain, maximize=True)
    real = [(i, s) for i, s in zip(r, c, strict=True) if s < len(slots) and gain[i, s] > -1e11]
    return len(real), float(sum(gain[i, s] - big for i, s in real))
