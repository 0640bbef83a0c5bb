"""Loading a generated service into the database.

People go through the same import rule as real data (``upsert_person``) and every observation through the
store pipeline (``pipeline.record``: safety first, then the statistical rules); the questionnaire response
records and encounters beside them are bulk-inserted. The demo window ends at 08:00 today (or now, if that is
earlier): anything the generator places later (future sessions, follow-ups) is left out, and episodes still
running are open. Ground truth is never loaded."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.alerts.model import Alert
from idiograph.baselines import service as baseline_service
from idiograph.db import bulk_insert, transaction
from idiograph.errors import Conflict
from idiograph.instruments.definitions import instruments
from idiograph.measures.model import QuestionnaireResponseRecord
from idiograph.measures.scoring import score
from idiograph.monitoring.recovery import not_on_track
from idiograph.observations.recording import Unanswered
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.patients.demographics import DEMOGRAPHIC_FIELDS
from idiograph.patients.identity import GENERATED_SOURCES, upsert_person
from idiograph.patients.model import Encounter, Episode, Person, PersonIdentifier
from idiograph.pipeline import record
from idiograph.security import audit
from idiograph.security.model import User
from idiograph.security.principal import Principal
from idiograph.security.service import create_user
from idiograph.security.teams import team_by_name
from idiograph.synth.generator import Generated, Service, generate_person, generate_service
from idiograph.synth.params import Params
from idiograph.synth.workers import pool as workers_pool

DEMO_PASSWORD = "demo-password-1"
STAFF = (  # username, role, display name, team names
    ("clin.north", "clinician", "Dr Amara Okafor", ("North Talking Therapies",)),
    ("cc.north", "care_coordinator", "Sam Whitfield", ("North Talking Therapies",)),
    ("clin.south", "clinician", "Priya Raman", ("South Talking Therapies",)),
    ("cmht.cc", "care_coordinator", "Joe Brennan", ("Community Mental Health Team",)),
    ("crisis", "crisis_team", "Crisis Resolution Team", ()),
    (
        "senior",
        "senior_clinician",
        "Dr Helen Marsh",
        ("North Talking Therapies", "South Talking Therapies", "Community Mental Health Team"),
    ),
    (
        "lead",
        "service_lead",
        "Kevin Doyle",
        ("North Talking Therapies", "South Talking Therapies", "Community Mental Health Team"),
    ),
    ("commissioner", "commissioner", "ICB Commissioner", ()),
    ("admin", "admin", "System Administrator", ()),
)
DEVICE_DAYS = 120  # the demo keeps this much wearable history per person


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count(Person.id)))


SYNTHETIC_SOURCES = f"{GENERATED_SOURCES}%"  # the identifier systems of generated people (imports may not use them)


def people_not_generated(session: Session) -> int:
    """People in the database that no synthetic load made (no identifier from a synthetic source)."""
    generated = select(PersonIdentifier.person_id).where(PersonIdentifier.system.like(SYNTHETIC_SOURCES))
    return session.scalar(select(func.count(Person.id)).where(Person.id.not_in(generated))) or 0


def load_staff(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The demo's staff accounts (one transaction; existing ones are left as they are)."""
    with transaction(session):
        for username, role, name, teams in STAFF:
            if session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(session, principal, username, role, DEMO_PASSWORD, name, list(teams))
    return [(u, r) for u, r, _, _ in STAFF]


def demo_params(params: Params, today: date) -> Params:
    """The same service, shifted so that its referral window ends a month before today."""
    start = today - timedelta(days=params.window.days + 30)
    return params.model_copy(update={"window": params.window.model_copy(update={"start": start})})


def _uuid(text: str | None) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


def _batch(args: tuple[Params, Service, int, list[int]]) -> list[Generated]:
    params, service, seed, idx = args
    return [generate_person(params, service, seed, i) for i in idx]


def _generated(
    params: Params, service: Service, seed: int, indices: list[int], batch: int
) -> Iterator[list[Generated]]:
    """Batches of generated people, the next one made in a worker process while this one is stored."""
    parts = [indices[a : a + batch] for a in range(0, len(indices), batch)]
    if len(parts) < 3:
        for part in parts:
            yield _batch((params, service, seed, part))
        return
    with workers_pool(1) as pool:
        ahead = pool.submit(_batch, (params, service, seed, parts[0]))
        for k in range(len(parts)):
            current = ahead.result()
            if k + 1 < len(parts):
                ahead = pool.submit(_batch, (params, service, seed, parts[k + 1]))
            yield current


def load_people(
    session: Session,
    principal: Principal,
    params: Params,
    service: Service,
    seed: int,
    indices: Iterable[int],
    now: datetime,
    progress: Progress | None = None,
    batch: int = 100,
) -> int:
    """Store generated people (idempotent: their ids make a second load change nothing)."""
    source = f"synth:{seed}"
    id_system = f"urn:idiograph:source:{source}"
    insts = instruments()
    indices = list(indices)
    task = progress.add_task("loading people", total=len(indices)) if progress else None
    now64 = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    device_from = now64 - np.timedelta64(DEVICE_DAYS, "D")
    for people in _generated(params, service, seed, indices, batch):
        with transaction(session):
            teams = {t["team_id"]: team_by_name(session, t["name"], create=True).id for t in service.teams}
            codes = CodeBook(session)
            rows: list[NewObservation] = []
            qr_rows: list[dict[str, object]] = []
            unanswered: list[Unanswered] = []
            encounters: list[dict[str, object]] = []
            entries: list[audit.Entry] = []
            known_qr = set(
                session.scalars(
                    select(QuestionnaireResponseRecord.source_id).where(
                        QuestionnaireResponseRecord.source == source,
                        QuestionnaireResponseRecord.person_id.in_(
                            [uuid.UUID(g.tables["people"][0]["person_id"]) for g in people]
                        ),
                    )
                )
            )
            for g in people:
                p = g.tables["people"][0]
                fields = {k: p[k] for k in DEMOGRAPHIC_FIELDS if k in p}
                person, status = upsert_person(
                    session,
                    principal,
                    fields,
                    [(id_system, p["person_id"])],
                    teams[p["team_id"]],
                    person_id=uuid.UUID(p["person_id"]),
                )
                if status != "unchanged":
                    action = "create" if status == "created" else "update"
                    entries.append(audit.Entry(action, "Person", str(person.id), person.id, None, {"via": "demo"}))
                e = g.tables["episodes"][0]
                ep_id = uuid.UUID(e["episode_id"])
                if session.get(Episode, ep_id) is None:
                    ended = e["discharge_date"] <= now.date()
                    session.add(
                        Episode(
                            id=ep_id,
                            person_id=person.id,
                            team_id=teams[e["team_id"]],
                            referral_date=e["referral_date"],
                            referral_source=e["referral_source"],
                            presenting_problem=e["presenting_problem"],
                            pathway=e["pathway"],
                            discharge_date=e["discharge_date"] if ended else None,
                            discharge_reason=e["discharge_reason"] if ended else None,
                            source=source,
                            source_id=e["episode_id"],
                        )
                    )
                    for a in g.tables.get("appointments", []):
                        if a["status"] == "attended" and a["start"] <= now:
                            encounters.append(
                                {
                                    "id": _uuid(a["appointment_id"]),
                                    "person_id": person.id,
                                    "status": "finished",
                                    "class_code": "AMB",
                                    "start": a["start"],
                                    "end": a["start"] + timedelta(minutes=50),
                                    "source": source,
                                    "source_id": a["appointment_id"],
                                    "type_display": f"{a['kind']} ({a['format']}, {a['place']})",
                                }
                            )
                answers: dict[str, dict[str, int]] = {}
                o = g.observations
                values = np.concatenate(o["value"]) if o else np.empty(0)
                times = np.concatenate(o["time"]) if o else np.empty(0, dtype="datetime64[us]")
                keep = times <= now64
                keep &= ~((np.asarray(o["kind"]) == "device") & (times < device_from)) if o else keep
                when = times.tolist()  # naive UTC datetimes, converted once
                for k in np.flatnonzero(keep).tolist():
                    rid = o["response_id"][k]
                    if rid is not None:
                        if o["kind"][k] == "questionnaire-item":
                            answers.setdefault(rid, {})[o["code"][k]] = int(values[k])
                        continue
                    rows.append(
                        NewObservation(
                            person.id,
                            o["system"][k],
                            o["code"][k],
                            float(values[k]),
                            o["unit"][k],
                            when[k].replace(tzinfo=UTC),
                            source,
                        )
                    )
                for r in g.tables.get("responses", []):
                    if r["authored"] > now or r["response_id"] in known_qr:
                        continue
                    inst = insts[r["instrument"]]
                    result = score(inst, answers[r["response_id"]])
                    group = uuid.UUID(r["response_id"])
                    qr_rows.append(
                        {
                            "id": group,
                            "person_id": person.id,
                            "instrument": inst.id,
                            "authored_at": r["authored"],
                            "status": "completed",
                            "total": result.total,
                            "prorated": result.prorated,
                            "safety_unanswered": list(result.safety_unanswered),
                            "source": source,
                            "source_id": r["response_id"],
                        }
                    )
                    unanswered += [
                        Unanswered(person.id, group, inst.id, code, r["authored"], f"{source}|{r['response_id']}")
                        for code in result.safety_unanswered
                    ]
                    episode = ep_id
                    for code, v in answers[r["response_id"]].items():
                        rows.append(
                            NewObservation(
                                person.id,
                                "http://loinc.org",
                                code,
                                float(v),
                                "{score}",
                                r["authored"],
                                source,
                                f"{r['response_id']}#{code}",
                                episode,
                                group,
                            )
                        )
                    if result.total is not None:
                        rows.append(
                            NewObservation(
                                person.id,
                                inst.total.system,
                                inst.total.code,
                                float(result.total),
                                "{score}",
                                r["authored"],
                                source,
                                f"{r['response_id']}#{inst.total.code}",
                                episode,
                                group,
                            )
                        )
            session.flush()
            audit.append_many(session, principal.actor, entries)
            bulk_insert(session, QuestionnaireResponseRecord.__table__, qr_rows)
            if encounters:
                have = set(
                    session.scalars(
                        select(Encounter.source_id).where(
                            Encounter.source == source, Encounter.source_id.in_([x["source_id"] for x in encounters])
                        )
                    )
                )
                new = [x for x in encounters if x["source_id"] not in have]
                bulk_insert(session, Encounter.__table__, [{"type_system": None, "type_code": None, **x} for x in new])
            record(session, principal.actor, codes, rows, unanswered=unanswered, audit_detail={"via": "demo"})
            _close_historical_alerts(
                session, principal, [uuid.UUID(g.tables["people"][0]["person_id"]) for g in people], now
            )
        if progress and task is not None:
            progress.advance(task, len(people))
    return len(indices)


def _close_historical_alerts(
    session: Session, principal: Principal, person_ids: list[uuid.UUID], now: datetime
) -> None:
    """Safety, deviation and relapse alerts about results older than two weeks in the demo were dealt with at
    the time: close them, audited."""
    cutoff = now - timedelta(days=14)
    entries = []
    kinds = ("safety", "safety-unanswered", "deviation", "relapse")
    for a in session.scalars(
        select(Alert).where(Alert.person_id.in_(person_ids), Alert.kind.in_(kinds), Alert.status == "raised")
    ):
        if datetime.fromisoformat(str(a.detail["time"])) < cutoff:
            a.status, a.action_note = "closed", "Historical answer in the demo data: reviewed at the time."
            a.seen_by = a.acted_by = a.closed_by = principal.username
            a.seen_at = a.acted_at = a.closed_at = now
            entries.append(audit.Entry("closed", "Alert", str(a.id), a.person_id, None, {"via": "demo"}))
    audit.append_many(session, principal.actor, entries)


def load_demo(
    session: Session, people: int, seed: int, params: Params, today: date, progress: Progress | None = None
) -> list[tuple[str, str]]:
    real = people_not_generated(session)
    if real:
        # The demo runs as the operator (it may write any record) and refits the service's models on what it
        # loads: into a database with real people it would mix made-up people with them, and could update one
        # who carries a test-range NHS number. It loads only into a database of its own.
        raise Conflict(
            f"this database holds {real} people the demo did not make; the demo loads only into a database of "
            "its own (set IDIOGRAPH_DATABASE_URL to another database)"
        )
    system = Principal.system("demo")
    staff = load_staff(session, system)
    shifted = demo_params(params, today)
    service = generate_service(shifted, people, seed)
    now = min(datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=8), datetime.now(UTC))
    now = max(now, datetime.combine(today, datetime.min.time(), UTC))  # a ``today`` still to come: its midnight
    load_people(session, system, shifted, service, seed, range(people), now, progress)
    with transaction(session):
        # The service's own finished episodes give the expected-recovery models; open episodes are then
        # judged once, as they would have been score by score.
        not_on_track.fit(session, system.actor)
        not_on_track.judge_open(session, system.actor)
        # Personal baselines: priors from the service's own results, then each person's latest result judged.
        baseline_service.fit_priors(session, system.actor, today, raise_latest=True)
        flagged = list(session.scalars(select(Alert.person_id).where(Alert.kind == "deviation").distinct()))
        _close_historical_alerts(session, system, flagged, now)
    return staff
