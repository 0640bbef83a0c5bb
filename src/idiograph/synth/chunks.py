"""Generating people in chunks as Arrow tables (observed data and ground truth apart)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from idiograph.synth import params as params_module
from idiograph.synth.generator import OBS_COLUMNS, Generated, Service, generate_person, generate_service
from idiograph.synth.workers import pool as workers_pool

OPTIONS = ("guided_self_help", "cbt", "counselling", "group_cbt", "creative_therapies", "medication_review")

TS = pa.timestamp("us", tz="UTC")
SCHEMAS: dict[str, pa.Schema] = {
    "teams": pa.schema([("team_id", pa.string()), ("name", pa.string()), ("kind", pa.string())]),
    "clinicians": pa.schema(
        [
            ("clinician_id", pa.string()),
            ("team_id", pa.string()),
            ("name", pa.string()),
            ("role", pa.string()),
            ("capacity", pa.int32()),
            ("languages", pa.list_(pa.string())),
            ("modalities", pa.list_(pa.string())),
            ("formats", pa.list_(pa.string())),
        ]
    ),
    "people": pa.schema(
        [
            ("person_id", pa.string()),
            ("given_name", pa.string()),
            ("family_name", pa.string()),
            ("birth_date", pa.date32()),
            ("sex", pa.string()),
            ("ethnicity", pa.string()),
            ("deprivation_decile", pa.int8()),
            ("preferred_language", pa.string()),
            ("nhs_number", pa.string()),
            ("team_id", pa.string()),
            ("preferred_format", pa.string()),
            ("preferred_place", pa.string()),
            ("preferred_time", pa.string()),
        ]
    ),
    "episodes": pa.schema(
        [
            ("episode_id", pa.string()),
            ("person_id", pa.string()),
            ("team_id", pa.string()),
            ("clinician_id", pa.string()),
            ("referral_date", pa.date32()),
            ("referral_source", pa.string()),
            ("presenting_problem", pa.string()),
            ("pathway", pa.string()),
            ("group", pa.bool_()),
            ("discharge_date", pa.date32()),
            ("discharge_reason", pa.string()),
            ("attended_treatment", pa.int16()),
            ("dna", pa.int16()),
            ("cancelled_by_person", pa.int16()),
        ]
    ),
    "intake": pa.schema(
        [
            ("person_id", pa.string()),
            ("episode_id", pa.string()),
            ("assessed_on", pa.date32()),
            ("problem_duration_months", pa.int16()),
            ("previous_treatment", pa.string()),
            ("previous_response", pa.string()),
            ("current_medication", pa.bool_()),
            ("psychosocial_recorded", pa.bool_()),
            ("housing", pa.string()),
            ("work", pa.string()),
            ("social_support", pa.string()),
            ("caring_responsibilities", pa.bool_()),
            ("money_worries", pa.bool_()),
            ("substance_use", pa.string()),
            ("long_term_condition", pa.bool_()),
            ("neurodivergence", pa.string()),
            *[c for i in (1, 2, 3) for c in ((f"goal_{i}", pa.string()), (f"goal_{i}_rating", pa.int8()))],
        ]
    ),
    "appointments": pa.schema(
        [
            ("appointment_id", pa.string()),
            ("person_id", pa.string()),
            ("episode_id", pa.string()),
            ("clinician_id", pa.string()),
            ("start", TS),
            ("kind", pa.string()),
            ("place", pa.string()),
            ("format", pa.string()),
            ("group", pa.bool_()),
            ("fit", pa.float32()),
            ("status", pa.string()),
        ]
    ),
    "responses": pa.schema(
        [
            ("response_id", pa.string()),
            ("person_id", pa.string()),
            ("episode_id", pa.string()),
            ("instrument", pa.string()),
            ("authored", TS),
            ("total", pa.int16()),
            ("appointment_ref", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("person_id", pa.string()),
            ("episode_id", pa.string()),
            ("kind", pa.string()),
            ("time", TS),
            ("trigger", pa.string()),
        ]
    ),
    "observations": pa.schema(
        [
            ("person_id", pa.string()),
            ("episode_id", pa.string()),
            ("response_id", pa.string()),
            ("system", pa.string()),
            ("code", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("time", TS),
            ("kind", pa.string()),
        ]
    ),
    "truth_people": pa.schema(
        [
            ("person_id", pa.string()),
            ("risk_trait", pa.float64()),
            ("chronic", pa.int8()),
            ("prior_response", pa.int8()),
            ("intake_latent_depression", pa.float64()),
            ("intake_latent_anxiety", pa.float64()),
            ("best_option", pa.string()),
            ("received", pa.string()),
            ("therapist_effect", pa.float64()),
            ("triggers", pa.string()),
            *[(f"effect_{k}", pa.float64()) for k in OPTIONS],
            *[(f"chance_{k}", pa.float64()) for k in OPTIONS],  # the true propensity of each option
        ]
    ),
    "truth_setpoints": pa.schema(
        [
            ("person_id", pa.string()),
            ("code", pa.string()),
            ("setpoint", pa.float64()),
            ("within_cv", pa.float64()),
            ("shift_at", TS),
            ("shift", pa.float64()),
        ]
    ),
    "truth_relapses": pa.schema([("person_id", pa.string()), ("episode_id", pa.string()), ("onset", TS)]),
    "truth_therapists": pa.schema([("clinician_id", pa.string()), ("domain", pa.string()), ("strength", pa.float64())]),
}
TRUTH = tuple(t for t in SCHEMAS if t.startswith("truth_"))
PERSON_TABLES = (
    "people",
    "episodes",
    "intake",
    "appointments",
    "responses",
    "events",
    "truth_people",
    "truth_setpoints",
    "truth_relapses",
)


def service_tables(service: Service) -> dict[str, pa.Table]:
    clin = [
        {
            "clinician_id": c.id,
            "team_id": c.team_id,
            "name": c.name,
            "role": c.role,
            "capacity": c.capacity,
            "languages": c.languages,
            "modalities": c.modalities,
            "formats": c.formats,
        }
        for c in service.clinicians
    ]
    truth = [
        {"clinician_id": c.id, "domain": d, "strength": v}
        for c in service.clinicians
        for d, v in sorted(c.strengths.items())
    ]
    return {
        "teams": pa.Table.from_pylist(service.teams, schema=SCHEMAS["teams"]),
        "clinicians": pa.Table.from_pylist(clin, schema=SCHEMAS["clinicians"]),
        "truth_therapists": pa.Table.from_pylist(truth, schema=SCHEMAS["truth_therapists"]),
    }


@dataclass(frozen=True)
class Job:
    params_path: str | None
    seed: int
    people: int
    start: int
    stop: int


def to_tables(people: list[Generated]) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    for name in PERSON_TABLES:
        rows = [r for g in people for r in g.tables.get(name, [])]
        out[name] = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
    cols: dict[str, Any] = {c: [] for c in OBS_COLUMNS}
    for g in people:
        for c in OBS_COLUMNS:
            cols[c] += g.observations.get(c, [])
    arrays = []
    for c in OBS_COLUMNS:
        field = SCHEMAS["observations"].field(c)
        if c == "value":
            arrays.append(pa.array(np.concatenate(cols[c]) if cols[c] else np.empty(0), type=field.type))
        elif c == "time":
            t = np.concatenate(cols[c]) if cols[c] else np.empty(0, dtype="datetime64[us]")
            arrays.append(pa.array(t.astype("datetime64[us]")).cast(field.type))
        else:
            arrays.append(pa.array(cols[c], type=field.type))
    out["observations"] = pa.Table.from_arrays(arrays, schema=SCHEMAS["observations"])
    return out


def run_job(job: Job) -> dict[str, pa.Table]:
    params = params_module.load(Path(job.params_path) if job.params_path else None)
    service = generate_service(params, job.people, job.seed)
    people = [generate_person(params, service, job.seed, i) for i in range(job.start, job.stop)]
    return to_tables(people)


def chunks(
    people: int, seed: int, params_path: Path | None = None, chunk: int = 2000, workers: int = 1
) -> Iterator[dict[str, pa.Table]]:
    """Tables for consecutive chunks of people, in order; never more than 2 x workers chunks in memory."""
    jobs = [
        Job(str(params_path) if params_path else None, seed, people, a, min(a + chunk, people))
        for a in range(0, people, chunk)
    ]
    if workers <= 1:
        for job in jobs:
            yield run_job(job)
        return
    with workers_pool(workers) as pool:
        pending = [pool.submit(run_job, j) for j in jobs[: 2 * workers]]
        nxt = len(pending)
        while pending:
            tables = pending.pop(0).result()
            if nxt < len(jobs):
                pending.append(pool.submit(run_job, jobs[nxt]))
                nxt += 1
            yield tables
