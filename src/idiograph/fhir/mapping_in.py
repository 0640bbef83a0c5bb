"""FHIR resources (as validated JSON) to idiograph's records (pure; no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from idiograph.errors import FieldProblem
from idiograph.fhir import vocab
from idiograph.patients import nhs_number
from idiograph.patients.demographics import ETHNIC_CATEGORIES, is_language_tag
from idiograph.patients.episodes import DISCHARGE_REASONS, PRESENTING_PROBLEMS, REFERRAL_SOURCES


class Skip(Exception):
    """A resource idiograph does not store, with the reason it is reported."""


# A value whose unit cannot be converted exactly to its code's unit is kept as sent, as its own measure: under this
# system (the original system appended) and the code ``<code>@<unit>``, learnt with the unit it came in. It is then
# a series of its own, never read as if it were in the catalogue's unit (hazard H-079).
UNIT_QUALIFIED = "urn:idiograph:unit-qualified:"
MAX_UNIT = 40  # observation.unit
MAX_CODE = 100  # observation.code
MAX_SYSTEM = 300  # observation.system
_ANNOTATION = re.compile(r"^\{[^{}]*\}$")


def unit_qualified(system: str, code: str, unit: str) -> tuple[str, str]:
    """The local (system, code) under which a value in an unconvertible ``unit`` is kept as its own measure."""
    return f"{UNIT_QUALIFIED}{system}", f"{code}@{unit}"


def unit_qualified_origin(system: str, code: str) -> tuple[str, str, str] | None:
    """(original system, original code, unit) of a unit-qualified code, else None (for export and display)."""
    if not system.startswith(UNIT_QUALIFIED) or "@" not in code:
        return None
    original, _, unit = code.partition("@")
    return system[len(UNIT_QUALIFIED) :], original, unit


def is_dimensionless(unit: str) -> bool:
    """UCUM's unity ``1`` or a bare annotation (``{score}``, ``{points}``): a count with no physical dimension."""
    return unit == "1" or bool(_ANNOTATION.match(unit))


def conditional_identifier(ref: str, where: str) -> tuple[str | None, str]:
    """(system or None for any system, value) of ``Patient?identifier=[system|]value``; anything else is refused."""
    params = parse_qsl(ref.partition("?")[2], keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier" or not params[0][1]:
        raise InvalidEntry(
            [FieldProblem(where, f"{ref!r}: only a conditional reference on one identifier (identifier=system|value)")]
        )
    token = params[0][1]
    if "|" not in token:
        return None, token
    system, _, value = token.partition("|")
    if not value:
        raise InvalidEntry([FieldProblem(where, f"{ref!r}: the identifier value is empty")])
    return system, value


@dataclass
class PatientIn:
    fields: dict[str, Any]
    identifiers: list[tuple[str, str]]


@dataclass
class ObservationIn:
    subject: str
    system: str
    code: str
    display: str
    value: float
    unit: str | None
    time: datetime
    suffix: str = ""  # component index for multi-component observations


@dataclass
class ConditionIn:
    subject: str
    system: str
    code: str
    display: str
    clinical_status: str | None
    onset: datetime | None
    abatement: datetime | None


@dataclass
class EncounterIn:
    subject: str
    status: str
    class_code: str | None
    type_system: str | None
    type_code: str | None
    type_display: str | None
    start: datetime | None
    end: datetime | None


@dataclass
class EpisodeIn:
    subject: str
    referral_date: date
    referral_source: str
    presenting_problem: str
    pathway: str
    discharge_date: date | None
    discharge_reason: str | None


@dataclass
class ResponseIn:
    subject: str
    questionnaire: str
    authored: datetime
    status: str
    answers: dict[str, Any] = field(default_factory=dict)  # linkId -> int value or answer code


def parse_instant(value: str | None) -> datetime | None:
    """A FHIR dateTime as aware UTC; a bare date or partial date is taken as its first instant in UTC."""
    if not value:
        return None
    v = value.strip()
    if len(v) == 4:
        v += "-01-01"
    elif len(v) == 7:
        v += "-01"
    if len(v) == 10:
        return datetime.combine(date.fromisoformat(v), datetime.min.time(), UTC)
    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _ext(res: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in res.get("extension", []) if e.get("url") == url), None)


def _coding(concept: dict[str, Any] | None, prefer: str | None = None) -> dict[str, Any] | None:
    codings = [c for c in (concept or {}).get("coding", []) if c.get("code")]
    if prefer:
        codings.sort(key=lambda c: c.get("system") != prefer)
    return codings[0] if codings else None


def subject_of(res: dict[str, Any], where: str) -> str:
    """The Patient reference: literal (``Patient/x``, ``urn:uuid:``, conditional) or, failing that, a logical
    reference by identifier (UK Core's ``subject.identifier`` NHS number) read as ``Patient?identifier=...``."""
    subject = res.get("subject") or res.get("patient") or {}
    ref = subject.get("reference")
    if ref:
        return str(ref)
    ident = subject.get("identifier") or {}
    if ident.get("value"):
        system = ident.get("system")
        return f"Patient?identifier={system}|{ident['value']}" if system else f"Patient?identifier={ident['value']}"
    field_name = "patient" if "patient" in res else "subject"
    raise InvalidEntry([FieldProblem(f"{where}.{field_name}", "a reference to the Patient is required")])


def patient(res: dict[str, Any], where: str) -> PatientIn:
    problems: list[FieldProblem] = []
    names = res.get("name", [])
    name = next((n for n in names if n.get("use") in ("official", "usual")), names[0] if names else {})
    given = " ".join(name.get("given", [])) or name.get("text") or "(not given)"
    fields: dict[str, Any] = {
        "given_name": given[:120],
        "family_name": (name.get("family") or res.get("id") or "(not given)")[:120],
        "sex": res.get("gender") or "unknown",
    }
    bd = res.get("birthDate")
    if bd:
        fields["birth_date"] = bd if isinstance(bd, date) else (date.fromisoformat(bd) if len(str(bd)) == 10 else None)
    identifiers: list[tuple[str, str]] = []
    for i, ident in enumerate(res.get("identifier", [])):
        system, value = ident.get("system"), ident.get("value")
        if not (system and value):
            continue
        if system == vocab.NHS_NUMBER:
            try:
                fields["nhs_number"] = nhs_number.validate(value)
            except ValueError as exc:
                problems.append(FieldProblem(f"{where}.identifier[{i}].value", f"NHS number: {exc}"))
            continue
        identifiers.append((system[:300], value[:200]))
    eth = _ext(res, vocab.ETHNIC_EXT)
    if eth:
        code = (_coding(eth.get("valueCodeableConcept"), vocab.ETHNIC_SYSTEM) or {}).get("code")
        if code not in ETHNIC_CATEGORIES:
            problems.append(
                FieldProblem(f"{where}.extension(ethnicCategory)", f"{code!r} is not an NHS ethnic category")
            )
        else:
            fields["ethnicity"] = code
    dep = _ext(res, vocab.DEPRIVATION_EXT)
    if dep:
        v = dep.get("valueInteger")
        if not isinstance(v, int) or not 1 <= v <= 10:
            problems.append(FieldProblem(f"{where}.extension(deprivation-decile)", "must be an integer 1-10"))
        else:
            fields["deprivation_decile"] = v
    gi = _ext(res, vocab.GENDER_IDENTITY_EXT)
    if gi:
        concept = gi.get("valueCodeableConcept") or {}
        text = concept.get("text") or (_coding(concept) or {}).get("display") or (_coding(concept) or {}).get("code")
        if text:
            fields["gender_identity"] = str(text)[:80]
    for comm in res.get("communication", []):
        code = (_coding(comm.get("language"), vocab.BCP47) or {}).get("code")
        if code and is_language_tag(code) and (comm.get("preferred") or "preferred_language" not in fields):
            fields["preferred_language"] = code
    if problems:
        raise InvalidEntry(problems)
    return PatientIn(fields, identifiers)


class InvalidEntry(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = problems


def _effective(res: dict[str, Any]) -> datetime | None:
    period = res.get("effectivePeriod") or {}
    return parse_instant(
        res.get("effectiveDateTime") or res.get("effectiveInstant") or period.get("start") or res.get("issued")
    )


def _quantity(holder: dict[str, Any], where: str) -> tuple[float, str | None] | None:
    q = holder.get("valueQuantity")
    if q is not None and q.get("value") is not None:
        unit = q.get("code") if q.get("system") in (vocab.UCUM, None) and q.get("code") else q.get("unit")
        if unit is not None and len(unit) > MAX_UNIT:
            raise InvalidEntry([FieldProblem(f"{where}.valueQuantity", f"a unit longer than {MAX_UNIT} characters")])
        return float(q["value"]), unit
    if holder.get("valueInteger") is not None:
        return float(holder["valueInteger"]), None
    return None


_VALUE_KINDS = (
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


def _no_value_reason(res: dict[str, Any]) -> str:
    kind = next((k for k in _VALUE_KINDS if k in res), None)
    if kind:
        return f"{kind} is not stored: only numeric results (valueQuantity, valueInteger) are"
    if res.get("dataAbsentReason"):
        return "no value (dataAbsentReason)"
    if res.get("hasMember"):
        return "a panel (hasMember) with no value of its own: its members are separate entries"
    return "no numeric value (valueQuantity or valueInteger) to store"


def observations(res: dict[str, Any], where: str) -> list[ObservationIn]:
    if res.get("status") in ("entered-in-error", "cancelled"):
        raise Skip(f"status {res.get('status')}")
    subject = subject_of(res, where)
    when = _effective(res)
    if when is None:
        raise InvalidEntry([FieldProblem(f"{where}.effective[x]", "an effective time is required")])
    out: list[ObservationIn] = []
    coding = _coding(res.get("code"), vocab.LOINC)
    value = _quantity(res, where)
    if coding and value is not None:
        out.append(
            ObservationIn(
                subject,
                coding.get("system") or "",
                coding["code"],
                coding.get("display") or res["code"].get("text") or coding["code"],
                value[0],
                value[1],
                when,
            )
        )
    for k, comp in enumerate(res.get("component", [])):
        c_coding, c_value = _coding(comp.get("code"), vocab.LOINC), _quantity(comp, f"{where}.component[{k}]")
        if c_coding and c_value is not None:
            out.append(
                ObservationIn(
                    subject,
                    c_coding.get("system") or "",
                    c_coding["code"],
                    c_coding.get("display") or c_coding["code"],
                    c_value[0],
                    c_value[1],
                    when,
                    f"/component/{k}",
                )
            )
    if not out:
        raise Skip(_no_value_reason(res))
    for o in out:
        if not o.system:
            raise InvalidEntry([FieldProblem(f"{where}.code.coding.system", "a code system is required")])
    return out


def condition(res: dict[str, Any], where: str) -> ConditionIn:
    coding = _coding(res.get("code"), vocab.SNOMED)
    if coding is None or not coding.get("system"):
        raise InvalidEntry([FieldProblem(f"{where}.code", "a coded condition (system and code) is required")])
    status = (_coding(res.get("clinicalStatus")) or {}).get("code")
    return ConditionIn(
        subject_of(res, where),
        coding["system"],
        coding["code"],
        coding.get("display") or res["code"].get("text") or coding["code"],
        status,
        parse_instant(res.get("onsetDateTime") or (res.get("onsetPeriod") or {}).get("start")),
        parse_instant(res.get("abatementDateTime")),
    )


def encounter(res: dict[str, Any], where: str) -> EncounterIn:
    cls = res.get("class")
    cls_code = cls.get("code") if isinstance(cls, dict) else None
    t = _coding((res.get("type") or [{}])[0], vocab.SNOMED) or {}
    period = res.get("period") or {}
    return EncounterIn(
        subject_of(res, where),
        res.get("status") or "unknown",
        cls_code,
        t.get("system"),
        t.get("code"),
        t.get("display"),
        parse_instant(period.get("start")),
        parse_instant(period.get("end")),
    )


def _ext_code(res: dict[str, Any], url: str, allowed: tuple[str, ...], default: str) -> str:
    e = _ext(res, url)
    code = (e or {}).get("valueCode")
    return code if code in allowed else default


def episode(res: dict[str, Any], where: str) -> EpisodeIn:
    period = res.get("period") or {}
    start = parse_instant(period.get("start"))
    if start is None:
        raise InvalidEntry([FieldProblem(f"{where}.period.start", "the referral date is required")])
    end = parse_instant(period.get("end"))
    types = res.get("type") or [{}]
    pathway = (_coding(types[0], vocab.PATHWAY_SYSTEM) or {}).get("code") or types[0].get("text") or "unspecified"
    reason = _ext_code(res, vocab.DISCHARGE_REASON_EXT, DISCHARGE_REASONS, "other") if end else None
    return EpisodeIn(
        subject_of(res, where),
        start.date(),
        _ext_code(res, vocab.REFERRAL_SOURCE_EXT, REFERRAL_SOURCES, "other"),
        _ext_code(res, vocab.PRESENTING_PROBLEM_EXT, PRESENTING_PROBLEMS, "other"),
        str(pathway)[:60],
        end.date() if end else None,
        reason,
    )


def _adaptive_estimate(res: dict[str, Any]) -> bool:
    """An adaptive short form that did not ask every question: marked by a modifier extension (or, as exports
    before it was one wrote it, a plain extension without ``complete``). One that asked them all is a full form."""
    for key in ("modifierExtension", "extension"):
        for e in res.get(key) or []:
            if isinstance(e, dict) and e.get("url") == vocab.ADAPTIVE_EXT:
                complete = any(
                    p.get("url") == "complete" and p.get("valueBoolean") is True for p in e.get("extension") or []
                )
                return key == "modifierExtension" or not complete
    return False


def questionnaire_response(res: dict[str, Any], where: str) -> ResponseIn:
    if res.get("status") not in ("completed", "amended"):
        raise Skip(f"status {res.get('status')!r}: only completed responses are scored")
    if _adaptive_estimate(res):
        # its few answers would be scored (even prorated) as a full-form total (H-105)
        raise Skip("an adaptive short form: an estimate, not a total, so it is not imported as a scored response")
    authored = parse_instant(res.get("authored"))
    if authored is None:
        raise InvalidEntry([FieldProblem(f"{where}.authored", "the time the answers were given is required")])
    answers: dict[str, Any] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for it in items:
            for ans in it.get("answer", [])[:1]:
                if "valueCoding" in ans:
                    answers[it["linkId"]] = ans["valueCoding"].get("code")
                elif "valueInteger" in ans:
                    answers[it["linkId"]] = int(ans["valueInteger"])
                elif "valueDecimal" in ans:
                    answers[it["linkId"]] = float(ans["valueDecimal"])
            walk(it.get("item", []))

    walk(res.get("item", []))
    return ResponseIn(subject_of(res, where), str(res.get("questionnaire") or ""), authored, res["status"], answers)
