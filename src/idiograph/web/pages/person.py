"""A person's record: measures with their charts, baselines, alerts, reviews, decisions; break-the-glass."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from idiograph.adaptive import banks as adaptive_banks
from idiograph.alerts import service as alert_service
from idiograph.baselines import service as baseline_service
from idiograph.baselines.measure import MeasureBaseline
from idiograph.db import utcnow
from idiograph.errors import DomainError
from idiograph.governance import service as governance_service
from idiograph.instruments.definitions import instruments
from idiograph.intake import service as intake_service
from idiograph.intake.definition import definition as intake_definition
from idiograph.measures import service as measures
from idiograph.measures.change import changes_from
from idiograph.measures.experience import forms as experience_forms
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.monitoring.recovery import not_on_track
from idiograph.monitoring.reviews import service as review_service
from idiograph.observations import service as observations
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook
from idiograph.patients import coordinator
from idiograph.patients import service as patients
from idiograph.patients.access import can_open
from idiograph.patients.model import Episode
from idiograph.pipeline import holds
from idiograph.security.deps import DB, require
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission
from idiograph.web.charts import BaselineBand, ExpectedBand, Series, measure_figure
from idiograph.web.pages import chosen
from idiograph.web.pages import person_header as header
from idiograph.web.render import london, refused, render

router = APIRouter(include_in_schema=False)


@router.get("/people/{person_id}")
def person_page(
    request: Request,
    person_id: uuid.UUID,
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_READ)),
) -> HTMLResponse:
    if not can_open(db, p, person_id):
        return render(
            request,
            "break_glass.html",
            403,
            person_id=person_id,
            can_break_glass=p.can(Permission.BREAK_GLASS),
            error=None,
        )
    person = patients.get_person(db, p, person_id, via="web")
    episodes = patients.list_episodes(db, p, person_id)
    obs = observations.for_person(db, p, person_id, via="web")
    codes = observations.CodeBook(db)
    grouped: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    items: dict[tuple[str, str], tuple[datetime, float]] = {}
    for o in obs:
        c = codes.get(o.system, o.code)
        if c is not None and c.kind == "questionnaire-item":
            items[(o.system, o.code)] = (o.effective_at, o.value)
            continue
        grouped[(o.system, o.code)].append((o.effective_at, o.value))
    bands = _expected_bands(db, episodes)
    baselines = baseline_service.for_person(db, p, person_id, via="web")
    baseline_bands = {(b.system, b.code): _baseline_band(b) for b in baselines}
    figures = []
    in_treatment = any(e.discharge_date is None for e in episodes)
    decisions = governance_service.decisions_for(db, p, person_id, via="web")
    chosen_bands = chosen.bands(decisions) if in_treatment else {}
    caseness = {(i.total.system, i.total.code): i.caseness.min for i in instruments().values() if i.caseness}
    for (system, code), points in sorted(grouped.items(), key=lambda kv: kv[1][-1][0], reverse=True):
        c = codes.get(system, code)
        figures.append(
            measure_figure(
                Series(
                    code,
                    c.name if c else code,
                    c.unit if c else "",
                    c.kind if c else "",
                    points,
                    c.min if c else None,
                    c.max if c else None,
                    bands.get((system, code), ()),
                    baseline_bands.get((system, code)),
                    caseness.get((system, code)),
                    in_treatment,
                    chosen_bands.get((system, code)),
                )
            )
        )
    latest_items = [(codes.display(s, c), t, v) for (s, c), (t, v) in items.items()]
    responses = measures.recent_responses(db, p, person_id)
    open_alerts = alert_service.grouped(alert_service.for_person(db, p, person_id, open_only=True, via="web"))
    reviews = review_service.for_person(db, p, person_id)
    return render(
        request,
        "person.html",
        alerts=open_alerts,
        changes=changes_from((o.system, o.code, o.effective_at, o.value) for o in obs),
        instruments=list(instruments().values()),
        links=measures.links_for_person(db, p, person_id),
        adaptive_forms=measures.adaptive_instruments(),
        experience_forms=experience_forms().forms,
        adaptive_cuts={i: adaptive_banks.default_rule(i).cut for i in measures.adaptive_instruments()},
        stop_words=measures.stop_words,
        responses=responses,
        means=_means(responses, obs, codes),
        mean_scored={
            i.id: f"mean {i.min_total}-{i.max_total}, higher is better" if i.higher_is_better else "mean"
            for i in instruments().values()
            if i.scoring == "mean"
        },
        reviews=reviews,
        header=header.for_person(db, p, person_id, open_alerts, reviews),
        now=utcnow(),
        person=person,
        episodes=episodes,
        figures=figures,
        baselines=baselines,
        decisions=decisions,
        actuals=chosen.actuals(decisions, chosen.scores_by_measure(grouped)),
        escalations=governance_service.escalations_by_decision(db, p, person_id, [d.id for d in decisions]),
        latest_items=latest_items,
        paused=holds.paused_for(db, person_id),
        n_obs=len(obs),
        in_treatment=in_treatment,
        intake=intake_service.read(db, p, person_id, via="web"),
        intake_sections=intake_definition().sections,
        london=london,
    )


def _means(
    responses: list[tuple[QuestionnaireResponseRecord, Any, Any]], obs: list[Observation], codes: CodeBook
) -> dict[uuid.UUID, list[tuple[str, float | None]]]:
    """A mean-scored response's means (DIALOG: quality of life, treatment satisfaction) from its stored observations,
    by response id: its record holds no total, as a mean is not a whole-number total (None: not scored)."""
    insts = instruments()
    wanted = {r.id: insts[r.instrument] for r, _, _ in responses if r.instrument in insts and not r.adaptive}
    wanted = {k: i for k, i in wanted.items() if i.scoring == "mean"}
    if not wanted:
        return {}
    values = {(o.group_id, o.system, o.code): o.value for o in obs if o.group_id in wanted}
    out: dict[uuid.UUID, list[tuple[str, float | None]]] = {}
    for rid, inst in wanted.items():
        keys = [(inst.total.system, inst.total.code), *((s.code.system, s.code.code) for s in inst.subscales)]
        out[rid] = [(codes.display(sys_, code), values.get((rid, sys_, code))) for sys_, code in keys]
    return out


def _baseline_band(b: MeasureBaseline) -> BaselineBand | None:
    iv = b.personal or b.population
    if iv is None:
        return None
    pop = (b.population.lower, b.population.upper) if b.population is not None else None
    return BaselineBand(iv.setpoint, iv.lower, iv.upper, iv.coverage, iv.method, iv.personal, pop, b.n)


def _expected_bands(db: Session, episodes: list[Episode]) -> dict[tuple[str, str], list[ExpectedBand]]:
    """The expected course and boundary of the open (else the latest) episode, per modelled instrument."""
    if not episodes:
        return {}
    episode = next((e for e in episodes if e.discharge_date is None), None) or max(
        episodes, key=lambda e: e.referral_date
    )
    return {
        code: [ExpectedBand(label, points) for label, points in bands]
        for code, bands in not_on_track.episode_bands(db, episode).items()
    }


@router.post("/people/{person_id}/break-glass")
def break_glass(
    request: Request,
    person_id: uuid.UUID,
    reason: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.BREAK_GLASS)),
) -> Response:
    try:
        patients.break_glass(db, p, person_id, reason, request.app.state.settings.break_glass_minutes)
    except DomainError as exc:
        db.rollback()  # nothing of the refused request is kept
        return render(
            request, "break_glass.html", exc.status, person_id=person_id, can_break_glass=True, error=str(exc)
        )
    return RedirectResponse(f"/people/{person_id}", 303)


@router.post("/people/{person_id}/care-coordinator")
def set_care_coordinator(
    request: Request,
    person_id: uuid.UUID,
    user_id: str = Form(""),
    db: Session = DB,
    p: Principal = Depends(require(Permission.PERSON_WRITE)),
) -> Response:
    try:
        chosen = uuid.UUID(user_id) if user_id else None
    except ValueError:
        chosen = uuid.UUID(int=0)  # not a user: refused below with the field named
    try:
        coordinator.assign(db, p, person_id, chosen)
    except DomainError as exc:
        db.rollback()
        return refused(request, person_id, exc)
    return RedirectResponse(f"/people/{person_id}#summary", 303)
