"""FHIR R4 search parameters, parsed and checked (pure: query pairs in, a ``Search`` out).

What each resource type supports is data (``PARAMETERS``), read by the parser, the database sources and the
CapabilityStatement alike. Unknown parameters are handled as the specification says (FHIR R4 3.1.1.5.7 / R4
search "Handling errors"): ignored and left out of the ``self`` link, or refused with 400 when the client sends
``Prefer: handling=strict``. A parameter idiograph knows but cannot apply as asked (a malformed date, an
unknown prefix) is always a 400 naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from idiograph.errors import FieldProblem, InvalidInput

ParamType = Literal["reference", "token", "date", "string", "uri"]
DEFAULT_COUNT = 50
MAX_COUNT = 1000
PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb")

# Search parameters per resource type: name -> type. ``patient`` and ``subject`` both name the person.
_PERSON: dict[str, ParamType] = {"patient": "reference", "subject": "reference"}
PARAMETERS: dict[str, dict[str, ParamType]] = {
    "Patient": {
        "identifier": "token",
        "name": "string",
        "family": "string",
        "given": "string",
        "birthdate": "date",
        "gender": "token",
        "_lastUpdated": "date",
    },
    "Observation": {
        **_PERSON,
        "code": "token",
        "date": "date",
        "status": "token",
        "category": "token",
        "_lastUpdated": "date",
    },
    "QuestionnaireResponse": {**_PERSON, "questionnaire": "uri", "authored": "date", "status": "token"},
    "Encounter": {**_PERSON, "date": "date", "status": "token", "class": "token"},
    "EpisodeOfCare": {"patient": "reference", "date": "date", "status": "token", "type": "token"},
    "Condition": {**_PERSON, "code": "token", "onset-date": "date", "clinical-status": "token"},
    "Flag": {**_PERSON, "date": "date", "status": "token", "category": "token", "code": "token"},
    "Appointment": {"patient": "reference", "actor": "reference", "date": "date", "status": "token"},
    "CarePlan": {**_PERSON, "category": "token", "status": "token", "date": "date"},
    "RiskAssessment": {**_PERSON, "date": "date", "status": "token"},
}
COMMON: dict[str, ParamType] = {"_id": "token"}
# Parameters about the result, not the match.
RESULT = ("_count", "_sort", "_total", "_format", "_cursor")
SORTS: dict[str, tuple[str, ...]] = {t: ("_id",) if t == "Patient" else ("date", "-date", "_id") for t in PARAMETERS}


@dataclass(frozen=True)
class DateRange:
    """One date parameter value: ``prefix`` applied to the half-open range [start, end) its precision covers."""

    prefix: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system
    code: str | None  # None: any code in the system (``system|``)


@dataclass
class Search:
    """A parsed search: each known parameter's values (comma = OR inside one value; repeats = AND)."""

    resource_type: str
    tokens: dict[str, list[list[Token]]] = field(default_factory=dict)
    dates: dict[str, list[list[DateRange]]] = field(default_factory=dict)
    strings: dict[str, list[list[str]]] = field(default_factory=dict)
    references: dict[str, list[list[str]]] = field(default_factory=dict)  # resource ids (the part after Type/)
    count: int = DEFAULT_COUNT
    sort: str = "date"
    total: bool = True
    cursor: Cursor | None = None
    applied: list[tuple[str, str]] = field(default_factory=list)  # what the self link shows
    ignored: list[str] = field(default_factory=list)

    def person_ids(self) -> list[list[str]]:
        return (
            self.references.get("patient", []) + self.references.get("subject", []) + self.references.get("actor", [])
        )

    def query(self, cursor: Cursor | None = None) -> str:
        """The query string of this search (as applied), on the page ``cursor`` names."""
        pairs = [*self.applied, ("_count", str(self.count))]
        if self.sort != default_sort(self.resource_type):
            pairs.append(("_sort", self.sort))
        if cursor is not None:
            pairs.append(("_cursor", cursor.encode()))
        return urlencode(pairs)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or before, going back) the row with this sort key and id (keyset paging)."""

    key: list[str | None]
    direction: Literal["after", "before"] = "after"

    def encode(self) -> str:
        raw = json.dumps({"k": self.key, "d": self.direction}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(value: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            key, direction = raw["k"], raw["d"]
            if direction not in ("after", "before") or not isinstance(key, list):
                raise ValueError
            if not all(k is None or isinstance(k, str) for k in key):
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise bad_search("_cursor", "is not a page link this server made: follow the bundle's links") from None
        return Cursor(key, direction)


def default_sort(resource_type: str) -> str:
    return "_id" if resource_type == "Patient" else "date"


def bad_search(name: str, reason: str) -> InvalidInput:
    err = InvalidInput(f"search parameter {name}: {reason}", [FieldProblem(name, reason)])
    err.status, err.title = 400, "Bad search"
    return err


def parse_date(name: str, raw: str) -> DateRange:
    """``[prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]`` as the range its precision covers (a date without a zone is
    read in UTC)."""
    prefix, value = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
    if prefix not in PREFIXES:
        raise bad_search(name, f"{prefix!r} is not a date prefix ({', '.join(PREFIXES)})")
    try:
        if len(value) == 4:
            start = datetime(int(value), 1, 1, tzinfo=UTC)
            end = datetime(int(value) + 1, 1, 1, tzinfo=UTC)
        elif len(value) == 7:
            y, m = int(value[:4]), int(value[5:7])
            if value[4] != "-":
                raise ValueError
            start = datetime(y, m, 1, tzinfo=UTC)
            end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
        elif len(value) == 10:
            start = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            end = start + timedelta(days=1)
        else:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
            start = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)
            end = start + (timedelta(minutes=1) if len(value.split("T", 1)[1]) <= 5 else timedelta(seconds=1))
    except (ValueError, IndexError):
        raise bad_search(
            name, f"{raw!r} is not a FHIR date or dateTime (e.g. ge2024-01-01 or 2024-03-01T09:30Z)"
        ) from None
    return DateRange(prefix, start, end)


def parse_token(raw: str) -> Token:
    if "|" not in raw:
        return Token(None, raw or None)
    system, code = raw.split("|", 1)
    return Token(system or "", code or None)


def parse_reference(name: str, raw: str) -> str:
    """``Patient/ID``, an absolute URL ending in it, or ``ID``: the id."""
    parts = raw.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] != "Patient":
        raise bad_search(name, f"{raw!r} does not refer to a Patient")
    if not parts[-1]:
        raise bad_search(name, "give Patient/ID or ID")
    return parts[-1]


def parse(resource_type: str, pairs: list[tuple[str, str]], strict: bool = False) -> Search:
    """The search asked for by the query ``pairs`` (in order, repeats kept)."""
    known = {**COMMON, **PARAMETERS[resource_type]}
    s = Search(resource_type, sort=default_sort(resource_type))
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in RESULT:
            _result_parameter(s, name, value)
            continue
        kind = known.get(name)
        if kind is None or (modifier and not (kind == "string" and modifier == "exact")):
            what = f"modifier :{modifier} of {name}" if kind else name
            if strict:
                supported = ", ".join(sorted(known))
                raise bad_search(raw_name, f"{what} is not supported for {resource_type} (supported: {supported})")
            s.ignored.append(raw_name)
            continue
        values = [v for v in value.split(",") if v != ""]
        if not values:
            raise bad_search(raw_name, "has no value")
        if kind == "date":
            s.dates.setdefault(name, []).append([parse_date(name, v) for v in values])
        elif kind in ("token", "uri"):
            s.tokens.setdefault(name, []).append([parse_token(v) for v in values])
        elif kind == "reference":
            s.references.setdefault(name, []).append([parse_reference(name, v) for v in values])
        else:
            exact = modifier == "exact"
            s.strings.setdefault(name + (":exact" if exact else ""), []).append(values)
        s.applied.append((raw_name, value))
    return s


def _result_parameter(s: Search, name: str, value: str) -> None:
    if name == "_count":
        try:
            n = int(value)
        except ValueError:
            raise bad_search("_count", f"{value!r} is not a whole number") from None
        if n < 0:
            raise bad_search("_count", "must be 0 (the total only) or more")
        s.count = min(n, MAX_COUNT)
    elif name == "_sort":
        allowed = SORTS[s.resource_type]
        if value not in allowed:
            raise bad_search("_sort", f"{value!r} is not supported here (use {', '.join(allowed)})")
        s.sort = value
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise bad_search("_total", "must be none, estimate or accurate")
        s.total = value != "none"
    elif name == "_cursor":
        s.cursor = Cursor.decode(value)
    elif name == "_format" and value not in ("json", "application/json", "application/fhir+json"):
        raise NotAcceptableFormat(value)


class NotAcceptableFormat(Exception):
    """A response format idiograph does not produce (XML, Turtle): 406."""

    def __init__(self, asked: str) -> None:
        super().__init__(f"{asked!r} is not produced here: idiograph answers in FHIR JSON (application/fhir+json)")


def accepts_json(accept: str | None) -> bool:
    """Does an Accept header allow JSON? (absent, */*, application/*, json or fhir+json, at any q above 0)."""
    if not accept:
        return True
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        if media in ("*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir"):
            return True
    return False
