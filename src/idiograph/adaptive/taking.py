"""Taking an adaptive short form from a self-report link: one question at a time, each answer stored as it is
given (so a safety answer raises its alert at once, even if the person stops there), the next question chosen
by the engine, and the record completed when the engine stops.

The record is ADAPTIVE: it keeps the items asked in order, the estimated full-form total with its 95% interval,
the decision at the cut and the stopping reason. It has no total and no total observation is stored, so NHS
Talking Therapies outcome metrics, reliable change and recovery count full forms only (H-105).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from idiograph.adaptive import engine
from idiograph.adaptive.banks import available, default_rule, load_bank
from idiograph.db import utcnow
from idiograph.errors import Conflict, FieldProblem, InvalidInput, invalid
from idiograph.instruments.definitions import Instrument, Item
from idiograph.measures import service as measures
from idiograph.measures.model import QuestionnaireResponseRecord, SelfReportLink
from idiograph.observations import service as observations
from idiograph.observations.catalogue import SCORE_UNIT
from idiograph.observations.recording import Recorder
from idiograph.observations.service import NewObservation
from idiograph.security import audit
from idiograph.security.audit import Actor

SOURCE = "idiograph:self-report"


def register() -> None:
    """Offer the shipped banks' instruments as adaptive forms on self-report links (called where the app
    starts). A provisional bank (GAD-7, not calibrated on real item data) is not offered to people."""
    for inst in available():
        bank = load_bank(inst)
        if not bank.provisional:
            measures.register_adaptive(inst, bank.version)


@dataclass(frozen=True)
class Question:
    """The question the person is asked now."""

    instrument: Instrument
    item: Item
    number: int  # 1 for the first question asked
    answered: int  # questions answered so far
    most: int  # the most questions the form can ask
    safety_said: bool  # a safety item answered above 0 already: the page shows the crisis numbers at once


@dataclass(frozen=True)
class Finished:
    response_id: uuid.UUID
    instrument: str
    asked: tuple[str, ...]
    estimate: float
    lower: float
    upper: float
    decision: str
    stopped: str
    safety_positive: tuple[str, ...]  # safety items answered above 0: the alert was raised when answered


def _answers(link: SelfReportLink) -> list[tuple[str, int]]:
    return [(str(p[0]), int(str(p[1]))) for p in (link.progress or [])]


def _adaptive(link: SelfReportLink, inst: Instrument) -> tuple[engine.Bank, engine.Rule]:
    if link.mode != "adaptive":
        raise invalid("mode", "this link is for the full form, not the adaptive short form")
    return load_bank(inst.id), default_rule(inst.id)


@dataclass(frozen=True)
class Settled:
    """Nothing more to ask, though the form is open: the answers given already settle it under the rule as it is
    now (the stopping rule or the bank changed while the form was open, a deploy between two questions). The page
    asks the person to send what they have; the next answer call completes it (found by review: such a form was
    left in progress for good behind a "link no longer valid" page)."""

    instrument: Instrument
    safety_said: bool


def current(session: Session, token: str) -> Question | Settled:
    """The question to ask now, or Settled (LinkGone when the link was completed, expired or never existed)."""
    link, inst = measures.open_link(session, token)
    bank, rule = _adaptive(link, inst)
    answers = _answers(link)
    code = engine.next_item(bank, rule, answers)
    if code is None:
        return Settled(inst, _said(inst, answers))
    return _question(inst, code, answers, rule)


def _said(inst: Instrument, answers: list[tuple[str, int]]) -> bool:
    return any((it := inst.item(c)) is not None and it.safety and inst.safety_positive(it, v) for c, v in answers)


def _question(inst: Instrument, code: str, answers: list[tuple[str, int]], rule: engine.Rule) -> Question:
    item = inst.item(code)
    assert item is not None  # the bank was validated against the instrument when loaded
    return Question(
        inst, item, len(answers) + 1, len(answers), min(rule.max_items, len(inst.items)), _said(inst, answers)
    )


def answer(session: Session, token: str, item_code: str, value: int | None, record: Recorder) -> Question | Finished:
    """Store one answer to the question being asked; return the next question, or the finished record.

    Refused whole (nothing stored): an answer to another item than the one asked (``item``), a value the item
    does not offer (``answer``), the same question answered twice at once (409), a completed or expired link
    (410)."""
    link, inst = measures.open_link(session, token)
    bank, rule = _adaptive(link, inst)
    answers = _answers(link)
    expected = engine.next_item(bank, rule, answers)
    if expected is None:  # Settled: the person sends what they have (the answer, if any, is not a question asked)
        return _finish(session, link, inst, bank, rule, answers, utcnow(), record)
    item = inst.item(expected)
    assert item is not None
    problems = []
    if item_code != expected:
        number = len(answers) + 1
        problems.append(  # a stale tab or a double submit: said to the person plainly (found by a new user's trial)
            FieldProblem("item", f"that answer was for another question (an older page?): please answer question "
                         f"{number} below")
        )  # fmt: skip
    allowed = sorted(a.value for a in inst.options(item))
    if value is None:
        problems.append(FieldProblem("answer", f"choose one of the answers ({', '.join(map(str, allowed))})"))
    elif value not in allowed:
        problems.append(FieldProblem("answer", f"{value} is not one of {allowed}"))
    if problems:
        raise InvalidInput("this answer cannot be stored; nothing was saved", problems)
    assert value is not None
    now = utcnow()
    now_answers = [*answers, (expected, value)]
    moved = session.execute(
        update(SelfReportLink)
        .where(
            SelfReportLink.id == link.id,
            SelfReportLink.step == link.step,
            SelfReportLink.used_at.is_(None),
            SelfReportLink.expires_at > now,
        )
        .values(step=link.step + 1, progress=[[c, v] for c, v in now_answers])
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "this question was answered already (perhaps in another tab); reload the page to see the next one",
            [FieldProblem("item", "already answered")],
        )
    session.refresh(link)
    actor = Actor(None, f"self-report:{link.id}", "person")
    rec = _response(session, actor, link, inst, now)
    record(
        session,
        actor,
        observations.CodeBook(session),
        [_score(link, rec, inst.item_system, expected, value, now)],
        audit_detail={"instrument": inst.id, "adaptive": True},
    )
    nxt = engine.next_item(bank, rule, now_answers)
    if nxt is not None:
        _summarise(rec, bank, rule, engine.result(bank, rule, now_answers), now_answers)
        session.flush()
        return _question(inst, nxt, now_answers, rule)
    return _finish(session, link, inst, bank, rule, now_answers, now, record)


def _finish(
    session: Session,
    link: SelfReportLink,
    inst: Instrument,
    bank: engine.Bank,
    rule: engine.Rule,
    answers: list[tuple[str, int]],
    now: datetime,
    record: Recorder,
) -> Finished:
    """The form has stopped: the link is spent and the response completed with its estimate, decision and reason;
    a form that asked every question also gets its full total. The link is spent once: a second finish at the same
    time (a double tap on *Send*) finds it spent and is refused whole (LinkGone)."""
    spent = session.execute(
        update(SelfReportLink)
        .where(SelfReportLink.id == link.id, SelfReportLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise measures.LinkGone()
    actor = Actor(None, f"self-report:{link.id}", "person")
    rec = _response(session, actor, link, inst, now)
    res = engine.result(bank, rule, answers)
    _summarise(rec, bank, rule, res, answers)
    link.used_at = now
    rec.status = "completed"
    if len(answers) == len(inst.items):
        # every question asked: a full form after all, with its total, counted as any full form is (found by a new
        # user's trial: nine answers were shown as "not a total" and left off the chart and the outcome measures)
        total = sum(v for _, v in answers)
        rec.total = total
        record(
            session,
            actor,
            observations.CodeBook(session),
            [_score(link, rec, inst.total.system, inst.total.code, total, now)],
            audit_detail={"instrument": inst.id, "adaptive": True, "complete": True},
        )
    session.flush()
    audit.append(
        session,
        actor,
        "write",
        "QuestionnaireResponse",
        str(rec.id),
        link.person_id,
        detail={"via": SOURCE, "adaptive": True, "items": len(answers), "stopped": res.stopped},
    )
    positive = tuple(
        c for c, v in answers if (it := inst.item(c)) is not None and it.safety and inst.safety_positive(it, v)
    )
    return Finished(
        rec.id,
        inst.id,
        tuple(c for c, _ in answers),
        res.estimate,
        res.lower,
        res.upper,
        res.decision,
        str(res.stopped),
        positive,
    )


def _score(
    link: SelfReportLink, rec: QuestionnaireResponseRecord, system: str, code: str, value: int, now: datetime
) -> NewObservation:
    """One answer (or the total) of the link's response, as the observation the pipeline records."""
    return NewObservation(
        link.person_id,
        system,
        code,
        float(value),
        SCORE_UNIT,
        now,
        rec.source,
        f"{rec.source_id}#{code}",
        link.episode_id,
        rec.id,
    )


def _response(
    session: Session, actor: Actor, link: SelfReportLink, inst: Instrument, now: datetime
) -> QuestionnaireResponseRecord:
    """The link's response record: made, in progress, with the first answer."""
    if link.response_id is not None:
        rec = session.get(QuestionnaireResponseRecord, link.response_id)
        assert rec is not None
        return rec
    rec = QuestionnaireResponseRecord(
        id=uuid.uuid4(),
        person_id=link.person_id,
        instrument=inst.id,
        authored_at=now,
        status="in-progress",
        total=None,  # an adaptive form has no total: see ``estimate``
        prorated=False,
        safety_unanswered=[],
        source=SOURCE,
        source_id=str(uuid.uuid4()),
        adaptive=True,
        adaptive_asked=[],
    )
    session.add(rec)
    session.flush()
    link.response_id = rec.id
    audit.append(
        session,
        actor,
        "create",
        "QuestionnaireResponse",
        str(rec.id),
        link.person_id,
        detail={"via": SOURCE, "adaptive": True, "status": "in-progress"},
    )
    return rec


def _summarise(
    rec: QuestionnaireResponseRecord,
    bank: engine.Bank,
    rule: engine.Rule,
    res: engine.Result,
    answers: list[tuple[str, int]],
) -> None:
    rec.adaptive_asked = [c for c, _ in answers]
    rec.estimate, rec.estimate_lower, rec.estimate_upper = res.estimate, res.lower, res.upper
    rec.adaptive_cut, rec.adaptive_p_above, rec.decision = rule.cut, res.p_above, res.decision
    rec.stop_reason = res.stopped
    # the bank that chose the first question, and the one that chose the last when it changed in between
    first = (rec.bank_version or bank.version).split(" then ")[0]
    rec.bank_version = first if first == bank.version else f"{first} then {bank.version}"[:120]
