"""Fitting the expected-recovery models on the service's own finished episodes, and judging each new
score of an open episode against them: a score above the boundary raises a not-on-track alert with the
numbers behind it (CLINICAL.md §5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.alerts.service import NewAlert, raise_many
from idiograph.db import chunked
from idiograph.instruments.definitions import instruments
from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.recovery import courses
from idiograph.monitoring.recovery.expected import CurveModel, Expectation, Judgement, NeighbourModel
from idiograph.monitoring.recovery.model import RecoveryModel
from idiograph.observations import service as observations
from idiograph.patients.model import Episode
from idiograph.security import audit
from idiograph.security.audit import Actor

Model = CurveModel | NeighbourModel
_CACHE: dict[uuid.UUID, Model] = {}


@dataclass(frozen=True)
class Fitted:
    instrument: str
    kind: str
    n_episodes: int
    model_id: uuid.UUID


def fit(session: Session, actor: Actor, progress: Callable[[str], None] | None = None) -> list[Fitted]:
    """Fit both models for every configured instrument on finished episodes; the new ones become active.
    An instrument without enough finished episodes keeps its previous models (reported, not fatal)."""
    cfg = monitoring_settings.load().not_on_track
    out = []
    for inst in cfg.instruments:
        if progress:
            progress(f"reading finished episodes for {inst}")
        eps = courses.from_db(session, inst)
        train = [e.course() for e in eps]
        fitted: list[tuple[str, int, dict[str, object], bytes | None]] = []
        try:
            curve = CurveModel.fit(train, cfg.tail)
            fitted.append(("curve", curve.n_episodes, curve.to_params(), None))
            nn = NeighbourModel.fit(train, cfg.neighbours, cfg.tail)
            fitted.append(("nn", nn.n_episodes, {"k": nn.k, "tail": nn.tail}, nn.to_bytes()))
        except ValueError as exc:
            if progress:
                progress(f"{inst}: {exc}")
        for kind, n, params, blob in fitted:
            session.execute(
                update(RecoveryModel)
                .where(RecoveryModel.instrument == inst, RecoveryModel.kind == kind)
                .values(active=False)
            )
            rec = RecoveryModel(
                instrument=inst, kind=kind, fitted_by=actor.username, n_episodes=n, params=params, blob=blob
            )
            session.add(rec)
            session.flush()
            audit.append(
                session,
                actor,
                "fit",
                "RecoveryModel",
                str(rec.id),
                None,
                detail={"instrument": inst, "kind": kind, "episodes": n},
            )
            out.append(Fitted(inst, kind, n, rec.id))
    return out


def active(session: Session) -> dict[tuple[str, str], Model]:
    """(instrument, kind) -> the active fitted model, loaded once per process per model."""
    found: dict[tuple[str, str], Model] = {}
    for rec in session.scalars(select(RecoveryModel).where(RecoveryModel.active.is_(True))):
        model = _CACHE.get(rec.id)
        if model is None:
            model = (
                NeighbourModel.from_bytes(rec.blob)
                if rec.kind == "nn" and rec.blob
                else CurveModel.from_params(rec.params)
            )
            _CACHE[rec.id] = model
        found[(rec.instrument, rec.kind)] = model
    return found


@dataclass(frozen=True)
class Verdict:
    instrument: str
    episode: courses.EpisodeScores
    judgements: dict[str, Judgement]  # kind -> judgement of the latest score
    off_track: bool


def decide(rule: str, judgements: dict[str, Judgement]) -> bool:
    flags = [j.off_track for j in judgements.values()]
    if not flags:
        return False
    if rule == "either":
        return any(flags)
    if rule == "both":
        return len(flags) == 2 and all(flags)
    # A rule naming one model falls back to the other when it cannot judge (the neighbour model needs
    # intake GAD-7/PHQ-9 and age): a person missing an intake variable is still watched.
    j = judgements.get(rule) or judgements.get("curve" if rule == "nn" else "nn")
    return bool(j and j.off_track)


def judge(models: dict[tuple[str, str], Model], instrument: str, ep: courses.EpisodeScores) -> Verdict:
    rule = monitoring_settings.load().not_on_track.rule
    judgements = {}
    for kind in ("curve", "nn"):
        m = models.get((instrument, kind))
        if m is None or (kind == "nn" and not ep.features()):
            continue
        j = m.judge(ep.scores, ep.features())
        if j is not None:
            judgements[kind] = j
    return Verdict(instrument, ep, judgements, decide(rule, judgements))


def expected_course(
    models: dict[tuple[str, str], Model], instrument: str, ep: courses.EpisodeScores, ahead: int = 4
) -> dict[str, list[Expectation]]:
    """Each model's expected course and boundary for sessions 2..(scores so far + ahead)."""
    out = {}
    for kind in ("curve", "nn"):
        m = models.get((instrument, kind))
        if m is None or (kind == "nn" and not ep.features()):
            continue
        out[kind] = m.course(ep.scores, ep.features(), len(ep.scores) + ahead)
    return out


Band = tuple[str, list[tuple[datetime, float, float]]]  # (model name, [(time, expected, boundary)])


def episode_bands(session: Session, episode: Episode, ahead: int = 4) -> dict[tuple[str, str], list[Band]]:
    """For each modelled instrument, each active model's expected course and boundary for this episode:
    at the times of its scores after intake, then weekly for ``ahead`` sessions; the rule's model first."""
    models = active(session)
    if not models:
        return {}
    cfg = monitoring_settings.load().not_on_track
    order = ("nn", "curve") if cfg.rule == "nn" else ("curve", "nn")
    out: dict[tuple[str, str], list[Band]] = {}
    for inst_id in cfg.instruments:
        found = courses.for_episodes(session, [episode], inst_id)
        if not found:
            continue
        ep = found[0]
        by_kind = expected_course(models, inst_id, ep, ahead)
        times = list(ep.times[1:])
        bands = []
        for kind in order:
            course = by_kind.get(kind)
            if not course:
                continue
            when = times + [ep.times[-1] + timedelta(weeks=j + 1) for j in range(len(course) - len(times))]
            bands.append((NAMES[kind], [(t, e.expected, e.upper) for t, e in zip(when, course, strict=True)]))
        inst = instruments()[inst_id]
        out[(inst.total.system, inst.total.code)] = bands
    return out


NAMES = {"curve": "expected-recovery curve (Finch/Lambert)", "nn": "nearest-neighbour course (Lutz)"}


RULES = {
    "nn": "the nearest-neighbour course decides (the curve when it cannot judge)",
    "curve": "the expected-recovery curve decides (the nearest-neighbour course when it cannot judge)",
    "either": "a score above either boundary is not on track",
    "both": "a score above both boundaries is not on track",
}


def reasons(v: Verdict) -> str:
    """The alert's reason in plain words: where the score is against where most people starting there are by now.
    The models and their numbers are in ``workings(v)``."""
    inst = instruments()[v.instrument]
    scores = v.episode.scores
    j = next((j for j in v.judgements.values() if j.off_track), None) or next(iter(v.judgements.values()))
    now = f"{inst.id.upper()} is {scores[-1]:g} at session {len(scores)}, started at {scores[0]:g}"
    return (
        f"{now}: not improving as expected. By now people who started where they did usually score about "
        f"{j.expected:.0f}; a score above {j.upper:.1f} is not on track."
    )


def workings(v: Verdict) -> str:
    """How the alert was worked out: each model's expected score and boundary, and the rule that decides."""
    cfg = monitoring_settings.load().not_on_track
    parts = []
    for kind, j in v.judgements.items():
        verb = "above" if j.off_track else "within"
        parts.append(f"{NAMES[kind]}: expected {j.expected:.1f}, boundary {j.upper:.1f} ({verb})")
    return (
        f"Scores so far {', '.join(f'{x:g}' for x in v.episode.scores)}. " + "; ".join(parts) + ". "
        f"The boundary is the upper {cfg.tail:.0%} of the expected spread; {RULES.get(cfg.rule, cfg.rule)} "
        "(docs/benchmarks.md gives the rule's detection and false-alarm rates)."
    )


def _totals() -> dict[tuple[str, str], str]:
    cfg = monitoring_settings.load().not_on_track
    return {(instruments()[i].total.system, instruments()[i].total.code): i for i in cfg.instruments}


def applies(rows: Sequence[observations.StoredRow]) -> bool:
    """Whether any row is a total of a modelled instrument (else the rule has nothing to judge)."""
    totals = _totals()
    return any((r.system, r.code) in totals for r in rows)


def findings(session: Session, rows: Sequence[observations.StoredRow]) -> list[NewAlert]:
    """The pipeline's not-on-track rule: judge the open episodes of everyone who just got a score on a modelled
    instrument, and return the alerts to raise."""
    totals = _totals()
    touched: dict[str, set[uuid.UUID]] = {}
    for r in rows:
        inst = totals.get((r.system, r.code))
        if inst is not None:
            touched.setdefault(inst, set()).add(r.person_id)
    if not touched:
        return []
    models = active(session)
    if not models:
        return []
    out: list[NewAlert] = []
    for inst, people in touched.items():
        if not any(k[0] == inst for k in models):
            continue
        eps = _open_episodes(session, people)
        out += episode_alerts(models, inst, courses.for_episodes(session, eps, inst))
    return out


def _open_episodes(session: Session, people: set[uuid.UUID]) -> list[Episode]:
    found: list[Episode] = []
    for ids in chunked(sorted(people)):
        found += session.scalars(select(Episode).where(Episode.person_id.in_(ids), Episode.discharge_date.is_(None)))
    return found


def episode_alerts(
    models: dict[tuple[str, str], Model], instrument: str, episodes: Sequence[courses.EpisodeScores]
) -> list[NewAlert]:
    """One not-on-track alert per off-track episode and instrument (kept one while open by its group key)."""
    verdicts = [v for v in (judge(models, instrument, e) for e in episodes) if v.off_track]
    return [
        NewAlert(
            uuid.UUID(v.episode.person_id),
            Kind.NOT_ON_TRACK,
            f"Not on track on {instrument.upper()}: review the plan",
            reasons(v),
            f"{v.episode.episode_id}|{instrument}|s{len(v.episode.scores)}",
            {
                "episode_id": v.episode.episode_id,
                "instrument": instrument,
                "session": len(v.episode.scores),
                "scores": list(v.episode.scores),
                "judgements": {k: {"expected": j.expected, "upper": j.upper} for k, j in v.judgements.items()},
                "workings": workings(v),
            },
            group_key=f"not-on-track|{v.episode.episode_id}|{instrument}",
        )
        for v in verdicts
    ]


def judge_episodes(
    session: Session,
    actor: Actor,
    models: dict[tuple[str, str], Model],
    instrument: str,
    episodes: Sequence[courses.EpisodeScores],
) -> int:
    """Raise one not-on-track alert per episode and instrument while one is open; returns how many."""
    return len(raise_many(session, actor, episode_alerts(models, instrument, episodes)))


def judge_open(session: Session, actor: Actor) -> int:
    """Judge the latest score of every open episode (after a refit, or after a bulk load)."""
    models = active(session)
    raised = 0
    for inst in monitoring_settings.load().not_on_track.instruments:
        if not any(k[0] == inst for k in models):
            continue
        eps = list(session.scalars(select(Episode).where(Episode.discharge_date.is_(None))))
        raised += judge_episodes(session, actor, models, inst, courses.for_episodes(session, eps, inst))
    return raised
