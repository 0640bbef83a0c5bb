"""One FHIR transaction Bundle per generated person, built with the same mapping as idiograph's export,
so that the project's own FHIR import accepts every bundle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace as NS
from typing import Any

import pyarrow as pa

from idiograph.fhir import mapping_out as out
from idiograph.fhir.vocab import NHS_NUMBER, source_identifier_system
from idiograph.instruments.definitions import instruments
from idiograph.synth.generator import uid


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return table.to_pylist() if table is not None else []


def person_bundles(tables: dict[str, pa.Table], source: str) -> Iterator[dict[str, Any]]:
    by: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name in ("episodes", "appointments", "responses", "observations"):
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
        yield {
            "resourceType": "Bundle",
            "type": "transaction",
            "meta": {"source": source},
            "entry": [out.bundle_entry(res, method="PUT") for res in resources],
        }
