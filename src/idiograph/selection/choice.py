"""The clinician decides: choosing an option is a governed decision (delegated authority, escalation at high risk)
whose record keeps the prediction that was shown, and the decision history later sets that prediction beside the
scores that came (predicted against actual)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.errors import Conflict, FieldProblem, InvalidInput
from idiograph.governance import service as governance
from idiograph.governance.model import Decision
from idiograph.governance.service import open_episode
from idiograph.instruments.definitions import instruments
from idiograph.observations.model import Observation
from idiograph.patients.access import ensure_access
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.selection import service
from idiograph.selection.course import MEASURES

KEPT = (
    "expected",
    "lower",
    "upper",
    "advantage",
    "advantage_lower",
    "advantage_upper",
    "support",
    "recovery",
    "deterioration",
    "drivers",
    "score_drivers",
    "course",
    "no_number",
    "course_note",
    "comparison_note",
)


def choose(
    session: Session,
    principal: Principal,
    person_id: uuid.UUID,
    option: str,
    rationale: str,
    declined: str | None = None,
    fingerprint: str | None = None,
) -> Decision:
    """Request the intervention ``option`` for the person's open episode with the clinician's rationale; the
    decision's ``based_on["prediction"]`` holds what the comparison showed for it (values, intervals, course, model
    version) at the moment of choosing. Choosing the option already planned is recorded as a decision too. With
    ``fingerprint`` (the option's, as shown), a comparison that changed since it was shown is refused: what is kept
    is what the clinician saw. An option the rules do not allow for this person now is refused, naming why."""
    shown = service.options(session, principal, person_id)
    entry = next((o for o in shown["options"] if o["id"] == option), None)
    if entry is None:
        raise InvalidInput(
            f"{option!r} is not an option this service offers", [FieldProblem("intervention", "unknown")]
        )
    if not entry["appropriate"]:
        raise InvalidInput(
            f"{entry['label']} is not appropriate for this person now: " + "; ".join(entry["why_not"]),
            [FieldProblem("intervention", "; ".join(entry["why_not"]))],
        )
    known = {o["id"] for o in shown["options"]}
    if declined and declined == option:
        raise InvalidInput(
            "the person cannot decline the option chosen", [FieldProblem("declined", "the option chosen")]
        )
    if declined and declined not in known:
        raise InvalidInput(f"{declined!r} is not an option this service offers", [FieldProblem("declined", "unknown")])
    if fingerprint is not None and fingerprint != entry["fingerprint"]:
        raise Conflict(
            "the comparison has changed since it was shown (a new model, intake answers or risk assessment): look "
            "at the options again before choosing"
        )
    ep = open_episode(session, person_id)
    payload: dict[str, Any] = {"intervention": option}
    if declined:
        payload["declined"] = declined
    if ep is not None and ep.pathway == option:
        payload["confirm"] = True
    prediction: dict[str, Any] = {
        "option": option,
        "label": entry["label"],
        "standard": shown["standard"],
        "compared_with": (shown["model"] or {}).get("reference"),
        "model": (shown["model"] or {}).get("version"),
        "outcome": shown["outcome"],
        "course_start": shown["course_start"],
        "method": shown["method"],
        "limits": shown["limits"],
        "fingerprint": entry["fingerprint"],
        "chosen_at": datetime.now().astimezone().isoformat(),
    } | {k: entry[k] for k in KEPT if k in entry}
    return governance.request_change(session, principal, person_id, payload, rationale, prediction=prediction)


def against_actual(prediction: dict[str, Any], scores: dict[str, list[tuple[datetime, float]]]) -> list[dict[str, Any]]:
    """Per measure in the prediction's course, the scores given since its week 0 set against the band for their week:
    [{measure, week, score, expected, lower, upper, inside}] in time order (empty with no course)."""
    course, start = prediction.get("course"), prediction.get("course_start")
    if not course or not start:
        return []
    t0 = datetime.fromisoformat(start)
    weeks = course["weeks"]
    out = []
    for m, band in course["measures"].items():
        for t, v in sorted(scores.get(m, [])):
            if t <= t0:  # week 0 is the intake score the course starts from
                continue
            week = (t - t0).total_seconds() / (7 * 86400)
            k = min(round(week), len(weeks) - 1)
            lo, hi = band["lower"][k], band["upper"][k]
            out.append(
                {
                    "measure": m,
                    "when": t,
                    "week": round(week, 1),
                    "score": v,
                    "expected": band["expected"][k],
                    "lower": lo,
                    "upper": hi,
                    "inside": lo <= v <= hi,
                    "beyond_course": week > weeks[-1] + 0.5,
                }
            )
    return sorted(out, key=lambda r: (r["when"], r["measure"]))


def history(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> list[dict[str, Any]]:
    """The person's treatment choices, oldest first: each decision with the prediction it was shown and the scores
    since, each against the chosen option's band for its week (audited reads)."""
    decisions = [d for d in governance.decisions_for(session, principal, person_id, via=via) if prediction_of(d)]
    if not decisions:
        return []
    scores = totals(session, principal, person_id, via)
    return [
        {
            "decision_id": str(d.id),
            "decided_at": d.decided_at.isoformat(),
            "status": d.status,
            "summary": d.summary,
            "rationale": d.rationale,
            "requested_by": d.requested_by,
            "prediction": prediction_of(d),
            "actual": against_actual(prediction_of(d) or {}, scores),
        }
        for d in decisions
    ]


def totals(
    session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api"
) -> dict[str, list[tuple[datetime, float]]]:
    """The person's PHQ-9 and GAD-7 totals in time order (an audited read)."""
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    codes = {(instruments()[m].total.system, instruments()[m].total.code): m for m in MEASURES}
    rows = session.execute(
        select(Observation.system, Observation.code, Observation.effective_at, Observation.value).where(
            Observation.person_id == person_id, Observation.code.in_([c for _, c in codes])
        )
    ).all()
    audit.append(
        session, principal.actor, "read", "Observation", None, person_id, detail={"via": via, "count": len(rows)}
    )
    out: dict[str, list[tuple[datetime, float]]] = {m: [] for m in MEASURES}
    for system, code, t, v in rows:
        if v is not None and (system, code) in codes:
            out[codes[(system, code)]].append((t, float(v)))
    return {m: sorted(v) for m, v in out.items()}


def prediction_of(d: Decision) -> dict[str, Any] | None:
    """The prediction a decision keeps (None for a decision made without choosing from the options)."""
    found = (d.based_on or {}).get("prediction")
    return found if isinstance(found, dict) else None
