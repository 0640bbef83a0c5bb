"""Loading a generated service into the database.

People go through the same import rule as real data (``upsert_person``) and every observation through the
store pipeline (``pipeline.record``: safety first, then the statistical rules); the questionnaire response
records and encounters beside them are bulk-inserted. The demo window ends at 08:00 today (or now, if that is
earlier): anything the generator places later is left out (sessions in the next three weeks are loaded as booked
appointments), and episodes still running are open. Ground truth is never loaded. Then the care a team would have
recorded (``demo_care``) is written through the services as the demo's staff."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from rich.progress import Progress
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from idiograph.alerts.model import Alert
from idiograph.baselines import service as baseline_service
from idiograph.care.model import Appointment
from idiograph.db import bulk_insert, transaction
from idiograph.errors import Conflict, InvalidInput
from idiograph.instruments.definitions import instruments
from idiograph.intake import service as intake_service
from idiograph.intake.definition import definition as intake_definition
from idiograph.intake.model import IntakeRecord
from idiograph.matching import service as matching_service
from idiograph.matching.model import Allocation
from idiograph.measures.model import FULL_FORM, QuestionnaireResponseRecord
from idiograph.measures.scoring import Score, score
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
from idiograph.security.service import create_user, principal_for, set_profession
from idiograph.security.teams import team_by_name
from idiograph.selection import service as selection_service
from idiograph.synth import demo_intake, demo_matching
from idiograph.synth.demo_care import DemoPerson, Staff, Visit, write_care
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
BOOKED_DAYS = 21  # the generator's sessions this far after "now" are loaded as booked appointments
ATTENDANCE = {  # the generator's appointment outcomes in the appointment table's words
    "attended": "attended",
    "dna": "did_not_attend",
    "cancelled_person": "cancelled_by_person",
    "cancelled_service": "cancelled_by_service",
}


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
                if username in demo_intake.PROFESSIONS:
                    professions = intake_definition().professions
                    set_profession(session, principal, username, demo_intake.PROFESSIONS[username], professions)
    return [(u, r) for u, r, _, _ in STAFF]


def _intake(g: Generated, person_id: uuid.UUID, episode: dict[str, Any], team: str, source: str) -> IntakeRecord | None:
    """The person's synthetic intake row as their episode's intake record, each section recorded by the team's
    demo clinician in their profession on the day of assessment."""
    rows = g.tables.get("intake", [])
    if not rows:
        return None
    row = rows[0]
    names = {u: n for u, _, n, _ in STAFF}
    at = demo_intake.assessed_at(row["assessed_on"])
    who = {
        section: intake_service.Contributor(u, names[u], demo_intake.PROFESSIONS.get(u), at)
        for section, u in demo_intake.assessors(team).items()
    }
    answers = demo_intake.sections_of(row, episode["presenting_problem"])
    return intake_service.build_record(
        person_id, uuid.UUID(episode["episode_id"]), answers, who, (source, f"intake:{episode['episode_id']}")
    )


# A crisis presentation is a few hours in an emergency department; an admission a stay whose length is drawn from
# a lognormal with a median of 21 days (adult acute mental health stays are of this order; the demo's choice)
CRISIS_HOURS = 4
STAY_MEDIAN_DAYS, STAY_SIGMA = 21.0, 0.7


def _team(session: Session, name: str, kind: str) -> uuid.UUID:
    """The generated team, made with its kind, or given its kind when staff were put in it first."""
    team = team_by_name(session, name, create=True, kind=kind)
    if team.kind is None:
        team.kind = kind
    return team.id


def crisis_encounters(
    g: Generated, person_id: uuid.UUID, seed: int, index: int, now: datetime, source: str
) -> list[dict[str, object]]:
    """The person's generated crisis presentations (FHIR class EMER) and admissions (IMP, with a discharge unless
    still in hospital at ``now``) as encounters, as a service would import them; stay lengths from a random stream
    of the person's own, so nothing else the demo draws changes."""
    rng = np.random.default_rng([seed, 8, index])
    out: list[dict[str, object]] = []
    for k, ev in enumerate(sorted(g.tables.get("events", []), key=lambda e: e["time"])):
        start = ev["time"]
        if ev["kind"] not in ("crisis_presentation", "admission") or start > now:
            continue
        if ev["kind"] == "crisis_presentation":
            end: datetime | None = start + timedelta(hours=CRISIS_HOURS)
        else:
            days = float(rng.lognormal(np.log(STAY_MEDIAN_DAYS), STAY_SIGMA))
            end = start + timedelta(days=max(1.0, days))
        still = end is not None and end > now
        out.append(
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"idiograph-demo:{ev['person_id']}#event-{k}"),
                "person_id": person_id,
                "status": "in-progress" if still else "finished",
                "class_code": "EMER" if ev["kind"] == "crisis_presentation" else "IMP",
                "start": start,
                "end": None if still else end,
                "source": source,
                "source_id": f"{ev['person_id']}#event-{k}",
                "type_display": "crisis presentation" if ev["kind"] == "crisis_presentation" else "inpatient admission",
            }
        )
    return out


def demo_params(params: Params, today: date) -> Params:
    """The same service, shifted so that its referral window ends a month before today."""
    start = today - timedelta(days=params.window.days + 30)
    return params.model_copy(update={"window": params.window.model_copy(update={"start": start})})


def _uuid(text: str | None) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


def _visit(a: dict[str, object], now: datetime) -> Visit | None:
    """A generated session as the appointment table holds it: its outcome when it is past, booked when it is
    within ``BOOKED_DAYS`` ahead (later ones are not booked yet). A group session is held at the clinic or in
    the community; a remote one is a video or phone call (the generator's "remote, in person" is a video call)."""
    start = a["start"]
    assert isinstance(start, datetime)
    if start > now + timedelta(days=BOOKED_DAYS):
        return None
    place, fmt = str(a["place"]), str(a["format"])
    if a["group"] and place != "remote":
        fmt = "group"
    elif place == "remote" and fmt == "in_person":
        fmt = "video"
    status = ATTENDANCE[str(a["status"])] if start <= now else "booked"
    return Visit(uuid.UUID(str(a["appointment_id"])), start, status, place, fmt)


@dataclass(frozen=True)
class _Ready:
    """A generated person made ready to store, away from the database: the signals (labs, devices) within the
    demo's window as ``NewObservation`` fields after the person's id, each response's answers, and the score of
    every response up to now (the rows themselves without their observations, which these replace)."""

    generated: Generated
    signals: list[tuple[str, str, float, str, datetime]]
    answers: dict[str, dict[str, int]]
    scores: dict[str, Score]


def _ready(g: Generated, now: datetime) -> _Ready:
    now64 = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    device_from = now64 - np.timedelta64(DEVICE_DAYS, "D")
    o, g.observations = g.observations, {}
    answers: dict[str, dict[str, int]] = {}
    signals: list[tuple[str, str, float, str, datetime]] = []
    if o:
        values = np.concatenate(o["value"])
        times = np.concatenate(o["time"])
        keep = (times <= now64) & ~((np.asarray(o["kind"]) == "device") & (times < device_from))
        when = times.tolist()  # naive UTC datetimes, converted once
        for k in np.flatnonzero(keep).tolist():
            rid = o["response_id"][k]
            if rid is None:
                signals.append(
                    (o["system"][k], o["code"][k], float(values[k]), o["unit"][k], when[k].replace(tzinfo=UTC))
                )
            elif o["kind"][k] == "questionnaire-item":
                answers.setdefault(rid, {})[o["code"][k]] = int(values[k])
    insts = instruments()
    scores = {
        r["response_id"]: score(insts[r["instrument"]], answers[r["response_id"]])
        for r in g.tables.get("responses", [])
        if r["authored"] <= now
    }
    return _Ready(g, signals, answers, scores)


def _batch(args: tuple[Params, Service, int, list[int], datetime]) -> list[_Ready]:
    params, service, seed, idx, now = args
    return [_ready(generate_person(params, service, seed, i), now) for i in idx]


def _generated(
    params: Params, service: Service, seed: int, indices: list[int], batch: int, now: datetime
) -> Iterator[list[_Ready]]:
    """Batches of generated people, the next one made (and scored) in a worker process while this one is stored."""
    parts = [indices[a : a + batch] for a in range(0, len(indices), batch)]
    if len(parts) < 3:
        for part in parts:
            yield _batch((params, service, seed, part, now))
        return
    with workers_pool(1) as pool:
        ahead = pool.submit(_batch, (params, service, seed, parts[0], now))
        for k in range(len(parts)):
            current = ahead.result()
            if k + 1 < len(parts):
                ahead = pool.submit(_batch, (params, service, seed, parts[k + 1], now))
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
    therapists: dict[str, uuid.UUID] | None = None,
    waiting_from: date | None = None,
) -> list[DemoPerson]:
    """Store generated people (idempotent: their ids make a second load change nothing); returns the people whose
    episode this load created, with what the demo's care records are drawn from."""
    source = f"synth:{seed}"
    clinicians = {c.id: c.name for c in service.clinicians}
    team_names = {t["team_id"]: (t["name"], t["kind"]) for t in service.teams}
    new_people: list[DemoPerson] = []
    id_system = f"urn:idiograph:source:{source}"
    insts = instruments()
    phq9 = insts["phq-9"]
    indices = list(indices)
    task = progress.add_task("loading people", total=len(indices)) if progress else None
    order = iter(indices)
    for people in _generated(params, service, seed, indices, batch, now):
        with transaction(session):
            teams = {t["team_id"]: _team(session, t["name"], t["kind"]) for t in service.teams}
            codes = CodeBook(session)
            rows: list[NewObservation] = []
            qr_rows: list[dict[str, object]] = []
            unanswered: list[Unanswered] = []
            encounters: list[dict[str, object]] = []
            appointments: list[dict[str, object]] = []
            entries: list[audit.Entry] = []
            intakes: list[IntakeRecord] = []
            allocations: list[Allocation] = []
            known_qr = set(
                session.scalars(
                    select(QuestionnaireResponseRecord.source_id).where(
                        QuestionnaireResponseRecord.source == source,
                        QuestionnaireResponseRecord.person_id.in_(
                            [uuid.UUID(r.generated.tables["people"][0]["person_id"]) for r in people]
                        ),
                    )
                )
            )
            for ready in people:
                g = ready.generated
                index = next(order)
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
                created = session.get(Episode, ep_id) is None
                visits: list[Visit] = []
                if created:
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
                    who = (therapists or {}).get(e["clinician_id"])
                    if who is not None and not demo_matching.waiting(e["referral_date"], ended, waiting_from):
                        allocations.append(
                            Allocation(
                                person_id=person.id,
                                episode_id=ep_id,
                                therapist_id=who,
                                current=True,
                                allocated_by=principal.username,
                                allocated_at=datetime.combine(e["referral_date"], datetime.min.time(), UTC),
                                source=source,
                            )
                        )
                    encounters += crisis_encounters(g, person.id, seed, index, now, source)
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
                        if (visit := _visit(a, now)) is not None:
                            visits.append(visit)
                            appointments.append(
                                {
                                    "id": visit.id,
                                    "person_id": person.id,
                                    "start": visit.start,
                                    "minutes": 50,
                                    "place": visit.place,
                                    "format": visit.format,
                                    "with_whom": clinicians.get(a["clinician_id"]),
                                    "status": visit.status,
                                    "contact_type": "assessment" if a["kind"] == "assessment" else "treatment",
                                    "episode_id": ep_id,
                                    "created_by": principal.username,
                                    "created_at": min(visit.start - timedelta(days=7), now),
                                }
                            )
                    intake = _intake(g, person.id, e, team_names[e["team_id"]][0], source)
                    if intake is not None:
                        intakes.append(intake)
                        entries.append(
                            audit.Entry("create", "IntakeRecord", str(intake.id), person.id, None, {"via": "demo"})
                        )
                    if visits:
                        entries.append(
                            audit.Entry(
                                "create", "Appointment", None, person.id, None, {"via": "demo", "count": len(visits)}
                            )
                        )
                rows += [NewObservation(person.id, *signal, source) for signal in ready.signals]
                phq9_totals: list[tuple[datetime, float]] = []
                item9: list[tuple[datetime, int]] = []
                answers = ready.answers
                for r in g.tables.get("responses", []):
                    if r["authored"] > now or r["response_id"] in known_qr:
                        continue
                    inst = insts[r["instrument"]]
                    result = ready.scores[r["response_id"]]
                    if inst.id == phq9.id:
                        if result.total is not None:
                            phq9_totals.append((r["authored"], float(result.total)))
                        item9 += [
                            (r["authored"], answers[r["response_id"]][c])
                            for c in phq9.safety_codes
                            if c in answers[r["response_id"]]
                        ]
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
                            **FULL_FORM,
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
                if created:
                    team, kind = team_names[e["team_id"]]
                    new_people.append(
                        DemoPerson(
                            index=index,
                            person_id=person.id,
                            episode_id=ep_id,
                            team=team,
                            team_kind=kind,
                            discharged=e["discharge_date"] if ended else None,
                            language=p.get("preferred_language"),
                            prefers=(p["preferred_format"], p["preferred_place"], p["preferred_time"]),
                            visits=tuple(visits),
                            phq9=tuple(sorted(phq9_totals)),
                            item9=tuple(sorted(item9)),
                        )
                    )
            session.flush()
            session.add_all(intakes)  # after their episodes are in
            session.add_all(allocations)
            session.flush()
            audit.append_many(session, principal.actor, entries)
            bulk_insert(session, QuestionnaireResponseRecord.__table__, qr_rows)
            bulk_insert(session, Appointment.__table__, appointments)
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
                session, principal, [uuid.UUID(r.generated.tables["people"][0]["person_id"]) for r in people], now
            )
        if progress and task is not None:
            progress.advance(task, len(people))
    return new_people


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
    demo_matching.rename_logins(service)
    with transaction(session):
        therapists = demo_matching.write_therapists(session, service)
    new = load_people(
        session,
        system,
        shifted,
        service,
        seed,
        range(people),
        now,
        progress,
        therapists=therapists,
        waiting_from=demo_matching.waiting_from(shifted.window.start, shifted.window.days),
    )
    with transaction(session):
        demo_matching.free_places(session, service)
        # The service's own finished episodes give the expected-recovery models; open episodes are then
        # judged once, as they would have been score by score.
        not_on_track.fit(session, system.actor)
        not_on_track.judge_open(session, system.actor)
        # therapist strengths by domain from the finished episodes, judged against the curve just fitted
        matching_service.fit_strengths(session, system.actor)
        # Personal baselines: priors from the service's own results, then each person's latest result judged.
        baseline_service.fit_priors(session, system.actor, today, raise_latest=True)
        flagged = list(session.scalars(select(Alert.person_id).where(Alert.kind == "deviation").distinct()))
        _close_historical_alerts(session, system, flagged, now)
    with transaction(session):
        written = write_care(session, *demo_staff(session), new, seed, now, progress)
    # the options model from the service's finished episodes, for the care page's comparison of options; a demo too
    # small to learn from has none, and the care page says so
    with transaction(session), contextlib.suppress(InvalidInput):
        selection_service.fit(session, system.actor)
    with transaction(session):
        # planner statistics for the tables just filled: without them PostgreSQL scanned the 400,000 observations
        # for a page's latest scores (Today and the caseload took twice as long until autovacuum came by)
        session.execute(text("ANALYZE"))
    if progress and written:
        progress.console.print("care records: " + ", ".join(f"{n:,} {what}" for what, n in written.items()))
    return staff


def demo_staff(session: Session) -> tuple[dict[str, list[Staff]], Staff | None]:
    """The demo staff who write care records, by team (clinicians and care coordinators), and the senior
    clinician who answers escalations."""
    teams: dict[str, list[Staff]] = {}
    senior = None
    for username, role, name, team_names in STAFF:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            continue
        member = Staff(principal_for(session, user), name)
        if role == "senior_clinician":
            senior = member
        elif role in ("clinician", "care_coordinator"):
            for team in team_names:
                teams.setdefault(team, []).append(member)
    return teams, senior
