"""The tables behind each FHIR resource type, and a search over them paged by keyset.

A page is found in two steps: the keys of the rows on the page (each resource type's sort time, then a
tie-breaking id, compared as ``key > last key`` so page 1,000 costs what page 1 costs), then the rows themselves.
A type held in several tables (Flag: alerts and high-risk assessments; CarePlan: crisis plans, appointment plans
and therapy plans) is a UNION of them, its key carrying which table a row came from.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, and_, cast, false, func, literal, not_, or_, select, true, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from idiograph.alerts.model import Alert
from idiograph.care.model import Appointment, AppointmentPlan, CrisisPlan, RiskAssessment
from idiograph.db import UTCDateTime, utcnow
from idiograph.fhir import intake_mapping, vocab
from idiograph.fhir import mapping_out as out
from idiograph.fhir.mapping_in import UNIT_QUALIFIED
from idiograph.fhir.search import Cursor, DateRange, Search, Token, bad_search
from idiograph.instruments.definitions import by_questionnaire, instruments
from idiograph.intake.definition import definition as intake_definition
from idiograph.intake.model import IntakeRecord
from idiograph.matching.model import TherapyPlan
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook
from idiograph.patients.model import (
    BreakGlassGrant,
    CaseloadAssignment,
    Condition,
    Encounter,
    Episode,
    Person,
    PersonIdentifier,
)
from idiograph.security.principal import Principal

EPOCH = datetime(1, 1, 1, tzinfo=UTC)
Clauses = list[ColumnElement[bool]]


def readable_people(principal: Principal) -> Any:
    """The people whose records the principal may open now: their teams' caseloads and live break-the-glass
    grants (the same rule as ``patients.access``, as a statement)."""
    teams = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(principal.team_ids or ()))
    if principal.user_id is None:
        return teams
    grants = select(BreakGlassGrant.person_id).where(
        BreakGlassGrant.user_id == principal.user_id, BreakGlassGrant.expires_at > utcnow()
    )
    return teams.union(grants)


# -- clauses from parameters ------------------------------------------------------------------------------------


def date_clause(col: Any, r: DateRange, is_date: bool = False) -> ColumnElement[bool]:
    """A point in time ``col`` against one date parameter value (FHIR R4 search, "date" prefixes)."""
    lo: datetime | date = r.start.date() if is_date else r.start
    hi: datetime | date = r.end.date() if is_date else r.end
    if is_date and r.end.time() != datetime.min.time():  # a dateTime parameter on a date column: the day it is in
        hi = r.end.date() if r.end.date() > r.start.date() else r.start.date()
    inside = and_(col >= lo, col < hi)
    return {
        "eq": inside,
        "ne": not_(inside),
        "lt": col < lo,
        "eb": col < lo,
        "le": col < hi,
        "gt": col >= hi,
        "sa": col >= hi,
        "ge": col >= lo,
    }[r.prefix]


def _all_of(groups: Sequence[Sequence[Any]], one: Callable[[Any], ColumnElement[bool]]) -> Clauses:
    """Repeated parameters AND, comma-separated values OR."""
    return [or_(*[one(v) for v in group]) for group in groups]


def _token_is(col_system: Any, col_code: Any, t: Token) -> ColumnElement[bool]:
    parts: Clauses = []
    if t.system is not None and col_system is not None:
        parts.append(col_system == t.system)
    elif t.system is not None:
        return false() if t.system else col_code == t.code
    if t.code is not None:
        parts.append(col_code == t.code)
    return and_(*parts) if parts else true()


def _codes(s: Search, name: str, allowed: dict[str, Any], system: str | None = None) -> Clauses:
    """A token parameter over a fixed code list (FHIR code -> clause): unknown codes match nothing."""

    def one(t: Token) -> ColumnElement[bool]:
        if t.system not in (None, system) and not (system is None and t.system == ""):
            return false()
        clause = allowed.get(t.code or "")
        return clause if clause is not None else false()

    return _all_of(s.tokens.get(name, []), one)


def _dates(s: Search, name: str, col: Any, is_date: bool = False) -> Clauses:
    return _all_of(s.dates.get(name, []), lambda r: date_clause(col, r, is_date))


def _uuids(values: Sequence[str]) -> list[uuid.UUID]:
    out = []
    for v in values:
        try:
            out.append(uuid.UUID(v))
        except ValueError:
            continue  # an id this server never made matches nothing
    return out


# -- sources ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One table behind a resource type: its person, sort time, id, parameters and FHIR shape."""

    kind: str
    model: Any
    person: Any
    at: Any  # the ``date`` the type is sorted and searched by (never null: EPOCH stands in)
    id: Any
    where: Callable[[Search], Clauses]
    load: Callable[[Session, list[Any]], list[dict[str, Any]]]  # rows in key order -> resources in that order
    key_of: Callable[[Any], Any] = lambda v: v  # a stored id from its text in a cursor or a read


def _coalesce(col: Any) -> Any:
    return func.coalesce(col, literal(EPOCH, UTCDateTime()))


def _observation_categories(session: Session) -> dict[str, list[tuple[str, str]]]:
    cats: dict[str, list[tuple[str, str]]] = {}
    for c in CodeBook(session).all():
        cat = vocab.observation_category(c.kind)
        if cat:
            cats.setdefault(cat[0], []).append((c.system, c.code))
    return cats


def _kept_as_sent(t: Token) -> ColumnElement[bool]:
    """Results of the code in a unit it could not be converted from, kept under their unit-qualified code: they
    are exported under the code they came with, so a search by that code finds them too."""
    o = Observation
    parts: Clauses = []
    if t.system == "":
        return false()
    if t.system is not None:
        parts.append(o.system == f"{UNIT_QUALIFIED}{t.system}")
    else:
        parts.append(o.system.startswith(UNIT_QUALIFIED, autoescape=True))
    if t.code is not None:
        parts.append(o.code.startswith(f"{t.code}@", autoescape=True))
    return and_(*parts)


def _observation_where(session: Session) -> Callable[[Search], Clauses]:
    def where(s: Search) -> Clauses:
        o = Observation
        c: Clauses = _all_of(s.tokens.get("code", []), lambda t: or_(_token_is(o.system, o.code, t), _kept_as_sent(t)))
        c += _dates(s, "date", o.effective_at) + _dates(s, "_lastUpdated", o.recorded_at)
        c += _codes(s, "status", {"final": true()}, "http://hl7.org/fhir/observation-status")
        if "category" in s.tokens:
            cats = _observation_categories(session)

            def in_category(t: Token) -> ColumnElement[bool]:
                if t.system not in (None, vocab.OBSERVATION_CATEGORY):
                    return false()
                pairs = cats.get(t.code or "", [])
                return or_(*[and_(o.system == sy, o.code == co) for sy, co in pairs]) if pairs else false()

            c += _all_of(s.tokens["category"], in_category)
        return c

    return where


def _load_observations(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    codes = CodeBook(session)
    result = []
    for o in rows:
        known = codes.get(o.system, o.code)
        result.append(
            out.observation(
                o, known.display if known else o.code, vocab.observation_category(known.kind if known else "")
            )
        )
    return result


def _load_responses(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    items: dict[uuid.UUID, dict[str, float]] = {}
    if rows:
        for o in session.scalars(select(Observation).where(Observation.group_id.in_([r.id for r in rows]))):
            items.setdefault(o.group_id, {})[o.code] = o.value  # type: ignore[index]
    insts = instruments()
    return [out.questionnaire_response(r, insts[r.instrument], items.get(r.id, {})) for r in rows]


def _response_where(s: Search) -> Clauses:
    q = QuestionnaireResponseRecord

    def by_url(t: Token) -> ColumnElement[bool]:
        inst = by_questionnaire(t.code or "")
        return q.instrument == inst.id if inst else false()

    c = _all_of(s.tokens.get("questionnaire", []), by_url)
    c += _dates(s, "authored", q.authored_at)
    statuses = {st: q.status == st for st in ("completed", "amended", "in-progress")}
    return c + _codes(s, "status", statuses, "http://hl7.org/fhir/questionnaire-answers-status")


def _intake_where(s: Search) -> Clauses:
    """The intake record as a QuestionnaireResponse of the intake questionnaire (any version of its canonical)."""
    c = _all_of(
        s.tokens.get("questionnaire", []),
        lambda t: true() if (t.code or "").split("|")[0] == vocab.INTAKE_QUESTIONNAIRE else false(),
    )
    c += _dates(s, "authored", IntakeRecord.created_at)
    statuses = {"completed": true(), "amended": false(), "in-progress": false()}
    return c + _codes(s, "status", statuses, "http://hl7.org/fhir/questionnaire-answers-status")


def _load_intakes(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    spec = intake_definition()
    return [intake_mapping.questionnaire_response(r, spec) for r in rows]


def _patient_where(s: Search) -> Clauses:
    p = Person

    def ident(t: Token) -> ColumnElement[bool]:
        value = t.code or ""
        by_ident = select(PersonIdentifier.person_id).where(PersonIdentifier.value == value)
        if t.system:
            by_ident = by_ident.where(PersonIdentifier.system == t.system)
        nhs = p.nhs_number == value if t.system in (None, "", vocab.NHS_NUMBER) else false()
        return or_(p.id.in_(by_ident), nhs)

    c = _all_of(s.tokens.get("identifier", []), ident)
    for name, col in (("family", p.family_name), ("given", p.given_name)):
        c += _all_of(s.strings.get(name, []), lambda v, col=col: func.lower(col).startswith(v.lower()))
        c += _all_of(s.strings.get(f"{name}:exact", []), lambda v, col=col: col == v)
    for key, exact in (("name", False), ("name:exact", True)):
        c += _all_of(
            s.strings.get(key, []),
            lambda v, exact=exact: or_(
                *[
                    (col == v) if exact else func.lower(col).startswith(v.lower())
                    for col in (p.family_name, p.given_name)
                ]
            ),
        )
    c += _dates(s, "birthdate", p.birth_date, is_date=True)
    c += _dates(s, "_lastUpdated", p.updated_at)
    genders = {g: p.sex == g for g in ("male", "female", "other", "unknown")}
    return c + _codes(s, "gender", genders, "http://hl7.org/fhir/administrative-gender")


def _load_patients(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    return [out.patient(p) for p in rows]


def _encounter_where(s: Search) -> Clauses:
    e = Encounter
    statuses = {st: e.status == st for st in ("planned", "arrived", "in-progress", "finished", "cancelled", "unknown")}
    c = _dates(s, "date", _coalesce(e.start)) + _codes(s, "status", statuses, "http://hl7.org/fhir/encounter-status")
    return c + _all_of(s.tokens.get("class", []), lambda t: _token_is(None, e.class_code, t))


def _episode_where(s: Search) -> Clauses:
    e = Episode
    statuses = {"active": e.discharge_date.is_(None), "finished": e.discharge_date.is_not(None)}
    c = _dates(s, "date", e.referral_date, is_date=True)
    c += _codes(s, "status", statuses, "http://hl7.org/fhir/episode-of-care-status")
    return c + _all_of(s.tokens.get("type", []), lambda t: _token_is(None, e.pathway, Token(None, t.code)))


def _condition_where(s: Search) -> Clauses:
    c_ = Condition
    c = _all_of(s.tokens.get("code", []), lambda t: _token_is(c_.system, c_.code, t))
    c += _dates(s, "onset-date", _coalesce(c_.onset))
    return c + _all_of(s.tokens.get("clinical-status", []), lambda t: _token_is(None, c_.clinical_status, t))


def _appointment_where(s: Search) -> Clauses:
    a = Appointment
    statuses = {
        fhir: a.status.in_([k for k, v in out.APPOINTMENT_STATUS.items() if v == fhir])
        for fhir in set(out.APPOINTMENT_STATUS.values())
    }
    return _dates(s, "date", a.start) + _codes(s, "status", statuses, "http://hl7.org/fhir/appointmentstatus")


def _latest_risk() -> Any:
    r2 = RiskAssessment.__table__.alias("later")
    return (
        ~select(r2.c.id)
        .where(r2.c.person_id == RiskAssessment.person_id, r2.c.assessed_at > RiskAssessment.assessed_at)
        .exists()
    )


def _alert_flag_where(s: Search) -> Clauses:
    a = Alert
    status = {"active": a.status != "closed", "inactive": a.status == "closed"}
    cats = {"safety": a.kind == "safety", "clinical": a.kind != "safety"}
    c = _dates(s, "date", a.raised_at) + _codes(s, "status", status, "http://hl7.org/fhir/flag-status")
    c += _codes(s, "category", cats, vocab.FLAG_CATEGORY)
    kinds = {k: a.kind == k for k in vocab.ALERT_KINDS}
    return c + _codes(s, "code", kinds, vocab.ALERT_KIND_SYSTEM)


def _risk_flag_where(s: Search) -> Clauses:
    r = RiskAssessment
    status = {"active": _latest_risk(), "inactive": ~_latest_risk()}
    c: Clauses = [r.level == "high"]
    c += _dates(s, "date", r.assessed_at) + _codes(s, "status", status, "http://hl7.org/fhir/flag-status")
    c += _codes(s, "category", {"safety": true(), "clinical": false()}, vocab.FLAG_CATEGORY)
    return c + _codes(s, "code", {vocab.HIGH_RISK_CODE: true()}, vocab.ALERT_KIND_SYSTEM)


def _load_alert_flags(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    return [out.flag(a) for a in rows]


def _load_risk_flags(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    latest = _latest_ids(session, [r.person_id for r in rows])
    return [out.risk_flag(r, r.id in latest) for r in rows]


def _latest_ids(session: Session, people: list[uuid.UUID]) -> set[uuid.UUID]:
    if not people:
        return set()
    return set(
        session.scalars(select(RiskAssessment.id).where(RiskAssessment.person_id.in_(set(people)), _latest_risk()))
    )


def _risk_where(s: Search) -> Clauses:
    r = RiskAssessment
    return _dates(s, "date", r.assessed_at) + _codes(
        s, "status", {"final": true()}, "http://hl7.org/fhir/observation-status"
    )


def _load_risks(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    return [out.risk_assessment(r) for r in rows]


def _crisis_where(s: Search) -> Clauses:
    p = CrisisPlan
    c = _codes(s, "category", {"crisis-plan": true()}, vocab.IDIOGRAPH_CODES)
    c += _codes(s, "status", {"active": p.current.is_(True), "revoked": p.current.is_(False)}, vocab.REQUEST_STATUS)
    return c + _dates(s, "date", p.updated_at)


def _appointment_plan_where(s: Search) -> Clauses:
    p = AppointmentPlan
    c = _codes(s, "category", {"appointment-plan": true()}, vocab.IDIOGRAPH_CODES)
    c += _codes(s, "status", {"active": true(), "revoked": false()}, vocab.REQUEST_STATUS)
    return c + _dates(s, "date", p.updated_at)


def _therapy_plan_where(s: Search) -> Clauses:
    p = TherapyPlan
    c = _codes(s, "category", {"therapy-plan": true()}, vocab.IDIOGRAPH_CODES)
    c += _codes(s, "status", {"active": p.current.is_(True), "revoked": p.current.is_(False)}, vocab.REQUEST_STATUS)
    return c + _dates(s, "date", p.created_at)


def _simple(loader: Callable[[Any], dict[str, Any]]) -> Callable[[Session, list[Any]], list[dict[str, Any]]]:
    return lambda session, rows: [loader(r) for r in rows]


def _uuid_key(v: Any) -> uuid.UUID:
    return v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))


def sources(session: Session, resource_type: str) -> list[Source]:
    """The tables behind ``resource_type`` (one, or several for Flag and CarePlan)."""
    u = _uuid_key
    if resource_type == "Observation":
        o = Observation
        return [Source("obs", o, o.person_id, o.effective_at, o.id, _observation_where(session), _load_observations, u)]
    if resource_type == "Patient":
        return [Source("patient", Person, Person.id, Person.id, Person.id, _patient_where, _load_patients, u)]
    if resource_type == "QuestionnaireResponse":
        q, i = QuestionnaireResponseRecord, IntakeRecord
        return [
            Source("qr", q, q.person_id, q.authored_at, q.id, _response_where, _load_responses, u),
            Source("intake", i, i.person_id, i.created_at, i.id, _intake_where, _load_intakes, u),
        ]
    if resource_type == "Encounter":
        e = Encounter
        return [Source("enc", e, e.person_id, _coalesce(e.start), e.id, _encounter_where, _simple(out.encounter), u)]
    if resource_type == "EpisodeOfCare":
        ep = Episode
        return [
            Source("eoc", ep, ep.person_id, ep.referral_date, ep.id, _episode_where, _simple(out.episode_of_care), u)
        ]
    if resource_type == "Condition":
        c = Condition
        return [Source("cond", c, c.person_id, _coalesce(c.onset), c.id, _condition_where, _simple(out.condition), u)]
    if resource_type == "Appointment":
        a = Appointment
        return [Source("appt", a, a.person_id, a.start, a.id, _appointment_where, _simple(out.appointment), u)]
    if resource_type == "RiskAssessment":
        r = RiskAssessment
        return [Source("risk", r, r.person_id, r.assessed_at, r.id, _risk_where, _load_risks, u)]
    if resource_type == "Flag":
        a, r = Alert, RiskAssessment
        return [
            Source("alert", a, a.person_id, a.raised_at, a.id, _alert_flag_where, _load_alert_flags, u),
            Source("riskflag", r, r.person_id, r.assessed_at, r.id, _risk_flag_where, _load_risk_flags, u),
        ]
    if resource_type == "CarePlan":
        p, ap, t = CrisisPlan, AppointmentPlan, TherapyPlan
        return [
            Source("crisis", p, p.person_id, p.updated_at, p.id, _crisis_where, _simple(out.crisis_care_plan), u),
            Source(
                "appts",
                ap,
                ap.person_id,
                ap.updated_at,
                ap.person_id,
                _appointment_plan_where,
                _simple(out.appointment_care_plan),
                u,
            ),
            Source(
                "therapy", t, t.person_id, t.created_at, t.id, _therapy_plan_where, _simple(out.therapy_care_plan), u
            ),
        ]
    raise KeyError(resource_type)


# -- the page --------------------------------------------------------------------------------------------------


@dataclass
class Page:
    resources: list[dict[str, Any]]
    people: dict[uuid.UUID, int]  # person -> resources of theirs on the page (for the audit)
    total: int | None
    next: Cursor | None
    previous: Cursor | None


def _after(cols: list[Any], vals: list[Any], desc: bool) -> ColumnElement[bool]:
    """Rows strictly after ``vals`` in the order of ``cols`` (lexicographic), with the first column's bound
    repeated alone so an index on it starts the scan there."""
    terms = []
    for i, col in enumerate(cols):
        eq = [c == v for c, v in zip(cols[:i], vals[:i], strict=True)]
        terms.append(and_(*eq, col < vals[i] if desc else col > vals[i]))
    first = cols[0] <= vals[0] if desc else cols[0] >= vals[0]
    return and_(first, or_(*terms))


def _key_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def _key_value(text: str | None, like: str) -> Any:
    if text is None:
        return None
    if like == "datetime":
        return datetime.fromisoformat(text)
    if like == "date":
        return date.fromisoformat(text)
    return text


def search(
    session: Session,
    principal: Principal,
    s: Search,
    person_ids: list[uuid.UUID] | None,
    resource_type: str | None = None,
) -> Page:
    """One page of ``s``: matching rows on people the caller may open (``person_ids`` when the search names them,
    already checked), in key order, with the cursors of the pages either side."""
    srcs = sources(session, resource_type or s.resource_type)
    by_id = s.sort == "_id"
    desc = s.sort.startswith("-")
    parts = []
    for i, src in enumerate(srcs):
        where = src.where(s)
        if "_id" in s.tokens:
            where += _all_of(s.tokens["_id"], lambda t, src=src: src.id.in_(_uuids(_own_ids(src, [t.code or ""]))))
        if person_ids is not None:
            where.append(src.person.in_(person_ids))
        elif not principal.is_system:
            where.append(src.person.in_(readable_people(principal)))
        rid = cast(src.id, String) if len(srcs) > 1 else src.id
        at = literal(0) if by_id else src.at
        parts.append(
            select(literal(i).label("part"), at.label("at"), rid.label("rid"), src.person.label("pid")).where(*where)
        )
    keys = parts[0].subquery() if len(parts) == 1 else union_all(*parts).subquery()
    cols = [keys.c.rid] if by_id else [keys.c.at, keys.c.part, keys.c.rid]
    if len(parts) == 1 and not by_id:
        cols = [keys.c.at, keys.c.rid]
    total = session.scalar(select(func.count()).select_from(keys)) if s.total or s.count == 0 else None
    q = select(keys.c.part, keys.c.at, keys.c.rid, keys.c.pid)
    backward = s.cursor is not None and s.cursor.direction == "before"
    order_desc = desc != backward
    if s.cursor is not None:
        vals = _cursor_values(s.cursor, cols, srcs, by_id)
        q = q.where(_after(cols, vals, order_desc))
    q = q.order_by(*[c.desc() if order_desc else c.asc() for c in cols]).limit(s.count + 1)
    rows = list(session.execute(q))
    more = len(rows) > s.count
    rows = rows[: s.count]
    if backward:
        rows.reverse()
    resources = _load(session, srcs, rows)
    people: dict[uuid.UUID, int] = {}
    for r in rows:
        people[r.pid] = people.get(r.pid, 0) + 1

    def key(r: Any) -> list[str | None]:
        vals = (
            [_key_text(r.rid)]
            if by_id
            else [_key_text(r.at), *([str(r.part)] if len(parts) > 1 else []), _key_text(r.rid)]
        )
        return vals

    has_next = more if not backward else True
    has_prev = (s.cursor is not None) if not backward else more
    nxt = Cursor(key(rows[-1]), "after") if rows and has_next else None
    prev = Cursor(key(rows[0]), "before") if rows and has_prev else None
    return Page(resources, people, total, nxt, prev)


def _own_ids(src: Source, ids: Sequence[str]) -> list[str]:
    """The ids of ``ids`` this table holds: the appointment plan's are ``appointments-<person>``, no other's are."""
    if src.kind == "appts":
        return [i.removeprefix("appointments-") for i in ids if i.startswith("appointments-")]
    return [i for i in ids if not i.startswith("appointments-")]


def _cursor_values(c: Cursor, cols: list[Any], srcs: list[Source], by_id: bool) -> list[Any]:
    if len(c.key) != len(cols):
        raise bad_search("_cursor", "belongs to another search: follow the bundle's links")
    try:
        if by_id:  # several tables page on the id as text (cast so they union); one pages on its own type
            return [c.key[0] if len(srcs) > 1 else srcs[0].key_of(c.key[0])]
        at = srcs[0].at
        like = "date" if getattr(at, "type", None) is not None and at.type.python_type is date else "datetime"
        vals: list[Any] = [_key_value(c.key[0], like)]
        if len(cols) == 3:
            vals.append(int(c.key[1] or 0))
            vals.append(c.key[2])
        else:
            vals.append(srcs[0].key_of(c.key[1]))
        return vals
    except (ValueError, TypeError, NotImplementedError):
        raise bad_search("_cursor", "is not a page link this server made: follow the bundle's links") from None


def _load(session: Session, srcs: list[Source], rows: list[Any]) -> list[dict[str, Any]]:
    wanted: dict[int, list[Any]] = {}
    for r in rows:
        wanted.setdefault(r.part, []).append(srcs[r.part].key_of(r.rid))
    loaded: dict[tuple[int, Any], dict[str, Any]] = {}
    for part, ids in wanted.items():
        src = srcs[part]
        found = {getattr_id(src, m): m for m in session.scalars(select(src.model).where(src.id.in_(ids)))}
        ordered = [found[i] for i in ids if i in found]
        for m, res in zip(ordered, src.load(session, ordered), strict=True):
            loaded[(part, getattr_id(src, m))] = res
    keys = [(r.part, srcs[r.part].key_of(r.rid)) for r in rows]
    return [loaded[k] for k in keys if k in loaded]


def getattr_id(src: Source, model: Any) -> Any:
    """A loaded row's id as its source keys it (the person for the appointment plan)."""
    return model.person_id if src.kind == "appts" else model.id
