"""Use cases for matching: fit therapist strengths on the service's finished episodes, read strength profiles (a
clinician their own, a senior clinician or service lead everyone's, for supervision), rank therapists for one
referral with reasons, list the waiting list, suggest the batch match, and allocate (a governed decision)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from idiograph import languages
from idiograph.care import slots as slots_module
from idiograph.care.model import Appointment, Preferences
from idiograph.db import utcnow
from idiograph.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from idiograph.governance import service as governance
from idiograph.governance.model import Decision
from idiograph.matching import allocate as _allocate
from idiograph.matching import preferences
from idiograph.matching import solve as solver
from idiograph.matching.model import Allocation, Therapist, TherapistStrength
from idiograph.matching.settings import Settings, settings
from idiograph.matching.strengths import CLASS_WORDS, Outcome, benefit, estimate
from idiograph.monitoring.recovery import courses, not_on_track
from idiograph.monitoring.recovery.expected import CurveModel
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode, Person
from idiograph.security import audit
from idiograph.security.model import Team
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

SEE_ALL = frozenset({"senior_clinician", "service_lead"})  # supervision: everyone's profile, never a league table
ALLOCATORS = frozenset({"senior_clinician", "clinician", "care_coordinator"})  # may ask; the policy decides


# -- strengths -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    episodes: int
    therapists: int
    rows: int
    skipped: dict[str, int]


def outcomes_from_db(session: Session, s: Settings) -> tuple[list[Outcome], dict[str, int]]:
    """One benefit per finished episode allocated to a therapist, in a domain, with an intake and a later score:
    the expected end score (the service's active expected-recovery curve, else one fitted on these episodes)
    minus the observed one."""
    skipped: dict[str, int] = defaultdict(int)
    eps = list(session.scalars(select(Episode).where(Episode.discharge_date.is_not(None))))
    therapist_of: dict[uuid.UUID, uuid.UUID] = {}
    for ep_id, t_id in session.execute(
        select(Allocation.episode_id, Allocation.therapist_id).order_by(Allocation.allocated_at)
    ):
        therapist_of[ep_id] = t_id  # the last allocation of the episode: who saw it through
    by_id = {e.id: e for e in eps}
    scored = courses.for_episodes(session, eps, s.strengths.instrument)
    finished = [e for e in scored if len(e.scores) >= 2]
    model = not_on_track.active(session).get((s.strengths.instrument, "curve"))
    if not isinstance(model, CurveModel):
        model = CurveModel.fit([e.course() for e in finished])
    out = []
    for e in scored:
        ep = by_id[uuid.UUID(e.episode_id)]
        domain = s.domain_of(ep.presenting_problem)
        t = therapist_of.get(ep.id)
        if len(e.scores) < 2:
            skipped["fewer than two scores"] += 1
        elif domain is None:
            skipped["presenting problem in no domain"] += 1
        elif t is None:
            skipped["no therapist recorded"] += 1
        else:
            out.append(
                Outcome(str(t), domain, benefit(model.expectation(e.scores[0], len(e.scores)).expected, e.scores[-1]))
            )
    return out, dict(skipped)


def fit_strengths(
    session: Session, actor: audit.Actor, outcomes: tuple[list[Outcome], dict[str, int]] | None = None
) -> Fitted:
    """Estimate every therapist's strength by domain and replace the stored ones (one transaction). ``outcomes``:
    what ``outcomes_from_db`` gave, when the caller has read it already."""
    s = settings()
    found, skipped = outcomes if outcomes is not None else outcomes_from_db(session, s)
    strengths, _ = estimate(found, s.strengths.min_cases, s.strengths.level)
    session.execute(delete(TherapistStrength))
    now = utcnow()
    for x in strengths:
        session.add(
            TherapistStrength(
                therapist_id=uuid.UUID(x.clinician_id),
                domain=x.domain,
                cases=x.n,
                strength=x.strength,
                se=x.se,
                lower=x.lower,
                upper=x.upper,
                klass=x.klass,
                fitted_at=now,
                settings_version=s.version,
            )
        )
    session.flush()
    audit.append(
        session,
        actor,
        "fit",
        "TherapistStrength",
        None,
        None,
        detail={"episodes": len(found), "rows": len(strengths), "settings": s.version},
    )
    return Fitted(len(found), len({x.clinician_id for x in strengths}), len(strengths), skipped)


@dataclass(frozen=True)
class Profile:
    therapist: Therapist
    strengths: dict[str, TherapistStrength]  # by domain; a domain missing has no finished episodes yet


def profiles(session: Session, principal: Principal, team_id: uuid.UUID | None = None) -> list[Profile]:
    """Strength profiles: a senior clinician or service lead sees everyone's (their teams'), a clinician or care
    coordinator only their own; nobody else any. Audited as a read of the service's outcomes."""
    q = select(Therapist).where(Therapist.active.is_(True)).order_by(Therapist.name)
    if principal.is_system or principal.role in SEE_ALL:
        if not principal.is_system:
            q = q.where(Therapist.team_id.in_(principal.team_ids))
        if team_id is not None:
            q = q.where(Therapist.team_id == team_id)
    elif principal.role in ("clinician", "care_coordinator") and principal.user_id is not None:
        q = q.where(Therapist.user_id == principal.user_id)
    else:
        raise Forbidden("therapist strengths are for supervision: a senior clinician, a service lead, or your own")
    found = list(session.scalars(q))
    rows: dict[uuid.UUID, dict[str, TherapistStrength]] = defaultdict(dict)
    ids = [t.id for t in found]
    if ids:
        for r in session.scalars(select(TherapistStrength).where(TherapistStrength.therapist_id.in_(ids))):
            rows[r.therapist_id][r.domain] = r
    audit.append(session, principal.actor, "read", "TherapistStrength", None, None, detail={"therapists": len(found)})
    return [Profile(t, rows.get(t.id, {})) for t in found]


# -- one referral ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    therapist: Therapist
    strength: float  # 0 = the service mean
    lower: float
    upper: float
    cases: int
    klass: str
    preference: float  # the weights of the preferences met
    met: tuple[str, ...]
    unmet: tuple[str, ...]
    first_slot: datetime | None

    @property
    def score(self) -> float:
        return self.strength + self.preference


@dataclass
class Ranking:
    person: Person
    episode: Episode
    domain: str | None
    suitable: list[Candidate]
    excluded: list[tuple[Therapist, list[str]]]
    needs: list[str]  # the hard constraints that applied, in words
    settings_version: str
    current: Allocation | None = None


def _prefs(session: Session, person_id: uuid.UUID) -> dict[str, Any]:
    p = session.scalar(
        select(Preferences).where(Preferences.person_id == person_id).order_by(Preferences.version.desc()).limit(1)
    )
    return dict(p.data) if p else {}


def _previous_therapists(session: Session, person_id: uuid.UUID, episode_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(Allocation.therapist_id).where(
                Allocation.person_id == person_id, Allocation.episode_id != episode_id
            )
        )
    )


def _busy(session: Session, names: Sequence[str], start: datetime, days: int) -> dict[str, list[datetime]]:
    out: dict[str, list[datetime]] = defaultdict(list)
    if not names:
        return out
    q = select(Appointment.with_whom, Appointment.start).where(
        Appointment.with_whom.in_(list(names)),
        Appointment.status == "booked",
        Appointment.start >= start,
        Appointment.start < start + timedelta(days=days),
    )
    for who, when in session.execute(q):
        out[str(who)].append(when)
    return out


def _strengths(session: Session, ids: Sequence[uuid.UUID], domain: str | None) -> dict[uuid.UUID, TherapistStrength]:
    if domain is None or not ids:
        return {}
    q = select(TherapistStrength).where(
        TherapistStrength.therapist_id.in_(list(ids)), TherapistStrength.domain == domain
    )
    return {r.therapist_id: r for r in session.scalars(q)}


def _candidates(
    session: Session,
    person: Person,
    ep: Episode,
    therapists: Sequence[Therapist],
    prefs: dict[str, Any],
    s: Settings,
    slot_days: int = 14,
) -> tuple[list[Candidate], list[tuple[Therapist, list[str]]]]:
    domain = s.domain_of(ep.presenting_problem)
    known = _strengths(session, [t.id for t in therapists], domain)
    before = _previous_therapists(session, person.id, ep.id)
    first_day = (utcnow().astimezone(slots_module.LONDON) + timedelta(days=1)).date()
    start = datetime.combine(first_day, datetime.min.time(), slots_module.LONDON)
    busy = _busy(session, [t.name for t in therapists], start, slot_days)
    interpreter = bool(prefs.get("interpreter"))
    risk = governance.current_risk(session, person.id)
    # the person's slots ranked by fit once; each therapist's first free one is the best not already booked for them
    fitting = [
        x
        for x in slots_module.rank(slots_module.candidates(first_day, slot_days, ()), prefs, limit=10_000)
        if slots_module.DAYS[x.start.astimezone(slots_module.LONDON).weekday()] in s.working_days
    ]
    suitable, excluded = [], []
    for t in therapists:
        why = _allocate.constraint_problems(session, person, ep.team_id, t, interpreter, risk)
        if why:
            excluded.append((t, why))
            continue
        f = preferences.fit(prefs, t.formats or [], t.places or [], t.gender, t.id in before, s.weights)
        r = known.get(t.id)
        taken = [b.astimezone(slots_module.LONDON) for b in busy.get(t.name, [])]
        first = next((x.start for x in fitting if all(abs((x.start - b).total_seconds()) >= 3000 for b in taken)), None)
        suitable.append(
            Candidate(
                t,
                r.strength if r else 0.0,
                r.lower if r else 0.0,
                r.upper if r else 0.0,
                r.cases if r else 0,
                r.klass if r else "too_few",
                f.score,
                f.met,
                f.unmet,
                first,
            )
        )
    suitable.sort(
        key=lambda c: (-c.score, c.first_slot or datetime.max.replace(tzinfo=slots_module.LONDON), c.therapist.name)
    )
    return suitable, excluded


def _needs(session: Session, person: Person, prefs: dict[str, Any], s: Settings) -> list[str]:
    out = []
    if not languages.is_english(person.preferred_language):
        out.append(
            f"works in {languages.name(person.preferred_language)}"
            + (" (or with the interpreter booked)" if prefs.get("interpreter") else "")
        )
    risk = governance.current_risk(session, person.id)
    if (risk is None or risk.level == "high") and s.constraints.qualified_for_high_risk:
        when = "at high risk" if risk is not None else "risk not yet assessed"
        out.append(f"{when}: " + ", ".join(q.replace("_", " ") for q in s.constraints.qualified_for_high_risk))
    return out


def rank(session: Session, principal: Principal, person_id: uuid.UUID, interpreter: bool = False) -> Ranking:
    """Suitable therapists for this person's open episode, best first, with reasons; the excluded with why.
    ``interpreter``: the allocator books an interpreter (as when the person's preferences say they need one), which
    lifts the language constraint."""
    person, _ = ensure_access(session, principal, person_id, Permission.PERSON_READ)
    ep = governance.open_episode(session, person_id)
    if ep is None:
        raise NotFound("this person has no open episode to allocate")
    s = settings()
    prefs = _prefs(session, person_id)
    if interpreter:
        prefs = {**prefs, "interpreter": True}
    q = select(Therapist).where(Therapist.active.is_(True))
    if ep.team_id is not None:
        q = q.where(Therapist.team_id == ep.team_id)
    therapists = list(session.scalars(q.order_by(Therapist.name)))
    suitable, excluded = _candidates(session, person, ep, therapists, prefs, s)
    current = session.scalar(select(Allocation).where(Allocation.person_id == person_id, Allocation.current.is_(True)))
    audit.append(
        session,
        principal.actor,
        "read",
        "TherapistMatch",
        None,
        person_id,
        detail={"suitable": len(suitable), "excluded": len(excluded)},
    )
    return Ranking(
        person,
        ep,
        s.domain_of(ep.presenting_problem),
        suitable,
        excluded,
        _needs(session, person, prefs, s),
        s.version,
        current,
    )


# -- the waiting list and the batch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    person: Person
    episode: Episode
    domain: str | None
    waited_days: int
    pending: Decision | None = None  # an allocation asked for and waiting for a senior clinician's approval


def _pending(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decision]:
    if not person_ids:
        return {}
    q = select(Decision).where(
        Decision.change == "therapist", Decision.status == "pending", Decision.person_id.in_(list(person_ids))
    )
    return {d.person_id: d for d in session.scalars(q.order_by(Decision.decided_at))}


def waiting_list(session: Session, principal: Principal, team_id: uuid.UUID | None = None) -> list[Waiting]:
    """People with an open episode and no therapist allocated, longest wait first (the principal's teams)."""
    principal.require(Permission.PERSON_READ)
    allocated = select(Allocation.episode_id).where(Allocation.current.is_(True))
    q = (
        select(Episode, Person)
        .join(Person, Person.id == Episode.person_id)
        .where(Episode.discharge_date.is_(None), Episode.id.not_in(allocated))
    )
    if not principal.is_system:
        q = q.where(Episode.team_id.in_(principal.team_ids))
    if team_id is not None:
        q = q.where(Episode.team_id == team_id)
    today = utcnow().date()
    s = settings()
    found = list(session.execute(q.order_by(Episode.referral_date, Episode.id)))
    pending = _pending(session, [p.id for _, p in found])
    rows = [
        Waiting(p, e, s.domain_of(e.presenting_problem), (today - e.referral_date).days, pending.get(p.id))
        for e, p in found
    ]
    audit.append(session, principal.actor, "read", "WaitingList", None, None, detail={"people": len(rows)})
    return rows


@dataclass(frozen=True)
class Suggestion:
    waiting: Waiting
    candidate: Candidate | None  # None: waitlisted (why says so)
    why: str
    next_available: Candidate | None  # who next-available allocation would have given them


@dataclass
class Batch:
    suggestions: list[Suggestion]
    total: float  # sum of strengths of the suggested
    next_available_total: float
    assigned: int
    next_available_assigned: int
    settings_version: str
    capacity: int = 0

    @property
    def gain(self) -> float:
        """Expected benefit over next-available allocation, PHQ-9 points summed over the people suggested."""
        return self.total - self.next_available_total


def batch(session: Session, principal: Principal, team_id: uuid.UUID | None = None) -> Batch:
    """The optimal assignment of the waiting list under every therapist's free places (most people, then most
    strength plus preference weights), beside next-available allocation (each person in order of waiting, to the
    suitable therapist with the most free places). A suggestion only: nothing is allocated."""
    principal.require(Permission.PERSON_WRITE)
    # someone whose allocation waits for approval is decided on already: not suggested again
    waiting = [w for w in waiting_list(session, principal, team_id) if w.pending is None]
    s = settings()
    team_ids = {w.episode.team_id for w in waiting}
    therapists = list(
        session.scalars(
            select(Therapist).where(Therapist.active.is_(True), Therapist.team_id.in_([t for t in team_ids if t]))
        )
    )
    by_team: dict[uuid.UUID | None, list[Therapist]] = defaultdict(list)
    for t in therapists:
        by_team[t.team_id].append(t)
    options: dict[uuid.UUID, dict[uuid.UUID, Candidate]] = {}
    people: list[solver.Person] = []
    for w in waiting:
        prefs = _prefs(session, w.person.id)
        suitable, _ = _candidates(session, w.person, w.episode, by_team.get(w.episode.team_id, []), prefs, s)
        options[w.episode.id] = {c.therapist.id: c for c in suitable}
        people.append(
            solver.Person(
                str(w.episode.id),
                w.domain or "unknown",
                allowed=frozenset(str(c.therapist.id) for c in suitable),
                bonus=tuple((str(c.therapist.id), c.preference) for c in suitable),
            )
        )
    domains = {p.domain for p in people}
    known: dict[tuple[uuid.UUID, str], float] = {}
    if therapists:
        q = select(TherapistStrength).where(TherapistStrength.therapist_id.in_([t.id for t in therapists]))
        known = {(r.therapist_id, r.domain): r.strength for r in session.scalars(q)}
    offered = [
        solver.Therapist(str(t.id), max(t.capacity, 0), {d: known.get((t.id, d), 0.0) for d in domains})
        for t in therapists
    ]
    if people and offered:
        result = solver.solve(people, offered)
    else:  # no active therapist in any waiting person's team (found by review: a 422 about a missing column)
        result = solver.Result([solver.Assignment(x.person_id, None, None, "") for x in people], 0.0, 0, len(people))
    nxt = _next_available(waiting, options, {t.id: max(t.capacity, 0) for t in therapists})
    out = []
    total = 0.0
    for w, a in zip(waiting, result.assignments, strict=True):
        c = options[w.episode.id].get(uuid.UUID(a.clinician_id)) if a.clinician_id else None
        total += c.strength if c else 0.0
        why = (
            "; ".join(reason_words(c, may_see_strength(principal, c)))
            if c
            else _waitlisted_words(options[w.episode.id])
        )
        out.append(Suggestion(w, c, why, nxt.get(w.episode.id)))
    nxt_total = sum(c.strength for c in nxt.values())
    # one record for the batch, and one per person whose preferences and risk it read (their access trail)
    audit.append_many(
        session,
        principal.actor,
        [
            audit.Entry(
                "read", "TherapistMatch", None, None, None, {"batch": len(waiting), "suggested": result.assigned}
            ),
            *(audit.Entry("read", "TherapistMatch", None, w.person.id, None, {"in_batch": True}) for w in waiting),
        ],
    )
    return Batch(
        out, total, nxt_total, result.assigned, len(nxt), s.version, sum(max(t.capacity, 0) for t in therapists)
    )


def _next_available(
    waiting: Sequence[Waiting], options: dict[uuid.UUID, dict[uuid.UUID, Candidate]], free: dict[uuid.UUID, int]
) -> dict[uuid.UUID, Candidate]:
    left = dict(free)
    out = {}
    for w in waiting:
        cands = [c for c in options[w.episode.id].values() if left.get(c.therapist.id, 0) > 0]
        if not cands:
            continue
        c = max(cands, key=lambda c: (left[c.therapist.id], c.first_slot is not None, c.therapist.name))
        left[c.therapist.id] -= 1
        out[w.episode.id] = c
    return out


def may_see_strength(principal: Principal, c: Candidate) -> bool:
    """A therapist's strength figures are for supervision (H-100): a senior clinician or service lead sees everyone's
    in their teams, anyone else only their own. The ranking's order is everyone's to see."""
    return (
        principal.is_system
        or principal.role in SEE_ALL
        or (principal.user_id is not None and c.therapist.user_id == principal.user_id)
    )


HIDDEN_STRENGTH = "strength in this problem counted in the order (the figures are for supervision)"


def reason_words(c: Candidate, see_strength: bool = True) -> list[str]:
    parts = [strength_words(c) if see_strength else HIDDEN_STRENGTH]
    parts += list(c.met)
    if c.unmet:
        parts.append("not met: " + ", ".join(c.unmet))
    if c.first_slot:
        parts.append(f"first free {c.first_slot.astimezone(slots_module.LONDON):%a %d %b %H:%M}")
    return parts


def _points(x: float) -> str:
    """A signed difference to one decimal place, never '-0.0'."""
    return "0.0" if round(x, 1) == 0 else f"{x:+.1f}"


def strength_words(c: Candidate) -> str:
    """The strength as improvement compared with the service average ('1.2 PHQ-9 points more improvement than the
    service average'), with its 95% interval and the number of cases."""
    if c.cases == 0:
        return "no finished episodes in this problem yet (counted as the service average)"
    if round(c.strength, 1) == 0:
        size = "about the service average improvement"
    else:
        more = "more" if c.strength > 0 else "less"
        size = f"{abs(c.strength):.1f} PHQ-9 points {more} improvement than the service average"
    band = f"{size} (95% interval {_points(c.lower)} to {_points(c.upper)}"
    if c.klass == "too_few":
        return f"{band}), only {c.cases} {'case' if c.cases == 1 else 'cases'}: {CLASS_WORDS['too_few']}"
    return f"{band}; {c.cases} cases: {CLASS_WORDS.get(c.klass, c.klass)})"


def _waitlisted_words(options: dict[uuid.UUID, Candidate]) -> str:
    if not options:
        return "nobody suitable: see the person's match for why each therapist is excluded"
    return "waitlisted: every suitable therapist is full"


# -- allocating --------------------------------------------------------------------------------------------------


def token_stamp(session: Session) -> str:
    """What makes a suggestion stale: the settings' version and when the strengths were last fitted."""
    fitted = session.scalar(select(func.max(TherapistStrength.fitted_at)))
    return f"{settings().version}:{fitted.isoformat() if fitted else '-'}"


def suggestion_token(session: Session, person_id: uuid.UUID, therapist_id: uuid.UUID, stamp: str | None = None) -> str:
    """What the match gives with each suggestion (the ranking's first, the batch's): an allocation that says it
    follows the match must carry it, so no client can record its own choice as "as suggested" and hide an override
    (found by review). A keyed hash of the person and the therapist, with a key derived from the audit key."""
    key = hmac.new(audit.key_of(session), b"idiograph matching suggestion", hashlib.sha256).digest()
    # stale once the settings or the fitted strengths change (the suggestion may differ then; found by review);
    # ``stamp``: token_stamp(session), when the caller makes many tokens at once
    message = f"{person_id}:{therapist_id}:{stamp if stamp is not None else token_stamp(session)}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


def allocate(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    therapist_id: uuid.UUID,
    rationale: str,
    suggested_id: uuid.UUID | None = None,
    interpreter: bool = False,
    token: str | None = None,
) -> Decision:
    """Ask to allocate: a governed decision (applied under delegated authority or escalated) with the rationale,
    the suggestion and the strength shown kept on it. Overriding the suggestion needs the allocator's own reason.
    ``suggested_id`` needs the ``token`` the match gave with that suggestion."""
    _allocate.register()
    if suggested_id is not None and not (
        token and hmac.compare_digest(token, suggestion_token(session, person_id, suggested_id))
    ):
        raise InvalidInput(
            "the suggestion could not be confirmed; nothing was stored",
            [FieldProblem("suggestion_token", "must be the token the match gave with this person's suggestion")],
        )
    # an interpreter the person needs (their preferences) is booked with the allocation, as the ranking assumed
    interpreter = interpreter or bool(_prefs(session, person_id).get("interpreter"))
    ranking = rank(session, principal, person_id, interpreter)
    shown = next((c for c in ranking.suitable if c.therapist.id == therapist_id), None)
    if suggested_id is None and ranking.suitable:
        # no suggestion named: the match's own for this person (its ranking's first) is recorded, so leaving it out
        # cannot hide an override (found by review)
        suggested_id = ranking.suitable[0].therapist.id
    payload: dict[str, Any] = {"therapist": str(therapist_id)}
    if suggested_id is not None:
        payload["suggested"] = str(suggested_id)
    if shown is not None:
        payload["strength"] = round(shown.strength, 3)
    if interpreter:
        payload["interpreter"] = True
    based_on = {
        "match": {
            "domain": ranking.domain,
            "settings": ranking.settings_version,
            "suggested": str(suggested_id) if suggested_id else None,
            # in words without strength figures: the decision history is read by the whole team (supervision only)
            "reasons": reason_words(shown, see_strength=False) if shown else [],
        }
    }
    return governance.request_change(session, principal, person_id, payload, rationale, based_on=based_on)


def therapist_for(session: Session, person_id: uuid.UUID) -> Therapist | None:
    a = session.scalar(select(Allocation).where(Allocation.person_id == person_id, Allocation.current.is_(True)))
    return session.get(Therapist, a.therapist_id) if a else None


def team_names(session: Session) -> dict[uuid.UUID, str]:
    return {t.id: t.name for t in session.scalars(select(Team))}
