"""Parsing the long CSV format (one row per observation, person columns repeated) into typed rows (pure).

Required columns: person_id (the person's id in the source system), code, value, time.
Optional: system (default LOINC), unit, source_id, and person columns given_name, family_name,
birth_date, sex, gender_identity, ethnicity, deprivation_decile, preferred_language, nhs_number.
A time without an offset (or a bare date) is read as Europe/London local time.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from idiograph.errors import FieldProblem
from idiograph.instruments.definitions import LOINC
from idiograph.patients import nhs_number
from idiograph.patients.demographics import DEMOGRAPHIC_FIELDS, ETHNIC_CATEGORIES, SEXES, is_language_tag

REQUIRED = ("person_id", "code", "value", "time")
PERSON_COLUMNS = DEMOGRAPHIC_FIELDS
KNOWN = set(REQUIRED) | set(PERSON_COLUMNS) | {"system", "unit", "source_id"}
LONDON = ZoneInfo("Europe/London")
MAX_ROWS = 2_000_000


@dataclass
class CsvRow:
    line: int
    person_ref: str
    system: str
    code: str
    value: float
    unit: str | None
    time: datetime
    source_id: str | None


@dataclass
class CsvContent:
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[FieldProblem] = field(default_factory=list)


def parse_time(text: str) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), LONDON)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=LONDON)


def _person_value(col: str, raw: str) -> Any:
    if col == "birth_date":
        d = date.fromisoformat(raw)
        if d > date.today() or d.year < 1900:
            raise ValueError("must be between 1900-01-01 and today")
        return d
    if col == "sex":
        if raw not in SEXES:
            raise ValueError(f"must be one of {', '.join(SEXES)}")
        return raw
    if col == "ethnicity":
        if raw not in ETHNIC_CATEGORIES:
            raise ValueError("must be an NHS ethnic category code (A-S, Z, 99)")
        return raw
    if col == "deprivation_decile":
        v = int(raw)
        if not 1 <= v <= 10:
            raise ValueError("must be 1-10")
        return v
    if col == "preferred_language":
        if not is_language_tag(raw):
            raise ValueError("must be a language tag such as 'en'")
        return raw
    if col == "nhs_number":
        return nhs_number.validate(raw)
    if len(raw) > 120:
        raise ValueError("longer than 120 characters")
    return raw


def parse(text: str) -> CsvContent:
    out = CsvContent()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        out.problems.append(FieldProblem("header", f"missing required column(s): {', '.join(missing)}"))
        return out
    unknown = [c for c in header if c not in KNOWN]
    if unknown:
        out.problems.append(FieldProblem("header", f"unknown column(s): {', '.join(unknown)}"))
        return out
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:  # which of two 'value' columns is meant? (once: the last one, silently)
        out.problems.append(FieldProblem("header", f"column(s) named twice: {', '.join(repeated)}"))
        return out
    if "\x00" in text:  # PostgreSQL cannot store it and no clinical text needs it (once: stored on SQLite only)
        line = text[: text.index("\x00")].count("\n") + 1
        out.problems.append(FieldProblem(f"line {line}", "contains a NUL (\\u0000) character"))
        return out
    reader.fieldnames = header
    for n, raw in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            out.problems.append(FieldProblem("file", f"more than {MAX_ROWS} rows; split the file"))
            break
        if None in raw:
            out.problems.append(FieldProblem(f"line {n}", "more cells than header columns"))
            continue
        row = {k: (v or "").strip() for k, v in raw.items()}
        where = f"line {n}"
        for col in REQUIRED:
            if not row.get(col):
                out.problems.append(FieldProblem(f"{where}/{col}", "is empty"))
        if any(not row.get(c) for c in REQUIRED):
            continue
        try:
            value = float(row["value"])
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            out.problems.append(FieldProblem(f"{where}/value", f"{row['value']!r} is not a number"))
            continue
        try:
            when = parse_time(row["time"])
        except ValueError as exc:
            out.problems.append(FieldProblem(f"{where}/time", str(exc)))
            continue
        ref = row["person_id"]
        person = out.people.setdefault(ref, {})
        for col in PERSON_COLUMNS:
            if row.get(col):
                try:
                    v = _person_value(col, row[col])
                except ValueError as exc:
                    out.problems.append(FieldProblem(f"{where}/{col}", str(exc)))
                    continue
                if col in person and person[col] != v:
                    out.problems.append(FieldProblem(f"{where}/{col}", f"differs from an earlier row for person {ref}"))
                person[col] = v
        out.rows.append(
            CsvRow(
                n,
                ref,
                row.get("system") or LOINC,
                row["code"],
                value,
                row.get("unit") or None,
                when,
                row.get("source_id") or None,
            )
        )
    return out
