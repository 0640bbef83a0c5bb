"""One FHIR transaction Bundle per generated person, built with the same mapping as idiograph's export,
so that the project's own FHIR import accepts every bundle."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace as NS
from typing import Any

import pyarrow as pa

from idiograph.fhir import intake_mapping
from idiograph.fhir import mapping_out as out
from idiograph.fhir.vocab import NHS_NUMBER, source_identifier_system
from idiograph.instruments.definitions import instruments
from idiograph.intake import service as intake_service
from idiograph.intake.definition import definition as intake_definition
from idiograph.synth import demo_intake
from idiograph.synth.generator import uid


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return table.to_pylist() if table is not None else []


def _intake(row: dict[str, Any], episode: dict[str, Any], team: str, source: str) -> list[dict[str, Any]]:
    """The intake row as the intake record's resources, recorded as the demo's clinicians record it."""
    from idiograph.synth.load import STAFF

    names = {u: n for u, _, n, _ in STAFF}
    at = demo_intake.assessed_at(row["assessed_on"])
    who = {
        section: intake_service.Contributor(u, names[u], demo_intake.PROFESSIONS.get(u), at)
        for section, u in demo_intake.assessors(team).items()
    }
    answers = demo_intake.sections_of(row, episode["presenting_problem"])
    eid = episode["episode_id"]
    rec = intake_service.build_record(
        uuid.UUID(row["person_id"]), uuid.UUID(eid), answers, who, (source, uid("intake", eid))
    )
    rec.id = uuid.UUID(uid("intake", eid))
    return intake_mapping.resources(rec, intake_definition())


def person_bundles(
    tables: dict[str, pa.Table], source: str, teams: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """``teams``: team id -> name (who recorded each intake section follows the team)."""
    by: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name in ("episodes", "intake", "appointments", "responses", "observations"):
        for r in _rows(tables.get(name)):
            by[r["person_id"]][name].append(r)
    insts = instruments()
    for p in _rows(tables.get("people")):
        pid = p["person_id"]
        rows = by[pid]
        person = NS(
            id=pid,
            given_name=p["given_name"],
            family_name=p["family_name"],
            birth_date=p["birth_date"],
            sex=p["sex"],
            ethnicity=p["ethnicity"],
            deprivation_decile=p["deprivation_decile"],
            gender_identity=None,
            preferred_language=p["preferred_language"],
            identifiers=[
                NS(system=NHS_NUMBER, value=p["nhs_number"]),
                NS(system=source_identifier_system(source), value=pid),
            ],
        )
        resources = [out.patient(person)]
        for e in rows["episodes"]:
            resources.append(
                out.episode_of_care(
                    NS(
                        id=e["episode_id"],
                        person_id=pid,
                        **{
                            k: e[k]
                            for k in (
                                "referral_date",
                                "referral_source",
                                "presenting_problem",
                                "pathway",
                                "discharge_date",
                                "discharge_reason",
                            )
                        },
                    )
                )
            )
        for a in rows["appointments"]:
            if a["status"] == "attended":
                resources.append(
                    out.encounter(
                        NS(
                            id=a["appointment_id"],
                            person_id=pid,
                            status="finished",
                            class_code="VR" if a["format"] in ("video", "phone") else "AMB",
                            type_system=None,
                            type_code=None,
                            type_display=None,
                            start=a["start"],
                            end=a["start"] + timedelta(minutes=50),
                        )
                    )
                )
        items: dict[str, dict[str, float]] = defaultdict(dict)
        for o in rows["observations"]:
            if o["response_id"] is not None:
                if o["kind"] == "questionnaire-item":
                    items[o["response_id"]][o["code"]] = o["value"]
                continue
            oid = uid("observation", pid, o["code"], o["time"].isoformat())
            resources.append(
                out.observation(
                    NS(
                        id=oid,
                        source=source,
                        source_id=oid,
                        system=o["system"],
                        code=o["code"],
                        person_id=pid,
                        effective_at=o["time"],
                        value=o["value"],
                        unit=o["unit"],
                    ),
                    None,
                )
            )
        for r in rows["responses"]:
            rec = NS(id=r["response_id"], status="completed", person_id=pid, authored_at=r["authored"])
            resources.append(out.questionnaire_response(rec, insts[r["instrument"]], items[r["response_id"]]))
        episodes = {e["episode_id"]: e for e in rows["episodes"]}
        for row in rows["intake"]:
            e = episodes.get(row["episode_id"])
            if e is not None:
                resources += _intake(row, e, (teams or {}).get(e["team_id"], ""), source)
        yield {
            "resourceType": "Bundle",
            "type": "transaction",
            "meta": {"source": source},
            "entry": [out.bundle_entry(res, method="PUT") for res in resources],
        }
