"""Matching over HTTP: strengths profiles (supervision), one referral's ranked therapists, the waiting list, the
batch suggestion, and allocating (a governed decision). Advice only: nothing is allocated by itself."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from idiograph.matching import service
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["matching"])


def candidate_json(c: service.Candidate, p: Principal) -> dict[str, Any]:
    """One suitable therapist; their strength figures (and the score that would give them away) are null for anyone
    but a senior clinician, a service lead or the therapist themselves (supervision, not a league table)."""
    see = service.may_see_strength(p, c)
    return {
        "therapist_id": str(c.therapist.id),
        "name": c.therapist.name,
        "profession": c.therapist.profession,
        "strength": round(c.strength, 3) if see else None,
        "strength_lower": round(c.lower, 3) if see else None,
        "strength_upper": round(c.upper, 3) if see else None,
        "cases": c.cases if see else None,
        "class": c.klass if see else None,
        "preference_score": c.preference,
        "preferences_met": list(c.met),
        "preferences_not_met": list(c.unmet),
        "score": round(c.score, 3) if see else None,
        "first_free_slot": c.first_slot.isoformat() if c.first_slot else None,
        "free_places": c.therapist.capacity,
        "reasons": service.reason_words(c, see),
    }


@router.get("/people/{person_id}/matches", response_model=dict[str, Any])
def matches(
    person_id: uuid.UUID,
    interpreter: bool = False,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> dict[str, Any]:
    """Suitable therapists for this person's open episode, best first (strength in their problem domain, in PHQ-9
    points against the service average with its 95% interval, plus the weights of the preferences met), with the
    first free slot; and every excluded therapist with the hard constraint that excludes them. ``interpreter=true``:
    as if an interpreter is booked (lifts the language constraint; allocate with ``interpreter: true``)."""
    r = service.rank(db, p, person_id, interpreter)
    return {
        "person_id": str(person_id),
        "episode_id": str(r.episode.id),
        "domain": r.domain,
        "hard_constraints": r.needs,
        "settings_version": r.settings_version,
        "current_therapist_id": str(r.current.therapist_id) if r.current else None,
        "suitable": [candidate_json(c, p) for c in r.suitable],
        # the ranking's first is its suggestion: allocate with suggested_id and this token to record it as followed
        "suggestion_token": service.suggestion_token(db, person_id, r.suitable[0].therapist.id) if r.suitable else None,
        "excluded": [{"therapist_id": str(t.id), "name": t.name, "why": why} for t, why in r.excluded],
    }


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    therapist_id: uuid.UUID
    rationale: str = Field(description="why, in words (at least 5 characters); an override needs the allocator's own")
    suggested_id: uuid.UUID | None = Field(None, description="the therapist the match suggested, when one did")
    suggestion_token: str | None = Field(
        None, max_length=64, description="the token the match gave with that suggestion (required with suggested_id)"
    )
    interpreter: bool = Field(False, description="an interpreter is booked (lifts the language constraint)")


@router.post("/people/{person_id}/allocation", response_model=dict[str, Any], status_code=201)
def allocate(
    person_id: uuid.UUID,
    body: AllocationRequest,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> dict[str, Any]:
    """Allocate a therapist: a governed decision (applied under delegated authority or escalated), with the
    suggestion and the strength shown kept on it; once applied, the therapy plan is drafted for the person."""
    d = service.allocate(
        db, p, person_id, body.therapist_id, body.rationale, body.suggested_id, body.interpreter, body.suggestion_token
    )
    return {
        "decision_id": str(d.id),
        "status": d.status,
        "authority": d.authority,
        "summary": d.summary,
        "policy_reason": d.policy_reason,
    }


@router.get("/waiting-list", response_model=list[dict[str, Any]])
def waiting(
    team_id: uuid.UUID | None = None, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[dict[str, Any]]:
    """People on your teams with an open episode and no therapist yet, longest wait first."""
    return [
        {
            "person_id": str(w.person.id),
            "episode_id": str(w.episode.id),
            "domain": w.domain,
            "referral_date": w.episode.referral_date.isoformat(),
            "waited_days": w.waited_days,
            # an allocation asked for and waiting for approval (its decision id), else null
            "awaiting_approval": str(w.pending.id) if w.pending else None,
        }
        for w in service.waiting_list(db, p, team_id)
    ]


@router.get("/matching/batch", response_model=dict[str, Any])
def batch(
    team_id: uuid.UUID | None = None, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_WRITE))
) -> dict[str, Any]:
    """The optimal match of the waiting list under every therapist's free places, beside next-available
    allocation, with the expected gain. A suggestion: allocate each with POST .../allocation."""
    b = service.batch(db, p, team_id)
    see_all = p.is_system or p.role in service.SEE_ALL
    stamp = service.token_stamp(db)
    return {
        "settings_version": b.settings_version,
        "suggested": b.assigned,
        "waitlisted": len(b.suggestions) - b.assigned,
        "free_places": b.capacity,
        # the gain is a difference of strengths: for supervision (null for anyone else; found by review)
        "expected_gain_points": round(b.gain, 3) if see_all else None,
        "expected_gain_per_person": round(b.gain / b.assigned, 3) if b.assigned and see_all else None,
        "suggestions": [
            {
                "person_id": str(s.waiting.person.id),
                "episode_id": str(s.waiting.episode.id),
                "domain": s.waiting.domain,
                "waited_days": s.waiting.waited_days,
                "suggested": candidate_json(s.candidate, p) if s.candidate else None,
                "suggestion_token": service.suggestion_token(db, s.waiting.person.id, s.candidate.therapist.id, stamp)
                if s.candidate
                else None,
                "why": s.why,
                "next_available_therapist_id": str(s.next_available.therapist.id) if s.next_available else None,
            }
            for s in b.suggestions
        ],
    }


@router.get("/therapists/strengths", response_model=list[dict[str, Any]])
def strengths(
    team_id: uuid.UUID | None = None, db: Session = DB, p: Principal = Depends(require(Permission.PERSON_READ))
) -> list[dict[str, Any]]:
    """Strength profiles by problem domain: your own (clinician, care coordinator), or your teams' (senior
    clinician, service lead) for supervision. PHQ-9 points against the service average, shrunk, with 95% intervals;
    classed only with enough cases."""
    return [
        {
            "therapist_id": str(pr.therapist.id),
            "name": pr.therapist.name,
            "domains": {
                d: {
                    "cases": s.cases,
                    "strength": round(s.strength, 3),
                    "lower": round(s.lower, 3),
                    "upper": round(s.upper, 3),
                    "class": s.klass,
                }
                for d, s in sorted(pr.strengths.items())
            },
        }
        for pr in service.profiles(db, p, team_id)
    ]
