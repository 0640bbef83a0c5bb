"""raise_many: once per source, one open alert per group, one audit batch; lifecycle steps happen once."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.alerts import service as alerts
from idiograph.alerts.kinds import Kind
from idiograph.alerts.model import Alert
from idiograph.patients.model import Person
from idiograph.security.audit import Actor
from idiograph.security.model import AuditRecord

ACTOR = Actor(None, "system:test", "system")


def _person(db: Session) -> uuid.UUID:
    p = Person(given_name="Ada", family_name="Lovelace")
    db.add(p)
    db.flush()
    return p.id


def _new(pid: uuid.UUID, key: str, group: str | None = None, kind: Kind = Kind.NOT_ON_TRACK) -> alerts.NewAlert:
    return alerts.NewAlert(pid, kind, "Title", "Reason", key, {"k": key}, group)


def test_once_per_source_and_kind(db: Session) -> None:
    pid = _person(db)
    first = alerts.raise_many(db, ACTOR, [_new(pid, "a"), _new(pid, "a"), _new(pid, "b")])
    assert [a.source_key for a in first] == ["a", "b"]
    assert alerts.raise_many(db, ACTOR, [_new(pid, "a"), _new(pid, "b")]) == []
    # the same source key under another kind is another alert
    assert len(alerts.raise_many(db, ACTOR, [_new(pid, "a", kind=Kind.DEVIATION)])) == 1
    assert db.scalar(select(func.count()).select_from(Alert)) == 3


def test_one_open_alert_per_group_until_it_is_closed(db: Session) -> None:
    pid = _person(db)
    assert len(alerts.raise_many(db, ACTOR, [_new(pid, "s3", "g"), _new(pid, "s4", "g")])) == 1
    assert alerts.raise_many(db, ACTOR, [_new(pid, "s5", "g")]) == []
    db.execute(Alert.__table__.update().values(status="closed"))
    assert [a.source_key for a in alerts.raise_many(db, ACTOR, [_new(pid, "s6", "g")])] == ["s6"]


def test_one_audit_batch_names_each_alert(db: Session) -> None:
    pid = _person(db)
    before = db.scalar(select(func.count()).select_from(AuditRecord)) or 0
    alerts.raise_many(db, ACTOR, [_new(pid, f"k{i}") for i in range(5)])
    raised = db.scalars(select(AuditRecord).where(AuditRecord.action == "raise").order_by(AuditRecord.seq)).all()
    assert len(raised) == 5 == (db.scalar(select(func.count()).select_from(AuditRecord)) or 0) - before
    ids = {str(i) for i in db.scalars(select(Alert.id))}
    assert {r.resource_id for r in raised} == ids and {r.person_id for r in raised} == {pid}


def test_concurrent_steps_on_one_alert_give_one_success(committed, db: Session, make_staff, team_ids) -> None:  # type: ignore[no-untyped-def]
    """Found by an attack-style test: of 10 simultaneous steps 2-3 succeeded and acknowledged notes were lost."""
    from idiograph.patients.model import CaseloadAssignment

    pid = _person(db)
    db.add(CaseloadAssignment(person_id=pid, team_id=team_ids("North")))
    alerts.raise_many(db, ACTOR, [_new(pid, "x", kind=Kind.SAFETY)])
    db.commit()
    alert_id = db.scalar(select(Alert.id))
    staff = [make_staff(f"clin{i}", "clinician", ("North",)) for i in range(10)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(staff))

    def act(i: int) -> None:
        barrier.wait()
        try:
            with committed.writer() as s:
                alerts.move(s, staff[i].principal, alert_id, "acted", f"note from clinician {i}")
            outcomes.append(f"ok:{i}")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=act, args=(i,)) for i in range(len(staff))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if o.startswith("ok:")]
    assert len(won) == 1, outcomes
    assert sorted(set(outcomes) - set(won)) == ["Conflict"]
    db.rollback()  # end the test's own snapshot to see what the threads committed
    alert = db.get(Alert, alert_id)
    assert alert is not None and alert.action_note == f"note from clinician {won[0][3:]}"
    acted = db.scalars(select(AuditRecord).where(AuditRecord.action == "acted")).all()
    assert len(acted) == 1


def test_mixed_simultaneous_steps_on_one_alert_stay_in_order(committed, db: Session, make_staff, team_ids) -> None:  # type: ignore[no-untyped-def]
    """Seen, acted and closed fired at once by nine people: each step succeeds at most once, only in its order
    (closed only after acted), the alert ends in the last step that won, every success is audited once and the
    note kept is the winner's; the others are told (409)."""
    from idiograph.patients.model import CaseloadAssignment

    pid = _person(db)
    db.add(CaseloadAssignment(person_id=pid, team_id=team_ids("North")))
    alerts.raise_many(db, ACTOR, [_new(pid, "x", kind=Kind.SAFETY)])
    db.commit()
    alert_id = db.scalar(select(Alert.id))
    steps = ["seen", "acted", "closed"] * 3
    staff = [make_staff(f"clin{i}", "clinician", ("North",)) for i in range(len(steps))]
    outcomes: list[tuple[str, str]] = []
    barrier = threading.Barrier(len(staff))

    def step(i: int) -> None:
        barrier.wait()
        try:
            with committed.writer() as s:
                note = f"note from clinician {i}" if steps[i] == "acted" else None
                alerts.move(s, staff[i].principal, alert_id, steps[i], note)
            outcomes.append((steps[i], f"ok:{i}"))
        except Exception as exc:
            outcomes.append((steps[i], type(exc).__name__))

    threads = [threading.Thread(target=step, args=(i,)) for i in range(len(staff))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {o for _, o in outcomes if not o.startswith("ok:")} <= {"Conflict"}, outcomes
    won = {s: [o for st, o in outcomes if st == s and o.startswith("ok:")] for s in ("seen", "acted", "closed")}
    assert all(len(w) <= 1 for w in won.values()) and any(won.values()), outcomes
    assert not won["closed"] or won["acted"]  # never closed without what was done
    db.rollback()
    alert = db.get(Alert, alert_id)
    assert alert is not None
    last = next((s for s in ("closed", "acted", "seen") if won[s]), "raised")
    assert alert.status == last
    if won["acted"]:
        assert alert.action_note == f"note from clinician {won['acted'][0][3:]}"
    audited = db.scalars(select(AuditRecord.action).where(AuditRecord.resource_id == str(alert_id))).all()
    for s in ("seen", "acted", "closed"):
        assert audited.count(s) == len(won[s]), (audited, outcomes)


def test_repeat_safety_answers_stack_under_the_open_alert_and_are_acted_on_together(db: Session, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Found by a new user: each repeat safety answer opened another alert. Every answer is still stored (none is
    dropped as a group repeat) and shown as the history of one item, which is seen, acted on and closed once."""
    from idiograph.patients.model import CaseloadAssignment
    from idiograph.security.teams import team_by_name

    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(db)
    db.add(CaseloadAssignment(person_id=pid, team_id=team_by_name(db, "North").id))
    group = f"safety|{pid}"
    for n in range(3):
        raised = alerts.raise_many(db, ACTOR, [_new(pid, f"answer{n}", group, Kind.SAFETY)])
        assert len(raised) == 1  # stacked, never dropped
    assert alerts.raise_many(db, ACTOR, [_new(pid, "answer1", group, Kind.SAFETY)]) == []  # once per source
    items = alerts.grouped(alerts.for_person(db, clin.principal, pid, open_only=True))
    assert len(items) == 1 and len(items[0].history) == 3
    lead = items[0].lead
    alerts.move(db, clin.principal, lead.id, "seen")
    alerts.move(db, clin.principal, lead.id, "acted", "Phoned; safety plan reviewed with them")
    assert {a.status for a in db.scalars(select(Alert))} == {"acted"}
    # a new answer after acting brings the item back to the top as raised, with the earlier ones in its history
    alerts.raise_many(db, ACTOR, [_new(pid, "answer3", group, Kind.SAFETY)])
    items = alerts.grouped(alerts.for_person(db, clin.principal, pid, open_only=True))
    assert len(items) == 1 and items[0].lead.status == "raised" and len(items[0].history) == 4
    alerts.move(db, clin.principal, items[0].lead.id, "acted", "Seen the same day; no change to plan")
    alerts.move(db, clin.principal, items[0].lead.id, "closed")
    assert {a.status for a in db.scalars(select(Alert))} == {"closed"}
    notes = {a.action_note for a in db.scalars(select(Alert))}
    assert notes == {"Phoned; safety plan reviewed with them", "Seen the same day; no change to plan"}


def test_open_alerts_are_listed_most_severe_first() -> None:
    from datetime import UTC, datetime

    def a(kind: str, day: int) -> Alert:
        return Alert(id=uuid.uuid4(), kind=kind, status="raised", raised_at=datetime(2026, 11, day, tzinfo=UTC))

    order = alerts.grouped([a("deviation", 9), a("not-on-track", 8), a("safety", 1), a("relapse", 2)])
    assert [g.lead.kind for g in order] == ["safety", "relapse", "not-on-track", "deviation"]
