"""A small, realistic demo service: teams, staff, people, episodes, weekly PHQ-9/GAD-7 item answers and
lithium results (pure: a seed in, dataclasses out). The calibrated generator replaces this later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from idiograph.measures.definitions import instruments
from idiograph.patients.nhs_number import check_digit

TEAMS = ("North Talking Therapies", "South Talking Therapies", "Community Mental Health Team")
STAFF = (  # username, role, display name, teams
    ("clin.north", "clinician", "Dr Amara Okafor", ("North Talking Therapies",)),
    ("cc.north", "care_coordinator", "Sam Whitfield", ("North Talking Therapies",)),
    ("clin.south", "clinician", "Priya Raman", ("South Talking Therapies",)),
    ("cmht.cc", "care_coordinator", "Joe Brennan", ("Community Mental Health Team",)),
    ("senior", "senior_clinician", "Dr Helen Marsh", TEAMS),
    ("lead", "service_lead", "Kevin Doyle", TEAMS),
    ("commissioner", "commissioner", "ICB Commissioner", ()),
    ("admin", "admin", "System Administrator", ()),
)
DEMO_PASSWORD = "demo-password-1"
# England and Wales 2021 census shares, mapped to NHS ethnic categories (rounded).
ETHNICITY = {
    "A": 0.74,
    "B": 0.01,
    "C": 0.06,
    "D": 0.01,
    "E": 0.005,
    "F": 0.01,
    "G": 0.005,
    "H": 0.03,
    "J": 0.027,
    "K": 0.011,
    "L": 0.016,
    "M": 0.011,
    "N": 0.025,
    "P": 0.009,
    "R": 0.008,
    "S": 0.02,
    "Z": 0.0,
}
GIVEN = (
    "Alex",
    "Sam",
    "Jordan",
    "Priya",
    "Mohammed",
    "Aisha",
    "Olivia",
    "Jack",
    "Emily",
    "Noah",
    "Fatima",
    "Chen",
    "Grace",
    "Oliver",
    "Zara",
    "Tom",
    "Amelia",
    "Kwame",
    "Ewa",
    "Liam",
    "Sofia",
    "Hassan",
    "Ruth",
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
    "Chen",
)
PROBLEMS = (
    ("depression", 0.40),
    ("generalised_anxiety", 0.22),
    ("mixed_anxiety_depression", 0.18),
    ("panic", 0.06),
    ("social_anxiety", 0.05),
    ("ptsd", 0.05),
    ("ocd", 0.04),
)
PATHWAYS = (("guided self-help", 0.40), ("CBT", 0.35), ("counselling", 0.15), ("group CBT", 0.10))


@dataclass
class DemoEpisode:
    team: str
    referral_date: date
    referral_source: str
    presenting_problem: str
    pathway: str
    discharge_date: date | None
    discharge_reason: str | None
    sessions: list[tuple[datetime, dict[str, int], dict[str, int]]] = field(default_factory=list)  # time, PHQ-9, GAD-7


@dataclass
class DemoPerson:
    ref: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    ethnicity: str
    deprivation_decile: int
    preferred_language: str
    nhs_number: str
    episode: DemoEpisode
    lithium: list[tuple[datetime, float]] = field(default_factory=list)


def _choice(rng: np.random.Generator, pairs: tuple[tuple[str, float], ...] | dict[str, float]) -> str:
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    p = np.array([w for _, w in items], dtype=float)
    return str(items[int(rng.choice(len(items), p=p / p.sum()))][0])


def _nhs_number(rng: np.random.Generator) -> str:
    """A valid number in the 999 range that NHS England reserves for test data."""
    while True:
        nine = "999" + "".join(str(d) for d in rng.integers(0, 10, 6))
        digit = check_digit(nine)
        if digit is not None:
            return nine + str(digit)


def _answers(rng: np.random.Generator, severity: float, codes: list[str]) -> dict[str, int]:
    """Item answers that rise with latent severity (0-3 per item), with item-level noise."""
    return {c: int(np.clip(np.rint(severity + rng.normal(0, 0.6)), 0, 3)) for c in codes}


def generate(people: int, seed: int, today: date) -> list[DemoPerson]:
    rng = np.random.default_rng(seed)
    phq = [i.code for i in instruments()["phq-9"].items]
    gad = [i.code for i in instruments()["gad-7"].items]
    out: list[DemoPerson] = []
    for n in range(people):
        age = int(np.clip(rng.gamma(6.0, 6.5), 18, 85))
        birth = today - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
        team = TEAMS[int(rng.choice(3, p=[0.45, 0.40, 0.15]))]
        referral = today - timedelta(days=int(rng.integers(21, 420)))
        n_sessions = int(np.clip(rng.poisson(7.5), 1, 16))
        start_sev = float(np.clip(rng.normal(1.75, 0.5), 0.3, 2.9))
        rate = float(rng.normal(0.09, 0.07))  # latent improvement per week (some get worse)
        first = datetime.combine(referral + timedelta(days=int(rng.integers(7, 35))), datetime.min.time(), UTC)
        first += timedelta(hours=int(rng.integers(9, 17)))
        sessions = []
        for k in range(n_sessions):
            when = first + timedelta(days=7 * k + int(rng.integers(0, 3)))
            if when.date() > today:
                break
            sev = max(0.0, start_sev - rate * k + rng.normal(0, 0.15))
            sessions.append((when, _answers(rng, sev, phq), _answers(rng, sev * 0.95, gad)))
        finished = bool(sessions) and (sessions[-1][0].date() + timedelta(days=14) < today) and rng.random() < 0.8
        disengaged = finished and rng.random() < 0.2
        ep = DemoEpisode(
            team,
            referral,
            _choice(rng, {"self": 0.45, "gp": 0.45, "secondary_care": 0.05, "other": 0.05}),
            _choice(rng, PROBLEMS),
            _choice(rng, PATHWAYS),
            sessions[-1][0].date() + timedelta(days=7) if finished else None,
            ("disengaged" if disengaged else "completed") if finished else None,
            sessions,
        )
        lithium: list[tuple[datetime, float]] = []
        if rng.random() < 0.08:  # on lithium: three-monthly levels around a personal setpoint
            setpoint = float(rng.normal(0.65, 0.12))
            for k in range(int(rng.integers(4, 9))):
                t = datetime.combine(today - timedelta(days=90 * k + 10), datetime.min.time(), UTC) + timedelta(hours=9)
                lithium.append((t, round(max(0.1, setpoint + rng.normal(0, 0.06)), 2)))
        sex = "female" if rng.random() < 0.64 else "male"
        out.append(
            DemoPerson(
                f"demo-{seed}-{n:05d}",
                GIVEN[int(rng.integers(len(GIVEN)))],
                FAMILY[int(rng.integers(len(FAMILY)))],
                birth,
                sex,
                _choice(rng, ETHNICITY),
                int(rng.integers(1, 11)),
                "en" if rng.random() < 0.9 else _choice(rng, {"pl": 1, "ur": 1, "pa": 1, "ro": 1, "bn": 1}),
                _nhs_number(rng),
                ep,
                sorted(lithium),
            )
        )
    return out
