"""The synthetic service's intake agrees with its truth, and its allocation is confounded by severity with the
overlap real services have (every talking-therapies option given across the severity range)."""

from __future__ import annotations

import numpy as np
import pytest

from idiograph.synth import params as synth_params
from idiograph.synth.common import TALKING
from idiograph.synth.generator import generate_person, generate_service
from idiograph.synth.person.illness import allocation_chances

P = synth_params.load()
N = 3000


@pytest.fixture(scope="module")
def people() -> list[tuple[dict, dict, dict]]:  # type: ignore[type-arg]
    service = generate_service(P, N, 17)
    out = []
    for i in range(N):
        g = generate_person(P, service, 17, i)
        out.append((g.tables["intake"][0], g.tables["truth_people"][0], g.tables["episodes"][0]))
    return out


def test_intake_agrees_with_the_truth(people) -> None:  # type: ignore[no-untyped-def]
    for intake, truth, episode in people:
        assert (intake["problem_duration_months"] > 24) == bool(truth["chronic"])
        if truth["prior_response"]:
            assert intake["previous_treatment"] and intake["previous_response"] in ("good", "partial")
        else:
            assert intake["previous_response"] in (None, "partial", "none", "ended_early")
        assert (intake["previous_treatment"] is None) == (intake["previous_response"] is None)
        assert intake["person_id"] == truth["person_id"] and intake["episode_id"] == episode["episode_id"]
        if not intake["psychosocial_recorded"]:
            assert intake["housing"] is None and intake["work"] is None
        goals = [intake[f"goal_{i}"] for i in (1, 2, 3)]
        ratings = [intake[f"goal_{i}_rating"] for i in (1, 2, 3)]
        assert goals[0] is not None and all((g is None) == (r is None) for g, r in zip(goals, ratings, strict=True))
        assert all(0 <= r <= 10 for r in ratings if r is not None)
    good = np.mean([i["previous_response"] == "good" for i, t, _ in people if t["prior_response"]])
    assert 0.75 < good < 0.85  # drawn at 0.8


def test_allocation_follows_its_chances_and_every_option_is_given_at_every_severity(people) -> None:  # type: ignore[no-untyped-def]
    talking = [(t, e) for _, t, e in people if "chance_guided_self_help" in t]
    severity = np.array([t["intake_latent_depression"] for t, _ in talking])
    edges = np.quantile(severity, [0.2, 0.4, 0.6, 0.8])
    fifth = np.searchsorted(edges, severity)
    for q in range(5):
        given = [e["pathway"] for (t, e), f in zip(talking, fifth, strict=True) if f == q]
        for option in TALKING:
            assert given.count(option) / len(given) >= 0.02, (q, option)
    # stepped care: guided self-help falls and CBT rises with severity
    gsh = [
        np.mean([e["pathway"] == "guided_self_help" for (t, e), f in zip(talking, fifth, strict=True) if f == q])
        for q in (0, 4)
    ]
    cbt = [np.mean([e["pathway"] == "cbt" for (t, e), f in zip(talking, fifth, strict=True) if f == q]) for q in (0, 4)]
    assert gsh[0] > 3 * gsh[1] and cbt[1] > 3 * cbt[0]
    # the recorded chances are the allocation's: observed shares agree within four standard errors
    for option in TALKING:
        chances = np.array([t[f"chance_{option}"] for t, _ in talking])
        given = np.array([e["pathway"] == option for _, e in talking])
        se = np.sqrt(np.sum(chances * (1 - chances))) / len(talking)
        assert abs(given.mean() - chances.mean()) < 4 * se, option


def test_chances_sum_to_one_and_move_with_severity() -> None:
    mild = allocation_chances(P, "talking_therapies", P.severity.intake_mean - 1.0)
    severe = allocation_chances(P, "talking_therapies", P.severity.intake_mean + 1.0)
    assert sum(mild.values()) == pytest.approx(1) and sum(severe.values()) == pytest.approx(1)
    assert set(mild) == set(TALKING)
    assert mild["guided_self_help"] > severe["guided_self_help"] and mild["cbt"] < severe["cbt"]
    cmht = allocation_chances(P, "cmht", P.severity.intake_mean)
    assert set(cmht) == {"medication_review", "cbt", "creative_therapies"}
