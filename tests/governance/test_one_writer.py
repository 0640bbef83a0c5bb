"""One writer per governed fact (DESIGN rule 4): discharge, intervention (the episode's pathway), appointment time,
place and format, and appointment frequency are assigned only in governance/service.py. Creating a record with
them (a new episode, a new booking, an import of history) is not a change and is not governed."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "idiograph"
GOVERNED = {
    "Episode": {"pathway", "discharge_date", "discharge_reason"},
    "Appointment": {"start", "place", "format", "minutes"},
    "AppointmentPlan": {"frequency"},
}
ATTRIBUTES = set().union(*GOVERNED.values())
WRITER = "governance/service.py"


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
                for model, cols in GOVERNED.items():
                    if f"update({model})" in chain and any(k.arg in cols for k in node.keywords):
                        found.append(f"{node.lineno}: update({model}).values")
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
        if rel == WRITER or rel.startswith("migrations/"):
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


def test_the_writer_is_where_the_lint_says() -> None:
    assert violations(ast.parse((SRC / WRITER).read_text(encoding="utf-8")))
