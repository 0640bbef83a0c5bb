"""The ``matching solve`` tables (CSV or Parquet): PEOPLE and THERAPISTS in, ASSIGNMENTS out."""

from __future__ import annotations

from typing import Any

import numpy as np

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.matching.solve import Person, Result, Therapist
from idiograph.matching.strengths import DomainSummary, Strength

STRENGTH = "strength_"
PEOPLE_COLUMNS = ("person_id", "domain", "language", "preferred_format")
THERAPIST_COLUMNS = ("clinician_id", "capacity", "languages", "formats")


def ignored_columns(table: dict[str, Any], kind: str) -> list[str]:
    """Columns a table has that ``matching solve`` does not read (a misspelt optional column would otherwise be
    ignored without a word): said, not refused, since ``matching strengths`` writes ``name`` and ``team`` too (the
    solve applies no team constraint: a table is one team's, or the whole service's)."""
    known = PEOPLE_COLUMNS if kind == "people" else THERAPIST_COLUMNS
    return [c for c in table if c not in known and not (kind == "therapists" and c.startswith(STRENGTH))]


def people_from(table: dict[str, Any]) -> list[Person]:
    """PEOPLE: ``person_id``, ``domain``; optional ``language``, ``preferred_format``."""
    _require(table, ("person_id", "domain"), "people")
    n = len(table["person_id"])
    ids, domains = _text(table["person_id"]), _text(table["domain"])
    language = _text(table["language"]) if "language" in table else [None] * n
    fmt = _text(table["preferred_format"]) if "preferred_format" in table else [None] * n
    problems = [
        FieldProblem(f"row {i + 1}", "person_id or domain is empty") for i in range(n) if not ids[i] or not domains[i]
    ]
    if problems:
        raise InvalidInput(f"{len(problems)} people row(s) without an id or a domain", problems[:20])
    return [Person(str(ids[i]), str(domains[i]), language[i], fmt[i]) for i in range(n)]


def therapists_from(table: dict[str, Any]) -> list[Therapist]:
    """THERAPISTS: ``clinician_id``, ``capacity`` (free places), a ``strength_<domain>`` column per domain (higher is
    better; ``strength_<domain>_se`` is read by the ranking, not by the optimum); optional ``languages`` and
    ``formats``, ';'-separated."""
    _require(table, ("clinician_id", "capacity"), "therapists")
    domains = [c[len(STRENGTH) :] for c in table if c.startswith(STRENGTH) and not c.endswith("_se")]
    if not domains:
        raise InvalidInput(
            "the therapists table has no strength_<domain> column", [FieldProblem("strength_<domain>", "missing")]
        )
    n = len(table["clinician_id"])
    ids = _text(table["clinician_id"])
    capacity = table["capacity"]
    problems: list[FieldProblem] = []
    if not isinstance(capacity, np.ndarray):
        raise InvalidInput("capacity must be whole numbers", [FieldProblem("capacity", "not numbers")])
    for i in range(n):
        c = capacity[i]
        if np.isnan(c) or c != int(c):
            problems.append(FieldProblem("capacity", f"row {i + 1}: {c} is not a whole number of free places"))
        if not ids[i]:
            problems.append(FieldProblem("clinician_id", f"row {i + 1} is empty"))
    for d in domains:
        if not isinstance(table[STRENGTH + d], np.ndarray):
            problems.append(FieldProblem(STRENGTH + d, "not numbers"))
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in the therapists table", problems[:20])
    languages = _sets(table.get("languages"), n)
    formats = _sets(table.get("formats"), n)
    return [
        Therapist(
            str(ids[i]),
            int(capacity[i]),
            {d: float(table[STRENGTH + d][i]) for d in domains},
            languages[i],
            formats[i],
        )
        for i in range(n)
    ]


def assignment_columns(result: Result) -> dict[str, list[Any]]:
    return {
        "person_id": [a.person_id for a in result.assignments],
        "clinician_id": [a.clinician_id for a in result.assignments],
        "strength": [a.strength for a in result.assignments],
        "reasons": [a.reasons for a in result.assignments],
    }


def _require(table: dict[str, Any], names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if n not in table]
    if missing:
        raise InvalidInput(
            f"the {what} table lacks {', '.join(missing)}", [FieldProblem(n, "missing column") for n in missing]
        )


def _text(column: Any) -> list[str | None]:
    out: list[str | None] = []
    for v in column.tolist() if isinstance(column, np.ndarray) else column:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, float) and v == int(v):
            out.append(str(int(v)))  # a numeric id column: 17, not 17.0
        else:
            text = str(v).strip()
            out.append(text or None)
    return out


def _sets(column: Any, n: int) -> list[frozenset[str] | None]:
    if column is None:
        return [None] * n
    return [frozenset(x.strip() for x in (v or "").split(";") if x.strip()) for v in _text(column)]


def therapist_columns(
    staff: list[dict[str, Any]], strengths: list[Strength], summaries: list[DomainSummary]
) -> dict[str, list[Any]]:
    """The THERAPISTS table ``matching strengths`` writes: each of ``staff`` (``clinician_id``, ``name``, ``team``,
    ``capacity``, ``languages``, ``formats``) with ``strength_<domain>`` and ``strength_<domain>_se`` for every
    domain, the cases it rests on (``cases_<domain>``) and its class (``class_<domain>``). A therapist with no
    finished episodes in a domain gets the service mean (0) and the spread between therapists as its error, class
    ``too_few``: the assignment treats them as average there, never as proven."""
    found = {(s.clinician_id, s.domain): s for s in strengths}
    prior = {d.domain: d for d in summaries}
    cols: dict[str, list[Any]] = {k: [] for k in ("clinician_id", "name", "team", "capacity", "languages", "formats")}
    for d in sorted(prior):
        for k in (f"{STRENGTH}{d}", f"{STRENGTH}{d}_se", f"cases_{d}", f"class_{d}"):
            cols[k] = []
    for row in staff:
        for k in ("clinician_id", "name", "team", "capacity"):
            cols[k].append(row.get(k))
        cols["languages"].append(";".join(row.get("languages") or ()))
        cols["formats"].append(";".join(row.get("formats") or ()))
        for d, summary in sorted(prior.items()):
            s = found.get((str(row["clinician_id"]), d))
            cols[f"{STRENGTH}{d}"].append(round(s.strength, 4) if s else 0.0)
            cols[f"{STRENGTH}{d}_se"].append(round(s.se if s else summary.between_sd, 4))
            cols[f"cases_{d}"].append(s.n if s else 0)
            cols[f"class_{d}"].append(s.klass if s else "too_few")
    return cols
