"""One writer per governed fact (DESIGN rule 4): discharge, intervention (the episode's pathway), appointment time,
place and format, and appointment frequency are assigned only in governance/service.py. Creating a record with
them (a new episode, a new booking, an import of history) is not a change and is not governed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from idiograph.db import transaction
from idiograph.governed import GOVERNED as GOVERNED_COLUMNS
from idiograph.governed import GovernanceBypass, changed_columns, governing
from idiograph.patients.model import Episode, Person

SRC = Path(__file__).resolve().parents[2] / "src" / "idiograph"
GOVERNED = {
    "Episode": {"pathway", "discharge_date", "discharge_reason"},
    "Appointment": {"start", "place", "format", "minutes"},
    "AppointmentPlan": {"frequency"},
    "Allocation": {"therapist_id", "current"},
}
ATTRIBUTES = set().union(*GOVERNED.values())
WRITER = "governance/service.py"
# changes other capabilities register with the writer (governance.service.extend): they run only inside its apply
REGISTERED = {"matching/allocate.py"}


def violations(tree: ast.AST) -> list[str]:
    """Where a module changes a governed column: attribute assignment, setattr with its name, or a bulk update."""
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for tgt in node.targets for t in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt])]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if (
                isinstance(t, ast.Attribute)
                and t.attr in ATTRIBUTES
                and not (isinstance(t.value, ast.Name) and t.value.id == "self")
            ):
                found.append(f"{node.lineno}: .{t.attr} =")
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "setattr" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and name.value in ATTRIBUTES:
                    found.append(f"{node.lineno}: setattr {name.value}")
            if isinstance(f, ast.Attribute) and f.attr == "values":
                chain = ast.unparse(f.value)
                keys = {k.arg for k in node.keywords} | {
                    k.value for a in node.args if isinstance(a, ast.Dict) for k in a.keys if isinstance(k, ast.Constant)
                }
                for model, cols in GOVERNED.items():
                    targets_it = any(
                        form in chain
                        for form in (f"update({model})", f"update({model}.__table__)", f"{model}.__table__.update()")
                    )
                    if targets_it and keys & cols:
                        found.append(f"{node.lineno}: update({model}).values")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and changed_columns(node.value):
            found.append(f"{node.lineno}: SQL text")
    return found


def generator(rel: str) -> bool:
    """The synthetic generator builds its people in memory (dataclasses, no database): its ``discharge_reason``
    is a field of a generated course, not a stored episode. The demo loader (synth/load.py) is checked."""
    return rel == "synth/generator.py" or (
        rel.startswith("synth/")
        and rel != "synth/load.py"
        and "sqlalchemy" not in (SRC / rel).read_text(encoding="utf-8")
    )


def test_only_governance_changes_governed_facts() -> None:
    offenders = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == WRITER or rel in REGISTERED or rel.startswith("migrations/"):
            continue
        if generator(rel):
            continue
        found = violations(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[rel] = found
    assert offenders == {}


def test_the_lint_sees_each_way_of_changing_one() -> None:
    code = """
ep.discharge_date = today
appt.start, appt.place = when, "home"
setattr(ep, "pathway", "dbt")
session.execute(update(AppointmentPlan).where(x).values(frequency="weekly"))
"""
    assert len(violations(ast.parse(code))) == 5
    more = """
session.execute(update(Episode).values({"pathway": "dbt"}))
session.execute(Appointment.__table__.update().values({"start": when}))
conn.exec_driver_sql('UPDATE appointment_plan SET frequency = ? WHERE person_id = ?', args)
"""
    assert len(violations(ast.parse(more))) == 3
    assert violations(ast.parse("session.execute(update(Episode).values({'team_id': t}))")) == []


def test_the_lint_and_the_guard_watch_the_same_facts() -> None:
    tables = {
        "Episode": "episode",
        "Appointment": "appointment",
        "AppointmentPlan": "appointment_plan",
        "Allocation": "allocation",
    }
    assert {tables[m]: frozenset(c) for m, c in GOVERNED.items()} == GOVERNED_COLUMNS


def test_the_writer_is_where_the_lint_says() -> None:
    assert violations(ast.parse((SRC / WRITER).read_text(encoding="utf-8")))


def test_the_guard_reads_what_an_update_sets_not_what_it_filters_on() -> None:
    assert changed_columns("UPDATE episode SET pathway=? WHERE episode.id = ?") == ("episode", {"pathway"})
    assert changed_columns('UPDATE "appointment" SET "start"=%(start)s, status=%(s)s WHERE id=%(id)s') == (
        "appointment",
        {"start"},
    )
    assert changed_columns("UPDATE appointment SET status=? WHERE appointment.start > ? AND place = ?") is None
    assert changed_columns("update appointment_plan set frequency = 'weekly'") == ("appointment_plan", {"frequency"})
    assert changed_columns(
        "INSERT INTO episode (id, pathway) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET pathway = excluded.pathway"
    ) == ("episode", {"pathway"})
    assert changed_columns("INSERT INTO episode (id, pathway, discharge_date) VALUES (?, ?, ?)") is None
    assert changed_columns("SELECT pathway FROM episode") is None
    assert changed_columns("UPDATE observation SET value = ? WHERE id = ?") is None


def _episode(db):  # type: ignore[no-untyped-def]
    from datetime import date

    with transaction(db):
        person = Person(given_name="Ada", family_name="L")
        db.add(person)
        db.flush()
        ep = Episode(
            person_id=person.id,
            referral_date=date(2026, 1, 5),
            referral_source="gp",
            presenting_problem="d",
            pathway="cbt",
        )  # creating an episode with its pathway is not a change
        db.add(ep)
    return ep.id


@pytest.mark.parametrize("how", ["orm", "core", "table", "raw"])
def test_the_database_refuses_a_governed_change_outside_a_decision(db, how: str) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    eid = _episode(db)
    with pytest.raises(GovernanceBypass, match=r"episode\..*governed fact"), transaction(db):
        if how == "orm":
            ep = db.get(Episode, eid)
            ep.discharge_date = date(2026, 3, 1)
            db.flush()
        elif how == "core":
            db.execute(update(Episode).where(Episode.id == eid).values({"pathway": "dbt"}))
        elif how == "table":
            db.execute(Episode.__table__.update().where(Episode.__table__.c.id == eid).values(pathway="dbt"))
        else:
            db.execute(text("UPDATE episode SET pathway = 'dbt'"))
    db.expire_all()
    ep = db.get(Episode, eid)
    assert ep.pathway == "cbt" and ep.discharge_date is None
    # other columns are not governed; and inside a decision the change goes through
    with transaction(db):
        db.execute(update(Episode).where(Episode.id == eid).values(referral_source="self"))
    with transaction(db), governing("decision test"):
        db.execute(update(Episode).where(Episode.id == eid).values(pathway="dbt"))
    db.expire_all()
    assert db.scalar(select(Episode.pathway).where(Episode.id == eid)) == "dbt"
