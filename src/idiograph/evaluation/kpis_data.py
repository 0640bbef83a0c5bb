"""A synthetic service folder (``idiograph synth``, Parquet or CSV) as the KPI engine's referral table: one row
per episode (a referral), its team's kind, the dates of its first attended assessment and first two attended
treatment contacts, and its first and last PHQ-9 and GAD-7 taken on or before its end date; every appointment's
attendance outcome in the appointment table's words, and the crisis presentations and admissions of the folder's
events (each event names its episode). The folder holds no risk assessments or crisis plans. An appointment status
the generator does not write is refused with the file, row (counted from 1 after the header) and value named."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from idiograph.evaluation.synthetic import table
from idiograph.patients.demographics import age_on
from idiograph.reporting.kpis import Referral

# the generator's appointment outcomes in the appointment table's words (as synth.load stores them)
OUTCOMES = {
    "attended": "attended",
    "dna": "did_not_attend",
    "cancelled_person": "cancelled_by_person",
    "cancelled_service": "cancelled_by_service",
}


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _maybe_day(value: Any) -> date | None:
    return None if value is None or value == "" else _day(value)


def _who(person: dict[str, Any], on: date) -> dict[str, Any]:
    born = _maybe_day(person.get("birth_date"))
    decile = person.get("deprivation_decile")
    return {
        "ethnicity": person.get("ethnicity") or None,
        "age_at_referral": age_on(born, on) if born else None,
        "sex": person.get("sex") or None,
        "deprivation_decile": int(decile) if decile is not None else None,
        "preferred_language": person.get("preferred_language") or None,
    }


def _source(folder: Path, name: str) -> Path:
    """The file ``table`` reads for ``name``: its Parquet file when there is one, else its CSV."""
    parquet = folder / f"{name}.parquet"
    return parquet if parquet.exists() else folder / f"{name}.csv"


def _events(folder: Path) -> list[dict[str, Any]]:
    """The folder's crisis events (none when it has no events table, as an older folder may not)."""
    try:
        rows: list[dict[str, Any]] = table(folder, "events").select(["episode_id", "kind", "time"]).to_pylist()
    except FileNotFoundError:
        return []
    return rows


def referrals(folder: Path) -> list[Referral]:
    """Every episode of the folder as a referral, in referral order."""
    kinds = {r["team_id"]: r["kind"] for r in table(folder, "teams").to_pylist()}
    assessed: dict[str, list[date]] = defaultdict(list)
    treated: dict[str, list[date]] = defaultdict(list)
    outcomes: dict[str, list[tuple[date, str]]] = defaultdict(list)
    columns = ["episode_id", "start", "kind", "status"]
    for row, a in enumerate(table(folder, "appointments").select(columns).to_pylist(), start=1):
        if a["status"] not in OUTCOMES:  # an unknown outcome would leave dna_rate's denominator unseen
            known = ", ".join(sorted(OUTCOMES))
            name = _source(folder, "appointments").name
            raise ValueError(
                f"{name}: row {row}: status {a['status']!r} is not an appointment outcome (one of {known})"
            )
        if a["start"] is None:
            continue
        if a["status"] == "attended":
            (assessed if a["kind"] == "assessment" else treated)[a["episode_id"]].append(_day(a["start"]))
        outcomes[a["episode_id"]].append((_day(a["start"]), OUTCOMES[a["status"]]))
    events: dict[tuple[str, str], list[date]] = defaultdict(list)
    for e in _events(folder):
        events[(e["episode_id"], e["kind"])].append(_day(e["time"]))
    scores: dict[tuple[str, str], list[tuple[date, Any, float]]] = defaultdict(list)
    columns = ["episode_id", "instrument", "authored", "total"]
    for s in table(folder, "responses").select(columns).to_pylist():
        if s["instrument"] in ("phq-9", "gad-7") and s["total"] is not None:
            scores[(s["episode_id"], s["instrument"])].append((_day(s["authored"]), s["authored"], float(s["total"])))
    people = {p["person_id"]: p for p in table(folder, "people").to_pylist()}
    out = []
    for ep in table(folder, "episodes").to_pylist():
        eid = ep["episode_id"]
        start, end = _day(ep["referral_date"]), _maybe_day(ep["discharge_date"])
        first_last: list[float | None] = []
        for instrument in ("phq-9", "gad-7"):
            own = sorted(
                (s for s in scores.get((eid, instrument), []) if start <= s[0] and (end is None or s[0] <= end)),
                key=lambda s: (s[0], str(s[1])),
            )
            first_last += [own[0][2] if own else None, own[-1][2] if len(own) > 1 else None]
        sessions = sorted(treated.get(eid, []))
        out.append(
            Referral(
                referral_id=eid,
                person_id=ep["person_id"],
                team_kind=kinds.get(ep["team_id"], "unknown"),
                referral_date=start,
                end_date=end,
                ending_reason=ep["discharge_reason"] or None,
                assessed_date=min(assessed[eid]) if assessed.get(eid) else None,
                first_treatment_date=sessions[0] if sessions else None,
                second_treatment_date=sessions[1] if len(sessions) > 1 else None,
                attended_treatment=int(ep["attended_treatment"] or 0),
                phq9_first=first_last[0],
                phq9_last=first_last[1],
                gad7_first=first_last[2],
                gad7_last=first_last[3],
                **_who(people.get(ep["person_id"], {}), start),
                appointments=tuple(sorted(outcomes.get(eid, []))),
                crisis_presentations=tuple(sorted(events.get((eid, "crisis_presentation"), []))),
                admissions=tuple(sorted(events.get((eid, "admission"), []))),
            )
        )
    out.sort(key=lambda r: (r.referral_date, r.referral_id))
    return out
