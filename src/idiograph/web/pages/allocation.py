"""Allocation: the waiting list and the batch match (suggestions the allocator accepts or changes, each a governed
decision), one person's ranked therapists, and therapist strengths for supervision."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.errors import DomainError
from idiograph.governance import service as governance
from idiograph.matching import service
from idiograph.matching.settings import settings
from idiograph.matching.strengths import CLASS_WORDS
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.charts import StrengthRow, strength_figure
from idiograph.web.render import refused, render

router = APIRouter(include_in_schema=False)


def _risks(db: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    out = {}
    for pid in person_ids:
        r = governance.current_risk(db, pid)
        out[pid] = r.level if r else "not assessed"
    return out


@router.get("/allocation")
def allocation_page(
    request: Request,
    suggest: bool = False,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    """Who is waiting for a therapist, longest first; with ``suggest``, the batch match beside next-available."""
    batch = service.batch(db, p) if suggest and p.can(Permission.PERSON_WRITE) else None
    everyone = service.waiting_list(db, p)
    waiting = [s.waiting for s in batch.suggestions] if batch else everyone
    options: dict[uuid.UUID, list[service.Candidate]] = {}
    if batch:
        for s in batch.suggestions:
            options[s.waiting.person.id] = service.rank(db, p, s.waiting.person.id).suitable
    risks = _risks(db, [w.person.id for w in waiting])
    urgent = {"high": 0, "not assessed": 1, "medium": 2, "low": 3}  # urgency first, then the longest wait
    waiting = sorted(waiting, key=lambda w: (urgent.get(risks[w.person.id], 1), -w.waited_days))
    suggestions = (
        sorted(batch.suggestions, key=lambda x: (urgent.get(risks[x.waiting.person.id], 1), -x.waiting.waited_days))
        if batch
        else []
    )
    return render(
        request,
        "allocation.html",
        waiting=waiting,
        batch=batch,
        suggestions=suggestions,
        options=options,
        risks=risks,
        reason_words=lambda c: service.reason_words(c, service.may_see_strength(p, c)),
        see_strength=lambda c: service.may_see_strength(p, c),
        token=lambda pid, c, stamp=service.token_stamp(db): service.suggestion_token(db, pid, c.therapist.id, stamp),
        strength_words=service.strength_words,
        pending_count=sum(1 for w in everyone if w.pending is not None),
        total_waiting=len(everyone),
        supervisor=p.is_system or p.role in service.SEE_ALL,
        teams=service.team_names(db) if batch and len({w.episode.team_id for w in waiting}) > 1 else {},
        nobody=sum(1 for x in batch.suggestions if x.candidate is None and x.why.startswith("nobody")) if batch else 0,
    )


@router.get("/people/{person_id}/match")
def match_page(
    request: Request,
    person_id: uuid.UUID,
    interpreter: bool = False,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    """One referral: suitable therapists best first, with reasons; the excluded with why. With ``interpreter``, as if
    an interpreter is booked (the allocation then records it)."""
    ranking = service.rank(db, p, person_id, interpreter)
    current = service.therapist_for(db, person_id)
    return render(
        request,
        "match.html",
        ranking=ranking,
        current=current,
        reason_words=lambda c: service.reason_words(c, service.may_see_strength(p, c)),
        see_strength=lambda c: service.may_see_strength(p, c),
        token=lambda pid, c, stamp=service.token_stamp(db): service.suggestion_token(db, pid, c.therapist.id, stamp),
        weights=settings().weights,
        interpreter=interpreter,
    )


@router.post("/people/{person_id}/allocation")
def allocate_form(
    request: Request,
    person_id: uuid.UUID,
    therapist_id: str = Form(""),
    suggested_id: str = Form(""),
    suggestion_token: str = Form(""),
    rationale: str = Form(""),
    interpreter: str = Form(""),
    back: str = Form("allocation"),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    """Accept a suggestion or choose someone else (with the allocator's reason): a governed decision."""
    try:
        try:
            chosen = uuid.UUID(therapist_id)
        except ValueError:
            raise DomainError("Choose a therapist.", [], 422, "Unprocessable") from None
        suggested = uuid.UUID(suggested_id) if suggested_id else None
        d = service.allocate(db, p, person_id, chosen, rationale, suggested, bool(interpreter), suggestion_token)
    except (DomainError, ValueError) as exc:
        db.rollback()  # nothing of the refused request is kept
        return refused(request, person_id, exc if isinstance(exc, DomainError) else DomainError(str(exc)))
    where = "/allocation?suggest=1" if back == "allocation" else f"/people/{person_id}/match"
    if back != "allocation" and interpreter:
        where += "?interpreter=true"
    done = f"done={d.id}&status={'pending' if d.status == 'pending' else 'applied'}"
    return RedirectResponse(f"{where}&{done}" if "?" in where else f"{where}?{done}", 303)


@router.get("/strengths")
def strengths_page(
    request: Request, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> HTMLResponse:
    """Therapist strengths by problem domain, for supervision: your own, or your teams' (by name, never ranked)."""
    try:
        profiles = service.profiles(db, p)
    except DomainError as exc:
        return render(
            request, "strengths.html", status=exc.status, profiles=[], figures=[], error=exc.detail, s=settings()
        )
    domains = settings().all_domains
    teams = service.team_names(db)
    several = len({pr.therapist.team_id for pr in profiles}) > 1
    labels = {
        pr.therapist.id: f"{pr.therapist.name} ({teams.get(pr.therapist.team_id, 'no team')})"
        if several
        else pr.therapist.name
        for pr in profiles
    }
    profiles = sorted(profiles, key=lambda x: labels[x.therapist.id])
    figures = []
    for d in domains:
        rows = [
            StrengthRow(labels[pr.therapist.id], r.strength, r.lower, r.upper, r.cases, r.klass)
            for pr in profiles
            if (r := pr.strengths.get(d)) is not None
        ]
        if rows:
            figures.append(strength_figure(d, rows, f"strength-{d}"))
    own = p.role not in service.SEE_ALL
    return render(
        request,
        "strengths.html",
        profiles=[(labels[pr.therapist.id], pr) for pr in profiles],
        figures=figures,
        own=own,
        domains=domains,
        class_words=CLASS_WORDS,
        s=settings(),
        error=None,
    )
