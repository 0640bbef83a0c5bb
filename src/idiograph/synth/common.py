"""What every part of the synthetic service shares: identifiers, weighted picks, the rows of one person,
observations, the questionnaire item banks and caseness on the latent scale."""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from idiograph.adaptive import itembank
from idiograph.adaptive.grm import ItemParams, expected_score

NAMESPACE = uuid.UUID("6b1d9a3e-8c1f-4d3b-9a52-3f7e0c2d9b11")
LOINC = "http://loinc.org"
GIVEN_F = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Priya",
    "Aisha",
    "Fatima",
    "Grace",
    "Sophie",
    "Emily",
    "Zara",
    "Ewa",
    "Chloe",
    "Ruth",
    "Maya",
    "Amina",
    "Hannah",
    "Lucy",
    "Mei",
    "Niamh",
)
GIVEN_M = (
    "Oliver",
    "George",
    "Noah",
    "Jack",
    "Mohammed",
    "Harry",
    "Leo",
    "Kwame",
    "Arjun",
    "Tom",
    "Liam",
    "Hassan",
    "Daniel",
    "Sam",
    "Piotr",
    "Adam",
    "Joseph",
    "Ryan",
    "Chen",
    "Tariq",
)
FAMILY = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Khan",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "Ali",
    "Hughes",
    "Green",
    "Nowak",
    "Okoye",
    "Begum",
    "Hussain",
    "Clarke",
    "Edwards",
    "Singh",
    "Murphy",
    "Campbell",
    "Mensah",
    "Kowalski",
    "Shah",
)
TALKING = ("guided_self_help", "cbt", "counselling", "group_cbt", "creative_therapies")
CMHT = ("medication_review", "cbt", "creative_therapies")
WHITE_OR_UNKNOWN = ("White", "Not stated", "Not known")
OBS_COLUMNS = ("person_id", "episode_id", "response_id", "system", "code", "value", "unit", "time", "kind")


def uid(*parts: object) -> str:
    """A stable identifier from its parts, so that the same seed names every row the same way."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass(frozen=True)
class Ids:
    """Whose rows these are: the seed and person index, and the person's and episode's identifiers."""

    seed: int
    index: int
    person: str
    episode: str

    @classmethod
    def of(cls, seed: int, index: int) -> Ids:
        """The identifiers of person ``index`` in the service generated from ``seed``."""
        return cls(seed, index, uid(seed, "person", index), uid(seed, "episode", index))


@lru_cache(maxsize=1)
def item_banks() -> tuple[list[ItemParams], list[ItemParams]]:
    """PHQ-9 items fitted to NHANES; GAD-7 items matched to the first seven PHQ-9 items (no open GAD-7
    item data is available), driven by a separate, correlated anxiety trait."""
    phq = itembank.load(Path(__file__).with_name("data") / "phq9_grm.yaml").items
    return phq, phq[:7]


@lru_cache(maxsize=256)
def _table(items: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    """Keys and cumulative weights of a table of shares (cached: the same few tables are drawn from often)."""
    keys = [k for k, _ in items]
    cum = np.cumsum([w for _, w in items]).tolist()
    return keys, cum


def pick(rng: np.random.Generator, shares: dict[str, float]) -> str:
    """One key drawn with probability proportional to its share."""
    keys, cum = _table(tuple(shares.items()))
    return keys[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(keys) - 1)]


def midnight(day: date) -> datetime:
    """The start of a day in UTC, from which a person's times are counted."""
    return datetime.combine(day, datetime.min.time(), UTC)


def dt64(t: datetime) -> np.datetime64:
    """An aware time as a naive UTC microsecond ``datetime64`` (the observations' time column)."""
    return np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us")


@dataclass
class Generated:
    """Rows for one person, by table; ground truth kept apart in the ``truth_*`` tables."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    observations: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Append a row to a table (tables appear in the order they are first added)."""
        self.tables.setdefault(table, []).append(row)


def observe(
    g: Generated,
    person: str,
    episode: str | None,
    response: str | list[str] | None,
    code: str | list[str],
    values: Any,
    unit: str,
    times: Any,
    kind: str | list[str],
) -> None:
    """Append observations; scalars are repeated, lists must match the values' length."""
    vals = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    n = len(vals)
    ts = np.broadcast_to(np.asarray(times, dtype="datetime64[us]"), (n,)) if np.ndim(times) == 0 else times
    o = g.observations
    if not o:
        for col in OBS_COLUMNS:
            o[col] = []
    o["person_id"] += [person] * n
    o["episode_id"] += [episode] * n
    o["response_id"] += response if isinstance(response, list) else [response] * n
    o["system"] += [LOINC] * n
    o["code"] += code if isinstance(code, list) else [code] * n
    o["value"].append(vals)
    o["unit"] += [unit] * n
    o["time"].append(np.asarray(ts, dtype="datetime64[us]").ravel())
    o["kind"] += kind if isinstance(kind, list) else [kind] * n


@lru_cache(maxsize=1)
def _cut_points() -> tuple[float, float]:
    """Latent values at which the expected PHQ-9 is 10 and the expected GAD-7 is 8."""
    grid = np.linspace(-2, 5, 1401)
    phq, gad = item_banks()
    return (
        float(grid[np.argmax(expected_score(phq, grid) >= 10)]),
        float(grid[np.argmax(expected_score(gad, grid) >= 8)]),
    )


def expected_below_caseness(theta_d: float, theta_a: float) -> bool:
    """Whether both expected scores at these latent values are below caseness (PHQ-9 < 10, GAD-7 < 8)."""
    d, a = _cut_points()
    return theta_d < d and theta_a < a
