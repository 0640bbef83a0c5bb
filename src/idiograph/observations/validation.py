"""Rules an observation must keep before it is stored (pure)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from idiograph.errors import FieldProblem
from idiograph.observations.catalogue import CodeDef

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def observation_problems(
    prefix: str,
    code: CodeDef | None,
    system: str,
    code_value: str,
    value: float,
    unit: str | None,
    time: datetime,
    now: datetime,
) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    if code is None:
        out.append(FieldProblem(f"{prefix}/code", f"unknown code {system}|{code_value}"))
    if not math.isfinite(value):
        out.append(FieldProblem(f"{prefix}/value", "must be a finite number"))
    elif code is not None:
        reason = code.range_problem(value)
        if reason:
            out.append(FieldProblem(f"{prefix}/value", reason))
        if code.kind.startswith("questionnaire") and value != int(value):
            out.append(FieldProblem(f"{prefix}/value", "questionnaire scores are whole numbers"))
    if code is not None and unit is not None and unit != code.unit:
        out.append(FieldProblem(f"{prefix}/unit", f"{unit!r} is not the unit of this code ({code.unit!r})"))
    if time.tzinfo is None:
        out.append(FieldProblem(f"{prefix}/time", "must include a timezone offset (e.g. Z or +01:00)"))
    elif time > now + CLOCK_SKEW:
        out.append(FieldProblem(f"{prefix}/time", "is in the future"))
    elif time < EARLIEST:
        out.append(FieldProblem(f"{prefix}/time", "is before 1900"))
    return out
