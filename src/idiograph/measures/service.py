"""Use cases for questionnaires: list instruments, record answers given in a session, and self-report
through a single-use, expiring link that needs no account."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import DomainError, FieldProblem, InvalidInput, invalid
from idiograph.instruments.definitions import Instrument, instruments
from idiograph.measures.change import MeasureChange, changes_from
from idiograph.measures.experience import Form
from idiograph.measures.experience import forms as experience_forms
from idiograph.measures.model import QuestionnaireResponseRecord, SelfReportLink
from idiograph.measures.responses import record_response, unanswered
from idiograph.measures.scoring import validate_answers
from idiograph.observations import service as observations
from idiograph.observations.model import Observation
from idiograph.observations.recording import Recorder
from idiograph.patients.access import ensure_access
from idiograph.patients.model import Episode
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

MAX_LINK_HOURS = 24 * 14
MODES = ("full", "adaptive", "experience")  # experience: a form of measures/experience.yaml, not an instrument

# instrument id -> its adaptive item bank's version; filled where the app starts (idiograph.adaptive.taking
# .register), as this layer cannot read the banks itself
_ADAPTIVE: dict[str, str] = {}


def register_adaptive(instrument_id: str, bank_version: str) -> None:
    """Offer an adaptive short form of this instrument on self-report links."""
    _ADAPTIVE[instrument_id] = bank_version


STOP_WORDS = {
    "classification": "the decision at the cut was settled",
    "se": "the estimate was precise enough",
    "length": "the most questions allowed were asked",
    "all items": "every question was asked",
}


def stop_words(reason: str | None) -> str:
    """Why an adaptive short form stopped, in words."""
    if reason is None:
        return "it is not finished: the person stopped before the form did"
    return STOP_WORDS.get(reason, reason)


def adaptive_instruments() -> dict[str, str]:
    """Instruments that can be sent as an adaptive short form, with their item bank's version."""
    return dict(_ADAPTIVE)


class LinkGone(DomainError):
    """The link was used, has expired, or never existed: the same answer for all three, so a guessed
    token learns nothing."""

    def __init__(self) -> None:
        super().__init__(
            "this questionnaire link has already been used or has expired; ask your care team for a new one",
            [],
            410,
            "Link no longer valid",
        )


@dataclass(frozen=True)
class Recorded:
    response_id: uuid.UUID
    instrument: str
    total: int | None
    band: str | None
    prorated: bool
    missing: tuple[str, ...]
    safety_positive: tuple[str, ...]
    safety_unanswered: tuple[str, ...]
    alerts_raised: int


def instrument(instrument_id: str) -> Instrument:
    inst = instruments().get(instrument_id)
    if inst is None:
        raise invalid("instrument", f"{instrument_id!r} is not one of {', '.join(sorted(instruments()))}")
    return inst


def _check(inst: Instrument, answers: Mapping[str, int | None], authored: datetime) -> None:
    problems = [FieldProblem(f"answers.{code}", reason) for code, reason in validate_answers(inst, answers)]
    if not any(v is not None for v in answers.values()):
        problems.append(FieldProblem("answers", "at least one item must be answered"))
    if authored > utcnow() + timedelta(minutes=5):
        problems.append(FieldProblem("authored", "is in the future"))
    if problems:
        raise InvalidInput(f"the answers to {inst.id} cannot be stored", problems)


def _store(
    session: Session,
    actor: Actor,
    record: Recorder,
    person_id: uuid.UUID,
    inst: Instrument,
    answers: Mapping[str, int | None],
    authored: datetime,
    source: str,
    episode_id: uuid.UUID | None,
) -> Recorded:
    rec, result, rows = record_response(
        session, person_id, inst, answers, authored, source, str(uuid.uuid4()), episode_id=episode_id
    )
    done = record(
        session,
        actor,
        observations.CodeBook(session),
        rows,
        unanswered=unanswered(rec, result),
        audit_detail={"instrument": inst.id},
    )
    audit.append(session, actor, "write", "QuestionnaireResponse", str(rec.id), person_id, detail={"via": source})
    return Recorded(
        rec.id,
        inst.id,
        result.total,
        result.band,
        result.prorated,
        result.missing,
        result.safety_positive,
        result.safety_unanswered,
        done.alerts_raised,
    )


def _episode(session: Session, person_id: uuid.UUID, episode_id: uuid.UUID | None) -> uuid.UUID | None:
    if episode_id is None:
        return None
    ep = session.get(Episode, episode_id)
    if ep is None or ep.person_id != person_id:
        raise invalid("episode_id", "is not an episode of this person")
    return ep.id


def enter(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    instrument_id: str,
    answers: Mapping[str, int | None],
    authored: datetime | None = None,
    episode_id: uuid.UUID | None = None,
    *,
    record: Recorder,
) -> Recorded:
    """Answers given in a session, entered by a clinician: stored as items plus total, safety rules run."""
    inst = instrument(instrument_id)
    when = authored or utcnow()
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    _check(inst, answers, when)
    ep = _episode(session, person_id, episode_id)
    return _store(session, principal.actor, record, person_id, inst, answers, when, "idiograph:clinician-entry", ep)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    instrument_id: str,
    valid_hours: int = 72,
    episode_id: uuid.UUID | None = None,
    mode: str = "full",
) -> tuple[SelfReportLink, str]:
    """A new link and its secret token (shown once; only its hash is kept). ``mode`` "adaptive" sends the
    adaptive short form (one question at a time, stopping when the decision is made) instead of the full form;
    "experience" sends an experience-of-choice form (``instrument_id`` names the form: peq-assessment,
    peq-discharge)."""
    if mode not in MODES:
        raise invalid("mode", f"{mode!r} is not one of {', '.join(MODES)}")
    form_id = experience_form(instrument_id).id if mode == "experience" else instrument(instrument_id).id
    if not 1 <= valid_hours <= MAX_LINK_HOURS:
        raise invalid("valid_hours", f"must be between 1 and {MAX_LINK_HOURS}")
    if mode == "adaptive" and form_id not in _ADAPTIVE:
        have = ", ".join(i.upper() for i in sorted(_ADAPTIVE)) or "none"
        raise invalid("mode", f"{form_id.upper()} has no adaptive form (adaptive forms: {have})")
    token = secrets.token_urlsafe(32)
    ensure_access(session, principal, person_id, Permission.PERSON_WRITE)
    now = utcnow()
    link = SelfReportLink(
        person_id=person_id,
        episode_id=_episode(session, person_id, episode_id),
        instrument=form_id,
        token_hash=_hash(token),
        created_by=principal.username,
        created_at=now,
        expires_at=now + timedelta(hours=valid_hours),
        mode=mode,
        step=0,
    )
    session.add(link)
    session.flush()
    audit.append(
        session,
        principal.actor,
        "create",
        "SelfReportLink",
        str(link.id),
        person_id,
        detail={"instrument": form_id, "valid_hours": valid_hours, "mode": mode},
    )
    return link, token


def live_link(session: Session, token: str) -> SelfReportLink:
    """The link, if it is unused and in date (any mode)."""
    link = session.scalar(select(SelfReportLink).where(SelfReportLink.token_hash == _hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise LinkGone()
    return link


def open_link(session: Session, token: str) -> tuple[SelfReportLink, Instrument]:
    """The link's instrument, if the link is unused and in date and asks a questionnaire."""
    link = live_link(session, token)
    if link.mode == "experience":
        raise invalid("mode", "this link asks about the person's experience of choice, not a questionnaire")
    return link, instrument(link.instrument)


def experience_form(form_id: str) -> Form:
    form = experience_forms().form(form_id)
    if form is None:
        have = ", ".join(f.id for f in experience_forms().forms)
        raise invalid("instrument", f"{form_id!r} is not an experience form (forms: {have})")
    return form


def link_title(link: SelfReportLink) -> str:
    """What the link asks, in words."""
    return experience_form(link.instrument).title if link.mode == "experience" else instrument(link.instrument).title


def token_hash(token: str) -> str:
    """The stored form of a link's token."""
    return _hash(token)


def spend_link(session: Session, token: str, now: datetime, mode: str | None = None) -> SelfReportLink:
    """Spend an unused, in-date link (of ``mode``, when given) and return it: a conditional update lets exactly
    one of two simultaneous submissions through; the other is told the link is gone."""
    conditions = [SelfReportLink.token_hash == _hash(token), SelfReportLink.used_at.is_(None)]
    conditions.append(SelfReportLink.expires_at > now)
    if mode is not None:
        conditions.append(SelfReportLink.mode == mode)
    spent = session.execute(
        update(SelfReportLink).where(*conditions).values(used_at=now).execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkGone()
    link = session.scalar(select(SelfReportLink).where(SelfReportLink.token_hash == _hash(token)))
    assert link is not None
    return link


def submit_link(session: Session, token: str, answers: Mapping[str, int | None], record: Recorder) -> Recorded:
    """Store the person's answers and spend the link, atomically: a second submission is refused even
    when two arrive at once (the conditional update lets exactly one through)."""
    now = utcnow()
    link = spend_link(session, token, now)
    if link.mode == "experience":
        raise invalid("mode", "this link asks about the person's experience of choice, not a questionnaire")
    if link.mode != "full":
        raise invalid("mode", "this link asks the adaptive short form one question at a time, not the full form")
    inst = instrument(link.instrument)
    _check(inst, answers, now)
    actor = Actor(None, f"self-report:{link.id}", "person")
    recorded = _store(
        session, actor, record, link.person_id, inst, answers, now, "idiograph:self-report", link.episode_id
    )
    link.response_id = recorded.response_id
    return recorded


def links_for_person(session: Session, principal: Principal, person_id: uuid.UUID) -> list[SelfReportLink]:
    """The person's latest self-report links (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    links = list(
        session.scalars(
            select(SelfReportLink)
            .where(SelfReportLink.person_id == person_id)
            .order_by(SelfReportLink.created_at.desc())
            .limit(20)
        )
    )
    audit.append(session, principal.actor, "read", "SelfReportLink", None, person_id, detail={"count": len(links)})
    return links


def recent_responses(
    session: Session, principal: Principal, person_id: uuid.UUID, limit: int = 10
) -> list[tuple[QuestionnaireResponseRecord, list[tuple[str, bool]], list[str]]]:
    """The person's latest questionnaire responses, newest first, each with what it says about its safety items:
    ("item 9: Several days", True) for a safety answer, ("item 9: Not at all", False), or
    ("item 9 not answered", True); and for an ADAPTIVE response its items asked, in order, with the answers
    ("item 9: Several days"); an audited read."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    records = list(
        session.scalars(
            select(QuestionnaireResponseRecord)
            .where(QuestionnaireResponseRecord.person_id == person_id)
            .order_by(QuestionnaireResponseRecord.authored_at.desc())
            .limit(limit)
        )
    )
    safety_codes = {c for inst in instruments().values() for c in inst.safety_codes}
    answers: dict[tuple[uuid.UUID, str], float] = {}
    adaptive = [r.id for r in records if r.adaptive]
    if records and safety_codes:
        q = select(Observation.group_id, Observation.code, Observation.value).where(
            Observation.group_id.in_([r.id for r in records]), Observation.code.in_(safety_codes)
        )
        answers = {(g, c): v for g, c, v in session.execute(q)}
    if adaptive:
        q = select(Observation.group_id, Observation.code, Observation.value).where(Observation.group_id.in_(adaptive))
        answers.update({(g, c): v for g, c, v in session.execute(q)})
    audit.append(
        session, principal.actor, "read", "QuestionnaireResponse", None, person_id, detail={"count": len(records)}
    )
    return [(r, safety_lines(r, answers), asked_lines(r, answers)) for r in records]


def asked_lines(record: QuestionnaireResponseRecord, answers: Mapping[tuple[uuid.UUID, str], float]) -> list[str]:
    """An adaptive response's items in the order asked, with their words and the answer given: ["item 9 (Thoughts
    that you would be better off dead, or…): Not at all", ...]."""
    inst = instruments().get(record.instrument)
    if inst is None or not record.adaptive:
        return []
    codes = [i.code for i in inst.items]
    out = []
    for code in record.adaptive_asked or []:
        item = inst.item(code)
        value = answers.get((record.id, code))
        if item is None or value is None:
            continue
        said = next((a.display for a in inst.options(item) if a.value == value), f"{value:g}")
        text = item.text if len(item.text) <= 48 else item.text[:48].rsplit(" ", 1)[0] + "…"
        out.append(f"item {codes.index(code) + 1} ({text}): {said}")
    return out


def safety_lines(
    record: QuestionnaireResponseRecord, answers: Mapping[tuple[uuid.UUID, str], float]
) -> list[tuple[str, bool]]:
    """What one response says about each of its instrument's safety items, and whether it needs attention."""
    inst = instruments().get(record.instrument)
    if inst is None:
        return []
    codes = [i.code for i in inst.items]
    out: list[tuple[str, bool]] = []
    for item in inst.items:
        if not item.safety:
            continue
        label = f"item {codes.index(item.code) + 1}"
        if item.code in (record.safety_unanswered or []):
            out.append((f"{label} not answered", True))
            continue
        value = answers.get((record.id, item.code))
        if value is None:
            continue
        said = next((a.display for a in inst.options(item) if a.value == value), f"{value:g}")
        out.append((f"{label}: {said}", inst.safety_positive(item, value)))
    return out


def changes_for_person(session: Session, principal: Principal, person_id: uuid.UUID) -> list[MeasureChange]:
    obs = observations.for_person(session, principal, person_id, via="reliable-change")
    return changes_from((o.system, o.code, o.effective_at, o.value) for o in obs)
