"""A synthetic service's episodes as treatment selection sees them: what was known at intake (the covariates), the
option given, the last PHQ-9 in treatment (the outcome, for episodes with treatment), and, apart, the truth each
person is judged against (every appropriate option's true effect)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from idiograph.evaluation.synthetic import table
from idiograph.patients.demographics import age_band, age_on, ethnic_group
from idiograph.selection.course import Trajectory
from idiograph.selection.episodes import COVARIATES as SERVICE_COVARIATES
from idiograph.selection.episodes import INTAKE

COVARIATES = SERVICE_COVARIATES  # what the service's own model sees, with the intake record
MIN_TREATMENT = 2  # sessions attended for an episode's outcome to count (NHS Talking Therapies: a finished course)


@dataclass
class Kind:
    """One team kind's episodes (its options differ from the other kind's): columns by name, in row order."""

    name: str
    columns: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))


def episodes(folder: Path) -> dict[str, Kind]:
    """Every episode with an intake PHQ-9, by team kind. Columns: ``COVARIATES``, ``person_id``, ``received``,
    ``outcome`` (the last in-treatment PHQ-9 when at least ``MIN_TREATMENT`` treatment sessions were attended,
    else None), ``outcome_gad7`` (the same for GAD-7), ``course_phq9`` and ``course_gad7`` (the finished episode's
    scores as a ``Trajectory``, else None), the groups (``group_ethnic``, ``group_sex``, ``group_age``),
    ``truth_<option>`` (the true latent improvement, higher is better) and ``options`` (the team's options,
    ';'-separated)."""
    kinds = {r["team_id"]: r["kind"] for r in table(folder, "teams").to_pylist()}
    people = {r["person_id"]: r for r in table(folder, "people").to_pylist()}
    intake = {r["episode_id"]: r for r in table(folder, "intake").to_pylist()}
    truth = {r["person_id"]: r for r in table(folder, "truth/people").to_pylist()}
    scores: dict[tuple[str, str], list[tuple[Any, float]]] = defaultdict(list)
    for r in table(folder, "responses").select(["episode_id", "instrument", "authored", "total"]).to_pylist():
        if r["total"] is not None:
            scores[(r["episode_id"], r["instrument"])].append((r["authored"], float(r["total"])))
    out: dict[str, Kind] = {}
    for ep in table(folder, "episodes").to_pylist():
        phq = sorted(s for s in scores.get((ep["episode_id"], "phq-9"), []) if _on_or_before(s[0], ep))
        gad = sorted(s for s in scores.get((ep["episode_id"], "gad-7"), []) if _on_or_before(s[0], ep))
        if not phq:
            continue
        person, t = people[ep["person_id"]], truth[ep["person_id"]]
        finished = ep["attended_treatment"] >= MIN_TREATMENT
        kind = out.setdefault(kinds[ep["team_id"]], Kind(kinds[ep["team_id"]]))
        referral = _day(ep["referral_date"])
        birth = _day(person["birth_date"])
        row: dict[str, Any] = {
            "person_id": ep["person_id"],
            "age": age_on(birth, referral),
            "sex": person["sex"],
            "ethnic_group": ethnic_group(person["ethnicity"]),
            "deprivation_decile": person["deprivation_decile"],
            "presenting_problem": ep["presenting_problem"],
            "referral_source": ep["referral_source"],
            "phq9_intake": phq[0][1],
            "gad7_intake": gad[0][1] if gad else None,
            **{c: intake.get(ep["episode_id"], {}).get(c) for c in INTAKE},
            "received": ep["pathway"],
            "outcome": phq[-1][1] if finished and len(phq) > 1 else None,
            "outcome_gad7": gad[-1][1] if finished and len(gad) > 1 else None,
            "course_phq9": _trajectory(phq) if finished else None,
            "course_gad7": _trajectory(gad) if finished else None,
            "group_ethnic": ethnic_group(person["ethnicity"]),
            "group_sex": person["sex"],
            "group_age": age_band(birth, referral),
            "options": ";".join(
                k.removeprefix("effect_") for k, v in t.items() if k.startswith("effect_") and v is not None
            ),
        }
        for k, v in t.items():
            if k.startswith("effect_"):
                row[f"truth_{k.removeprefix('effect_')}"] = v
        for name in (
            *COVARIATES,
            "person_id",
            "received",
            "outcome",
            "outcome_gad7",
            "course_phq9",
            "course_gad7",
            "group_ethnic",
            "group_sex",
            "group_age",
            "options",
        ):
            kind.columns[name].append(row[name])
        for k in [k for k in row if k.startswith("truth_")]:
            kind.columns[k].append(row[k])
    return out


def _trajectory(scores: list[tuple[Any, float]]) -> Trajectory | None:
    """Scores in treatment as days since the first (None with fewer than two)."""
    if len(scores) < 2:
        return None
    first = _moment(scores[0][0])
    days = np.array([(_moment(t) - first).total_seconds() / 86400 for t, _ in scores])
    return Trajectory(days, np.array([v for _, v in scores], dtype=float))


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _on_or_before(when: Any, ep: dict[str, Any]) -> bool:
    return ep["discharge_date"] is None or _day(when) <= _day(ep["discharge_date"])
