"""Storing a generated service through the same service layer as real data, with progress shown."""

from __future__ import annotations

from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.db import transaction
from idiograph.measures.definitions import LOINC, instruments
from idiograph.measures.responses import record_response
from idiograph.observations.service import CodeBook, NewObservation, store
from idiograph.patients.demographics import DEMOGRAPHIC_FIELDS
from idiograph.patients.identity import upsert_person
from idiograph.patients.model import Episode, Person
from idiograph.patients.service import team_by_name
from idiograph.security import audit
from idiograph.security.model import User
from idiograph.security.principal import Principal
from idiograph.security.service import create_user
from idiograph.synth.demo import DEMO_PASSWORD, STAFF, TEAMS, DemoPerson

SOURCE = "demo"


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count(Person.id)))


def load_staff(session: Session, principal: Principal) -> list[tuple[str, str]]:
    made = []
    for username, role, name, teams in STAFF:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, principal, username, role, DEMO_PASSWORD, name, list(teams))
        made.append((username, role))
    return made


def load_people(
    session: Session, principal: Principal, people: list[DemoPerson], progress: Progress | None = None, batch: int = 100
) -> int:
    """Idempotent: the demo's own identifiers make a second load change nothing."""
    insts = instruments()
    task = progress.add_task("loading demo people", total=len(people)) if progress else None
    stored = 0
    for start in range(0, len(people), batch):
        with transaction(session):
            teams = {t: team_by_name(session, t, create=True).id for t in TEAMS}
            codes = CodeBook(session)
            rows: list[NewObservation] = []
            for p in people[start : start + batch]:
                fields = {k: getattr(p, k) for k in DEMOGRAPHIC_FIELDS if hasattr(p, k)}
                person, status = upsert_person(
                    session, fields, [(f"urn:idiograph:source:{SOURCE}", p.ref)], teams[p.episode.team]
                )
                ep = session.scalar(select(Episode).where(Episode.source == SOURCE, Episode.source_id == p.ref))
                if ep is None:
                    e = p.episode
                    ep = Episode(
                        person_id=person.id,
                        team_id=teams[e.team],
                        referral_date=e.referral_date,
                        referral_source=e.referral_source,
                        presenting_problem=e.presenting_problem,
                        pathway=e.pathway,
                        discharge_date=e.discharge_date,
                        discharge_reason=e.discharge_reason,
                        source=SOURCE,
                        source_id=p.ref,
                    )
                    session.add(ep)
                    session.flush()
                for k, (when, phq, gad) in enumerate(p.episode.sessions):
                    for inst_id, answers in (("phq-9", phq), ("gad-7", gad)):
                        _rec, _score, obs = record_response(
                            session,
                            person.id,
                            insts[inst_id],
                            answers,
                            when,
                            SOURCE,
                            f"{p.ref}/{inst_id}/{k}",
                            episode_id=ep.id,
                        )
                        rows += obs
                rows += [
                    NewObservation(person.id, LOINC, "14334-7", v, "mmol/L", t, SOURCE, f"{p.ref}/li/{t.date()}")
                    for t, v in p.lithium
                ]
                if status != "unchanged":
                    audit.append(
                        session,
                        principal.actor,
                        "create" if status == "created" else "update",
                        "Person",
                        str(person.id),
                        person.id,
                        detail={"via": "demo"},
                    )
                stored += 1
            store(session, principal.actor, codes, rows, audit_detail={"via": "demo"})
        if progress and task is not None:
            progress.advance(task, min(batch, len(people) - start))
    return stored
