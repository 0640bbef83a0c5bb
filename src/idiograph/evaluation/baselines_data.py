"""Reading a synthetic service's results and ground truth into evaluation cases (I/O)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from idiograph.evaluation.baselines import Case
from idiograph.evaluation.synthetic import table
from idiograph.instruments.definitions import instruments
from idiograph.monitoring.relapse.signal import recovered_baseline, split_at_discharge


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def half(person: str) -> int:
    """A stable split of people into a fitting half (0) and a judged half (1)."""
    return hashlib.sha256(person.encode()).digest()[0] & 1


def measure_cases(folder: Path, codes: set[str]) -> dict[str, list[Case]]:
    """Lab and device series with their true shift times. A relapse also moves device signals (from two weeks
    before onset), so for devices the change is the earlier of the two."""
    truth = {(r["person_id"], r["code"]): r for r in table(folder / "truth", "setpoints").to_pylist()}
    onsets = {r["person_id"]: _aware(r["onset"]) for r in table(folder / "truth", "relapses").to_pylist()}
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    obs = table(folder, "observations").select(["person_id", "code", "value", "time", "kind"])
    for r in obs.to_pylist():
        if r["code"] in codes:
            series[(r["person_id"], r["code"])].append((_aware(r["time"]), float(r["value"])))
    out: dict[str, list[Case]] = defaultdict(list)
    for (pid, code), pts in series.items():
        t = truth.get((pid, code))
        change = _aware(t["shift_at"]) if t and t["shift_at"] and t["shift"] else None
        if code in ("93832-4", "41950-7") and pid in onsets:
            early = onsets[pid] - timedelta(days=14)
            change = min(change, early) if change else early
        out[code].append(Case(pid, code, tuple(sorted(pts)), change))
    return out


def relapse_cases(folder: Path, instrument: str = "phq-9", last: int = 3, follow_up_days: int = 365) -> list[Case]:
    """Discharged episodes with follow-up scores: the recovered baseline, the follow-up and the true onset."""
    episodes = {
        r["episode_id"]: r
        for r in table(folder, "episodes").select(["episode_id", "person_id", "discharge_date"]).to_pylist()
        if r["discharge_date"] is not None
    }
    onsets = {r["episode_id"]: _aware(r["onset"]) for r in table(folder / "truth", "relapses").to_pylist()}
    scores: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    resp = table(folder, "responses").select(["episode_id", "instrument", "authored", "total"])
    for r in resp.to_pylist():
        if r["instrument"] == instrument and r["total"] is not None and r["episode_id"] in episodes:
            scores[r["episode_id"]].append((_aware(r["authored"]), float(r["total"])))
    assert instrument in instruments()
    out = []
    for eid, ep in episodes.items():
        d = ep["discharge_date"]
        d = d if isinstance(d, date) else date.fromisoformat(str(d))
        before, after = split_at_discharge(scores.get(eid, []), d, follow_up_days)
        base = recovered_baseline(before, last)
        if base is None or not after:
            continue
        out.append(Case(ep["person_id"], instrument, tuple(after), onsets.get(eid), base))
    return out
