"""The synthetic service's teams and staff, with each clinician's true strengths by problem domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from idiograph.synth.common import CMHT, FAMILY, GIVEN_F, GIVEN_M, TALKING, uid
from idiograph.synth.params import Params


@dataclass
class Clinician:
    """A member of staff: team, role, caseload capacity, what they offer, and true strengths by domain."""

    id: str
    team_id: str
    name: str
    role: str
    capacity: int
    languages: list[str]
    modalities: list[str]
    formats: list[str]
    strengths: dict[str, float]


@dataclass
class Service:
    """The teams and their staff that people are referred to."""

    teams: list[dict[str, Any]]
    clinicians: list[Clinician]


def generate_service(params: Params, people: int, seed: int) -> Service:
    """Teams and staff, sized to the number of people, with true strengths by problem domain."""
    rng = np.random.default_rng([seed, 0])
    teams, clinicians = [], []
    domains = sorted({p.domain for p in params.problems.values()})
    for t in params.service.teams:
        tid = uid(seed, "team", t.name)
        teams.append({"team_id": tid, "name": t.name, "kind": t.kind})
        share = t.share / sum(x.share for x in params.service.teams)
        n_clin = max(2, int(np.ceil(people * share / params.service.people_per_clinician)))
        options = list(CMHT if t.kind == "cmht" else TALKING)
        for k in range(n_clin + params.service.coordinators_per_team):
            role = "clinician" if k < n_clin else "care_coordinator"
            langs = ["en", *[lang for lang, s in params.service.languages.items() if lang != "en" and rng.random() < s]]
            mods = sorted(set(rng.choice(options, size=min(3, len(options)), replace=False).tolist()))
            formats = ["in_person", *[f for f in ("video", "phone") if rng.random() < 0.8]]
            strengths = {d: float(rng.normal(0, params.service.strength_sd)) for d in domains}
            clinicians.append(
                Clinician(
                    uid(seed, "clinician", t.name, k),
                    tid,
                    f"{GIVEN_F[k % 20] if k % 2 else GIVEN_M[k % 20]} {FAMILY[(k * 7) % 30]}",
                    role,
                    int(rng.integers(18, 31)),
                    langs,
                    mods,
                    formats,
                    strengths,
                )
            )
    return Service(teams, clinicians)
