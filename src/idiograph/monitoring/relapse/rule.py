"""The relapse rule on the store: each new follow-up score of a discharged person on a relapse instrument runs
their post-discharge CUSUM; a crossing raises one relapse alert per discharged episode, to the team that
discharged them (CLINICAL.md §6)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.alerts.service import NewAlert
from idiograph.instruments.definitions import Instrument, instruments
from idiograph.measures.change import measurement_error
from idiograph.monitoring import settings as monitoring_settings
from idiograph.monitoring.relapse import signal as relapse
from idiograph.observations import display
from idiograph.observations.catalogue import SCORE_UNIT
from idiograph.observations.model import Observation
from idiograph.observations.service import StoredRow
from idiograph.patients.model import Episode
from idiograph.security.model import Team

TITLE = "Early relapse signal after discharge"


def _instruments() -> dict[tuple[str, str], Instrument]:
    cfg = monitoring_settings.load().relapse
    return {(instruments()[i].total.system, instruments()[i].total.code): instruments()[i] for i in cfg.instruments}


def applies(rows: Sequence[StoredRow]) -> bool:
    """Whether any row is a total of a relapse instrument (else the rule has nothing to judge)."""
    insts = _instruments()
    return any((r.system, r.code) in insts for r in rows)


def findings(session: Session, rows: Sequence[StoredRow]) -> list[NewAlert]:
    """For each new follow-up score on a relapse instrument, run the person's post-discharge CUSUM."""
    cfg = monitoring_settings.load().relapse
    insts = _instruments()
    touched = {(r.person_id, (r.system, r.code)) for r in rows if (r.system, r.code) in insts}
    out: list[NewAlert] = []
    for pid, key in sorted(touched):
        inst = insts[key]
        eps = list(session.scalars(select(Episode).where(Episode.person_id == pid)))
        if not eps or any(e.discharge_date is None for e in eps):
            continue
        ep = max(eps, key=lambda e: e.discharge_date or date.min)
        assert ep.discharge_date is not None
        q = select(Observation.effective_at, Observation.value).where(
            Observation.person_id == pid, Observation.system == key[0], Observation.code == key[1]
        )
        scores = [(t, v) for t, v in session.execute(q)]
        sem = measurement_error(inst)
        if sem is None:
            raise ValueError(f"{inst.id} has no reliable-change inputs, so no relapse rule")
        signal = relapse.after_discharge(
            scores, ep.discharge_date, sem, cfg.baseline_scores, cfg.k, cfg.arl0, cfg.follow_up_days
        )
        if signal is None:
            continue
        team_row = session.get(Team, ep.team_id) if ep.team_id is not None else None
        team = team_row.name if team_row else None
        detail: dict[str, object] = {
            "instrument": inst.title,
            "score": signal.score,
            "time": signal.time.isoformat(),
            "baseline": round(signal.baseline, 2),
            "sigma": round(signal.sigma, 3),
            "statistic": round(signal.statistic, 3),
            "h": round(signal.h, 3),
            "k": signal.k,
            "arl0": signal.arl0,
            "episode_id": str(ep.id),
            "team_id": str(ep.team_id) if ep.team_id else None,
            "team": team,
            "discharged": ep.discharge_date.isoformat(),
            "method": "upper CUSUM on follow-up scores from the recovered baseline",
        }
        name = inst.id.upper()
        detail["workings"] = (
            f"An upper CUSUM on follow-up scores, standardised by the recovered baseline {detail['baseline']} "
            f"(the last {cfg.baseline_scores} scores up to discharge; measurement error {detail['sigma']}), reached "
            f"{detail['statistic']}, above its limit h {detail['h']} (reference value k {signal.k}; in-control "
            f"average run length {signal.arl0:g} follow-up scores between false alarms)."
        )
        reason = (
            f"{name} has risen since discharge: {display.number(signal.score, SCORE_UNIT)} on "
            f"{display.day(signal.time)}, up from about {display.number(signal.baseline, SCORE_UNIT, 0)} when they "
            f"left treatment. Discharged by {team or 'the team'} on {display.day(ep.discharge_date)}."
        )
        out.append(NewAlert(pid, Kind.RELAPSE, TITLE, reason, source_key(pid, key[1], ep.discharge_date), detail))
    return out


def source_key(person_id: uuid.UUID, code: str, discharged: date) -> str:
    """One relapse alert per discharged episode and instrument: the key uses the discharge date."""
    return f"relapse:{person_id}:{code}:{datetime.combine(discharged, datetime.min.time(), UTC).isoformat()}"
