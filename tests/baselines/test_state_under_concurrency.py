"""Results of one person stored at the same moment each count in their baseline (a reviewer's worry: on
PostgreSQL two writers could both read the state and the second lose the first's update). Writers already queue
at the audit head's row lock before any rule runs; the state row is locked as well, so this holds even if the
audit were ever appended later in the transaction. Removing either lock alone does not fail this test; removing
both would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from idiograph.baselines.model import BaselinePrior, BaselineState
from idiograph.db import Database
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook, NewObservation
from idiograph.patients.model import Person
from idiograph.pipeline import flow
from idiograph.security.audit import Actor

HB = "718-7"
START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_simultaneous_results_all_count(committed: Database) -> None:
    with committed.writer() as s:
        s.add(
            BaselinePrior(
                system="http://loinc.org",
                code=HB,
                m0=138.0,
                tau2=100.0,
                sigma2=9.0,
                people=500,
                results=3000,
                fitted_by="test",
            )
        )
        person = Person(given_name="Ada", family_name="L")
        s.add(person)
        s.flush()
        pid = person.id
        flow.record(
            s,
            Actor.system("t"),
            CodeBook(s),
            [NewObservation(pid, "http://loinc.org", HB, 140.0, "g/L", START, "t", "first")],
        )
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[str] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            with committed.writer() as s:
                row = NewObservation(
                    pid, "http://loinc.org", HB, 140.0 + i % 3, "g/L", START + timedelta(days=1 + i), "t", f"r{i}"
                )
                flow.record(s, Actor.system("t"), CodeBook(s), [row])
        except Exception as exc:  # reported by the assertion below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with committed.reader() as s:
        stored = s.scalar(select(func.count()).select_from(Observation).where(Observation.person_id == pid))
        state = s.scalar(select(BaselineState).where(BaselineState.person_id == pid))
        assert stored == writers + 1
        assert state is not None and state.n == stored
        assert state.latest_at == START + timedelta(days=writers)
