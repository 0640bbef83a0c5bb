"""The caseload as a worklist: everyone on the principal's teams with their clinical priority and its reasons,
searched, filtered, sorted and paged; Today is the same list cut to those who need attention.

Everything a priority needs is read in a handful of grouped queries over the teams' people (alerts, current risk,
reviews, waiting escalations, open tasks), so the order is the same whichever page is shown; the latest score is
read for the page's people only. The page read is audited once with the people listed."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import OPEN
from idiograph.alerts.model import Alert
from idiograph.care.model import RiskAssessment, Task
from idiograph.governance import service as governance
from idiograph.governance.model import Escalation
from idiograph.instruments.definitions import Instrument, instruments
from idiograph.monitoring.reviews import service as reviews
from idiograph.observations.model import Observation
from idiograph.patients.demographics import age_band
from idiograph.patients.model import CaseloadAssignment, Episode, Person, PersonIdentifier
from idiograph.security import audit
from idiograph.security.model import Team, User
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.worklist.priority import Facts, OpenAlert, Priority, Tier, assess

SortKey = Literal["priority", "name", "birth_date", "latest", "team"]
Status = Literal["open", "discharged", "all"]
ReviewFilter = Literal["due", "overdue"]
PAGE = 50
MAX_PAGE = 500
# the instruments whose latest total a row shows, in the order tried
HEADLINE = ("phq-9", "core-10", "gad-7", "pcl-5", "phq-2", "wsas", "audit")


@dataclass(frozen=True)
class Query:
    q: str | None = None
    status: Status = "open"  # open: not discharged (people with a safety reason are always included)
    mine: bool = False  # only people whose care coordinator is the principal
    alert: str | None = None  # an alert kind
    pathway: str | None = None
    review: ReviewFilter | None = None
    attention: bool = False  # only people with a reason for attention (Today)
    sort: SortKey = "priority"
    descending: bool = False
    limit: int = PAGE
    offset: int = 0


@dataclass(frozen=True)
class LatestScore:
    instrument: str  # e.g. "PHQ-9"
    value: float
    band: str  # the instrument's severity band ("moderate")
    at: datetime
    caseness: bool | None  # at or above the instrument's caseness threshold; None when it has none


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date | None
    age_band: str
    nhs_number: str | None
    team: str
    open_episode: str | None
    latest_observation_at: datetime | None
    discharged: bool
    care_coordinator: str | None
    care_coordinator_id: uuid.UUID | None
    priority: Priority
    open_alerts: dict[str, int] = field(default_factory=dict)
    latest_score: LatestScore | None = None


@dataclass(frozen=True)
class Page:
    total: int  # people matching the query (all pages)
    items: list[Row]
    query: Query
    everyone: int  # people on the principal's teams, whatever the filters
    safety: int  # people on the teams with a safety reason, whatever the filters (never hidden by a default)


def caseload(session: Session, principal: Principal, query: Query, via: str = "api") -> Page:
    """One page of the principal's teams' people, with their priorities; audited with the people listed."""
    principal.require(Permission.PERSON_READ)
    query = replace(query, limit=max(1, min(query.limit, MAX_PAGE)), offset=max(0, query.offset))
    rows = _rows(session, principal)
    everyone = len(rows)
    safety = sum(1 for r in rows if r.priority.tier == Tier.SAFETY)
    matching = [r for r in rows if _keeps(r, query, principal.user_id)]
    if query.q:
        matching = _search(session, matching, query.q)
    matching.sort(key=_sort_key(query.sort), reverse=query.descending)
    items = matching[query.offset : query.offset + query.limit]
    items = _with_latest_scores(session, items)
    audit.append(
        session,
        principal.actor,
        "list",
        "Caseload",
        None,
        None,
        detail={"via": via, "people": [str(r.id) for r in items], "total": len(matching)},
    )
    return Page(len(matching), items, query, everyone, safety)


def _rows(session: Session, principal: Principal) -> list[Row]:
    teams = principal.team_ids
    on_teams = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(teams))
    latest = (
        select(func.max(Observation.effective_at))
        .where(Observation.person_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
    )
    base = (
        select(
            Person.id,
            Person.given_name,
            Person.family_name,
            Person.birth_date,
            Person.nhs_number,
            Team.name,
            User.id,
            User.display_name,
            latest,
        )
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Person.id)
        .join(Team, Team.id == CaseloadAssignment.team_id)
        .outerjoin(User, User.id == CaseloadAssignment.lead_user_id)
        .where(CaseloadAssignment.team_id.in_(teams))
        .order_by(Team.name)
    )
    people: dict[uuid.UUID, dict[str, object]] = {}
    team_names: dict[uuid.UUID, list[str]] = defaultdict(list)
    for pid, given, family, born, nhs, team, lead_id, lead_name, lt in session.execute(base):
        team_names[pid].append(team)
        if pid not in people or (people[pid]["lead_id"] is None and lead_id is not None):
            people[pid] = {
                "given": given,
                "family": family,
                "born": born,
                "nhs": nhs,
                "lead_id": lead_id,
                "lead": lead_name,
                "latest": lt,
            }
    if not people:
        return []
    pathways: dict[uuid.UUID, str] = {}
    has_episode: set[uuid.UUID] = set()
    for pid, pathway, discharged in session.execute(
        select(Episode.person_id, Episode.pathway, Episode.discharge_date)
        .where(Episode.person_id.in_(on_teams))
        .order_by(Episode.referral_date)
    ):
        has_episode.add(pid)
        if discharged is None:
            pathways[pid] = pathway
    facts = _facts(session, principal, on_teams)
    today = date.today()
    out = []
    for pid, p in people.items():
        f = facts.get(pid, _NO_FACTS)
        born = p["born"]
        assert born is None or isinstance(born, date)
        out.append(
            Row(
                id=pid,
                given_name=str(p["given"]),
                family_name=str(p["family"]),
                birth_date=born,
                age_band=age_band(born, today),
                nhs_number=p["nhs"] if isinstance(p["nhs"], str) else None,
                team=", ".join(team_names[pid]),
                open_episode=pathways.get(pid),
                latest_observation_at=p["latest"] if isinstance(p["latest"], datetime) else None,
                discharged=pid in has_episode and pid not in pathways,
                care_coordinator=p["lead"] if isinstance(p["lead"], str) else None,
                care_coordinator_id=p["lead_id"] if isinstance(p["lead_id"], uuid.UUID) else None,
                priority=assess(f.facts),
                open_alerts=dict(f.kinds),
            )
        )
    return out


@dataclass
class _Gathered:
    alerts: list[OpenAlert] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    risk: str | None = None
    risk_at: datetime | None = None
    overdue: list[date] = field(default_factory=list)
    due: list[date] = field(default_factory=list)
    escalations: int = 0
    tasks: list[str] = field(default_factory=list)

    @property
    def facts(self) -> Facts:
        return Facts(
            tuple(self.alerts),
            self.risk,
            self.risk_at,
            tuple(self.overdue),
            tuple(self.due),
            self.escalations,
            tuple(self.tasks),
        )


_NO_FACTS = _Gathered()


def _facts(session: Session, principal: Principal, on_teams: object) -> dict[uuid.UUID, _Gathered]:
    out: dict[uuid.UUID, _Gathered] = defaultdict(_Gathered)
    # open alerts; alerts sharing a group key (repeat safety answers) are one item, named by the newest
    groups: dict[tuple[uuid.UUID, str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for pid, aid, kind, title, raised, group in session.execute(
        select(Alert.person_id, Alert.id, Alert.kind, Alert.title, Alert.raised_at, Alert.group_key).where(
            Alert.person_id.in_(on_teams), Alert.status.in_(OPEN)
        )
    ):
        groups[(pid, kind, group or str(aid))].append((title, raised))
    for (pid, kind, _), members in groups.items():
        members.sort(key=lambda m: m[1])
        g = out[pid]
        g.alerts.append(OpenAlert(kind, members[-1][0], members[0][1]))
        g.kinds[kind] = g.kinds.get(kind, 0) + 1
    # current risk: each person's latest assessment
    newest = (
        select(RiskAssessment.person_id, func.max(RiskAssessment.assessed_at).label("at"))
        .where(RiskAssessment.person_id.in_(on_teams))
        .group_by(RiskAssessment.person_id)
        .subquery()
    )
    for pid, level, at in session.execute(
        select(RiskAssessment.person_id, RiskAssessment.level, RiskAssessment.assessed_at).join(
            newest, (newest.c.person_id == RiskAssessment.person_id) & (newest.c.at == RiskAssessment.assessed_at)
        )
    ):
        out[pid].risk, out[pid].risk_at = level, at
    for r in reviews.for_caseload(session, principal, via="worklist"):
        (out[r.person_id].overdue if r.slot.status == "overdue" else out[r.person_id].due).append(r.slot.due)
    for pid, n in session.execute(
        select(Escalation.person_id, func.count())
        .where(Escalation.person_id.in_(on_teams), Escalation.status == "pending")
        .group_by(Escalation.person_id)
    ):
        out[pid].escalations = int(n)
    for pid, title in session.execute(
        select(Task.person_id, Task.title).where(Task.person_id.in_(on_teams), Task.status == "open")
    ):
        if pid is not None:
            out[pid].tasks.append(title)
    return out


def _keeps(r: Row, q: Query, me: uuid.UUID | None) -> bool:
    safety = r.priority.tier == Tier.SAFETY
    if q.status == "open" and r.discharged and not safety:  # the default never hides a safety reason
        return False
    if q.status == "discharged" and not r.discharged:
        return False
    if q.mine and (me is None or r.care_coordinator_id != me) and not (q.attention and safety):
        return False  # Today's own list still shows everyone on the teams with a safety reason (H-056)
    if q.alert and q.alert not in r.open_alerts:
        return False
    if q.pathway and r.open_episode != q.pathway:
        return False
    if q.review == "overdue" and not any(x.tier == Tier.REVIEW_OVERDUE for x in r.priority.reasons):
        return False
    if q.review == "due" and not any(x.tier in (Tier.REVIEW_DUE, Tier.REVIEW_OVERDUE) for x in r.priority.reasons):
        return False
    return not (q.attention and r.priority.tier == Tier.NONE)


def _fold(text: str) -> str:
    """Lower case without accents, hyphens or apostrophes ("O'Brien-Núñez" -> "obriennunez")."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text.casefold() if c.isalnum() and not unicodedata.combining(c))


_MONTHS = {
    m: i
    for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)
}


def parse_date(text: str) -> date | None:
    """A date of birth as people type it: 12/03/1980, 12-3-1980, 1980-03-12, 12 Mar 1980, 12 March 1980."""
    t = text.strip().lower()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", t):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{4})", t):
            month = _MONTHS.get(m[2])
            return date(int(m[3]), month, int(m[1])) if month else None
    except ValueError:
        return None
    return None


def _search(session: Session, rows: list[Row], text: str) -> list[Row]:
    """Rows matching every part of ``text``: a date of birth, an NHS number, a local identifier or names."""
    text = text.strip()
    compact = re.sub(r"[\s-]", "", text)
    if compact.isdigit() and len(compact) == 10:
        return [r for r in rows if r.nhs_number == compact] or _by_identifier(session, rows, text)
    by_id = _by_identifier(session, rows, text)
    if by_id:
        return by_id
    born = parse_date(text)
    words: list[str] = []
    if born is None:
        # a date typed with spaces ("12 Mar 1980") inside a longer query
        m = re.search(r"\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{1,2}-\d{1,2}", text)
        if m and (born := parse_date(m.group(0))) is not None:
            text = text[: m.start()] + " " + text[m.end() :]
        words = [_fold(w) for w in re.split(r"[\s,]+", text) if _fold(w)]
    out = []
    for r in rows:
        if born is not None and r.birth_date != born:
            continue
        names = _fold(r.given_name) + " " + _fold(r.family_name)
        if all(w in names for w in words):
            out.append(r)
    return out


def _by_identifier(session: Session, rows: list[Row], text: str) -> list[Row]:
    ids = set(session.scalars(select(PersonIdentifier.person_id).where(PersonIdentifier.value == text)))
    return [r for r in rows if r.id in ids] if ids else []


def _sort_key(key: SortKey):  # type: ignore[no-untyped-def]
    def name(r: Row) -> tuple[str, str]:
        return (_fold(r.family_name), _fold(r.given_name))

    if key == "priority":
        return lambda r: (r.priority.sort_key(), name(r))
    if key == "birth_date":
        return lambda r: (r.birth_date or date.max, name(r))
    if key == "latest":
        return lambda r: ((r.latest_observation_at or datetime.min).isoformat(), name(r))
    if key == "team":
        return lambda r: (r.team, name(r))
    return name


def _headline() -> dict[tuple[str, str], Instrument]:
    insts = instruments()
    return {(insts[i].total.system, insts[i].total.code): insts[i] for i in HEADLINE if i in insts}


def _with_latest_scores(session: Session, rows: list[Row]) -> list[Row]:
    """Each row with its latest headline questionnaire total and band (the page's people only)."""
    if not rows:
        return rows
    totals = _headline()
    rank = {key: n for n, key in enumerate(totals)}
    best: dict[uuid.UUID, tuple[int, datetime, float, Instrument]] = {}
    o = Observation
    # each person's latest result per questionnaire total (the index on person, system, code, time answers the max),
    # not every score they ever had
    latest = (
        select(o.person_id, o.system, o.code, func.max(o.effective_at).label("at"))
        .where(o.person_id.in_([r.id for r in rows]), o.code.in_([c for _, c in totals]))
        .group_by(o.person_id, o.system, o.code)
        .subquery()
    )
    q = select(o.person_id, o.system, o.code, o.effective_at, o.value).join(
        latest,
        and_(
            o.person_id == latest.c.person_id,
            o.system == latest.c.system,
            o.code == latest.c.code,
            o.effective_at == latest.c.at,
        ),
    )
    for pid, system, code, at, value in session.execute(q):
        inst = totals.get((system, code))
        if inst is None:
            continue
        key = (rank[(system, code)], at, value, inst)
        have = best.get(pid)
        # the most recent score of the first instrument the person has, else of the next
        if have is None or key[0] < have[0] or (key[0] == have[0] and at > have[1]):
            best[pid] = key
    out = []
    for r in rows:
        if r.id not in best:
            out.append(r)
            continue
        _, at, value, inst = best[r.id]
        band = next((b.label for b in inst.bands if b.min <= value <= b.max), "")
        caseness = None if inst.caseness is None else value >= inst.caseness.min
        short = inst.id.upper()
        out.append(replace(r, latest_score=LatestScore(short, value, band, at, caseness)))
    return out


def pathways(session: Session, principal: Principal) -> list[str]:
    """The pathways of open episodes on the principal's teams (the caseload's pathway filter)."""
    on_teams = select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id.in_(principal.team_ids))
    q = select(Episode.pathway).where(Episode.person_id.in_(on_teams), Episode.discharge_date.is_(None)).distinct()
    return sorted(session.scalars(q))


def leads_anyone(session: Session, principal: Principal) -> bool:
    """Whether the principal is anyone's care coordinator (Today then starts with their own people)."""
    if principal.user_id is None:
        return False
    q = select(CaseloadAssignment.id).where(
        CaseloadAssignment.lead_user_id == principal.user_id, CaseloadAssignment.team_id.in_(principal.team_ids)
    )
    return session.scalar(q.limit(1)) is not None


def waiting_escalations(session: Session, principal: Principal) -> tuple[int, int]:
    """(waiting, overdue) escalations on the principal's teams for their role: addressed to it or re-escalated to
    it - the same count as the header's."""
    return governance.waiting_count(session, principal)
