"""The database as the community outcomes' table (read-only), and the summary over it with its one audit record.

What the database records and how it is read (as ``reporting.referrals_db`` reads the talking-therapies table):

- a referral is an episode; its team's kind is ``kpis.yaml`` ``team_kinds`` by team name (an unnamed or unlisted
  team is kind "unknown", counted with community); only community episodes are read further;
- DIALOG scores are the stored subjective-quality-of-life means (the DIALOG instrument's total code, one
  observation per completed form; a form with a life-domain item missing has none), each counted for every
  episode of the person whose referral date to end date holds its day (UTC, as the KPI table);
- goals are the episode's intake goals with their ratings (``intake_record.goals``): the intake is per episode.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.instruments.definitions import instruments
from idiograph.intake.model import IntakeRecord
from idiograph.observations.model import Observation
from idiograph.patients.model import Episode
from idiograph.reporting import community_outcomes
from idiograph.reporting.community_outcomes import CommunityReferral
from idiograph.reporting.disclosure import DEFAULT, DisclosureConfig
from idiograph.reporting.kpis import Definitions, definitions
from idiograph.reporting.team_kinds import team_kinds
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def community_table(session: Session, defs: Definitions | None = None) -> list[CommunityReferral]:
    """Every community episode with its person's DIALOG means and its intake goals, in referral order. Reads
    person-level data: the caller checks permission and audits (``summary`` does both)."""
    d = defs or definitions()
    talking = set(d.talking_therapies_kinds)
    kinds = team_kinds(session, d)
    episodes = [
        e
        for e in session.execute(
            select(Episode.id, Episode.person_id, Episode.team_id, Episode.referral_date, Episode.discharge_date)
        )
        if (kinds.get(e.team_id, "unknown") if e.team_id else "unknown") not in talking
    ]
    people = sorted({e.person_id for e in episodes})
    total = instruments()["dialog"].total
    dialog: dict[uuid.UUID, list[tuple[Any, float]]] = defaultdict(list)
    goals: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for i in range(0, len(people), 1000):
        chunk = people[i : i + 1000]
        for pid, at, value in session.execute(
            select(Observation.person_id, Observation.effective_at, Observation.value).where(
                Observation.person_id.in_(chunk), Observation.system == total.system, Observation.code == total.code
            )
        ):
            dialog[pid].append((at, value))
    ids = [e.id for e in episodes]
    for i in range(0, len(ids), 1000):
        for eid, recorded in session.execute(
            select(IntakeRecord.episode_id, IntakeRecord.goals).where(IntakeRecord.episode_id.in_(ids[i : i + 1000]))
        ):
            goals[eid] = list(recorded or [])
    out = [
        CommunityReferral(
            str(e.id),
            kinds.get(e.team_id, "unknown") if e.team_id else "unknown",
            e.referral_date,
            e.discharge_date,
            tuple((at.date(), float(v)) for at, v in sorted(dialog.get(e.person_id, []), key=lambda s: s[0])),
            tuple(goals.get(e.id, [])),
        )
        for e in episodes
    ]
    out.sort(key=lambda r: (r.referral_date, r.referral_id))
    return out


def summary(
    session: Session,
    principal: Principal,
    start: date,
    end: date,
    via: str = "api",
    config: DisclosureConfig = DEFAULT,
) -> dict[str, Any]:
    """DIALOG and Goal-Based Outcomes paired-score coverage and change for community referrals ended in
    ``start``..``end`` (``reporting.community_outcomes.summary``), for anyone with ``service:summary``; one audit
    record of the read (aggregate: no person named), ``via`` naming the page, CSV, JSON or CLI that asked."""
    principal.require(Permission.SERVICE_SUMMARY)
    table = community_table(session)
    doc = community_outcomes.summary(table, start, end, config=config)
    _audit(session, principal, start, end, len(table), via)
    return doc


def section(session: Session, start: date, end: date, config: DisclosureConfig = DEFAULT) -> dict[str, Any]:
    """The same summary as a section of the KPI document: the caller has checked ``service:summary`` and its one
    audit record of the document covers this read (a page reads one snapshot and audits once)."""
    return community_outcomes.summary(community_table(session), start, end, config=config)


def _audit(session: Session, principal: Principal, start: date, end: date, referrals: int, via: str) -> None:
    audit.append(
        session,
        principal.actor,
        "read",
        "CommunityOutcomes",
        None,
        None,
        detail={"from": start.isoformat(), "to": end.isoformat(), "referrals": referrals, "via": via},
    )
