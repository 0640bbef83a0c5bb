"""Reading a synthetic service written by ``idiograph synth`` (Parquet or CSV) for the evaluations, and the
fixed split of people into a fitting half and a held-out half."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from idiograph.evaluation.not_on_track import HeldOut
from idiograph.monitoring.recovery.courses import OTHER, EpisodeScores
from idiograph.patients.demographics import age_band, age_on, ethnic_group


def held_out(e: EpisodeScores) -> HeldOut:
    """An episode as the not-on-track evaluation judges it: scores, days since the first, intake, groups."""
    t0 = e.times[0]
    days = tuple((t - t0).total_seconds() / 86400 for t in e.times)
    return HeldOut(e.scores, days, e.features(), e.groups)


def table(folder: Path, name: str) -> pa.Table:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.exists():
        return pq.read_table(parquet)
    if csv.exists():
        return pacsv.read_csv(csv)
    raise FileNotFoundError(f"{folder} has no {name}.parquet or {name}.csv (write it with idiograph synth)")


def episodes(folder: Path, instrument: str = "phq-9") -> list[EpisodeScores]:
    """Finished episodes of a synthetic service written by ``idiograph synth`` (parquet or csv), with
    their in-treatment scores (authored on or before discharge) in time order."""
    if instrument not in OTHER:
        raise ValueError(f"instrument must be one of {', '.join(OTHER)}")
    people = {
        r["person_id"]: r
        for r in table(folder, "people").select(["person_id", "birth_date", "sex", "ethnicity"]).to_pylist()
    }
    episodes = {
        r["episode_id"]: r
        for r in table(folder, "episodes")
        .select(["episode_id", "person_id", "referral_date", "discharge_date"])
        .to_pylist()
        if r["discharge_date"] is not None
    }
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    responses = table(folder, "responses").select(["episode_id", "instrument", "authored", "total"])
    for r in responses.to_pylist():
        ep = episodes.get(r["episode_id"])
        if ep is None or r["total"] is None or r["instrument"] not in (instrument, OTHER[instrument]):
            continue
        if r["authored"].date() <= _as_date(ep["discharge_date"]):
            series[(r["episode_id"], r["instrument"])].append((r["authored"], float(r["total"])))
    out = []
    for eid, ep in episodes.items():
        pts = sorted(series.get((eid, instrument), []))
        if not pts:
            continue
        other = sorted(series.get((eid, OTHER[instrument]), []))
        person = people[ep["person_id"]]
        referral = _as_date(ep["referral_date"])
        born = _as_date(person["birth_date"]) if person["birth_date"] else None
        out.append(
            EpisodeScores(
                eid,
                ep["person_id"],
                referral,
                _as_date(ep["discharge_date"]),
                tuple(t for t, _ in pts),
                tuple(v for _, v in pts),
                other[0][1] if other else None,
                age_on(born, referral) if born else None,
                {
                    "ethnic group": ethnic_group(person["ethnicity"]),
                    "sex": person["sex"],
                    "age band": age_band(born, referral),
                },
            )
        )
    return out


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def held_out_half(episode: EpisodeScores, salt: str = "idiograph-eval") -> bool:
    """A fixed split by person (never by episode, so nobody is on both sides)."""
    return hashlib.sha256(f"{salt}:{episode.person_id}".encode()).digest()[0] % 2 == 1
