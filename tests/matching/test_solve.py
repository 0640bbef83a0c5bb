"""The batch match: optimal against an exact solver, hard constraints kept, bad input named, nobody dropped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idiograph.errors import InvalidInput
from idiograph.languages import is_english
from idiograph.matching.solve import Person, Therapist, exact_by_assignment, solve

DOMAINS = ("depression", "anxiety", "trauma")


def _instance(seed: int, n: int, m: int, constraints: bool) -> tuple[list[Person], list[Therapist]]:
    rng = np.random.default_rng(seed)
    people = [
        Person(
            f"p{i}",
            str(rng.choice(DOMAINS)),
            str(rng.choice(["en", "pl", "ur"])) if constraints and rng.random() < 0.4 else None,
            str(rng.choice(["video", "in_person"])) if constraints and rng.random() < 0.4 else None,
        )
        for i in range(n)
    ]
    therapists = [
        Therapist(
            f"t{j}",
            int(rng.integers(0, 4)),
            {d: round(float(rng.normal(0, 1)), 3) for d in DOMAINS},
            frozenset(rng.choice(["en", "pl", "ur"], size=int(rng.integers(1, 3)), replace=False))
            if constraints
            else None,
            frozenset(rng.choice(["video", "in_person"], size=int(rng.integers(1, 3)), replace=False))
            if constraints
            else None,
        )
        for j in range(m)
    ]
    return people, therapists


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 14), m=st.integers(1, 6), constraints=st.booleans())
def test_the_match_is_optimal_against_the_hungarian_algorithm_on_replicated_capacity(
    seed: int, n: int, m: int, constraints: bool
) -> None:
    people, therapists = _instance(seed, n, m, constraints)
    result = solve(people, therapists)
    count, total = exact_by_assignment(people, therapists)
    assert result.assigned == count  # everyone assigned while capacity (and the constraints) allow
    assert result.objective == pytest.approx(total, abs=1e-6)  # and the most strength among such answers
    # the answer is feasible: capacity kept, constraints kept, every person once
    assert [a.person_id for a in result.assignments] == [p.person_id for p in people]
    used: dict[str, int] = {}
    by_id = {t.clinician_id: t for t in therapists}
    for p, a in zip(people, result.assignments, strict=True):
        if a.clinician_id is None:
            continue
        used[a.clinician_id] = used.get(a.clinician_id, 0) + 1
        t = by_id[a.clinician_id]
        assert a.strength == t.strengths[p.domain]
        assert is_english(p.language) or t.languages is None or p.language in t.languages
        assert not p.preferred_format or t.formats is None or p.preferred_format in t.formats
    assert all(used[c] <= by_id[c].capacity for c in used)


def test_a_hand_worked_case_prefers_more_people_assigned_over_more_strength() -> None:
    # t1 has one place and is strongest for depression (9); t2 is very weak for anxiety (-100). Most strength would be
    # depression with t1 alone, or both with -91; most people first, then strength: anxiety-t1 (5) + depression-t2
    # (1) = 6 beats depression-t1 (9) + anxiety-t2 (-100).
    people = [Person("a", "anxiety"), Person("d", "depression")]
    therapists = [
        Therapist("t1", 1, {"anxiety": 5.0, "depression": 9.0}),
        Therapist("t2", 1, {"anxiety": -100.0, "depression": 1.0}),
    ]
    result = solve(people, therapists)
    assert {a.person_id: a.clinician_id for a in result.assignments} == {"a": "t1", "d": "t2"}
    assert result.objective == 6.0 and result.assigned == 2


def test_without_capacity_people_are_waitlisted_and_those_nobody_can_take_say_why() -> None:
    people = [Person("p1", "depression"), Person("p2", "depression"), Person("p3", "anxiety", language="ur")]
    therapists = [Therapist("t1", 1, {"depression": 1.0, "anxiety": 2.0}, languages=frozenset({"en"}))]
    result = solve(people, therapists)
    by = {a.person_id: a for a in result.assignments}
    assert by["p1"].clinician_id == "t1" and by["p2"].clinician_id is None and "full" in by["p2"].reasons
    assert by["p3"].clinician_id is None and "language ur" in by["p3"].reasons
    assert result.unassignable == {"p3": by["p3"].reasons} and result.waitlisted == 2


def test_bad_tables_are_refused_naming_every_problem() -> None:
    with pytest.raises(InvalidInput) as e:
        solve(
            [Person("p1", "psychosis"), Person("p1", "depression")],
            [Therapist("t1", -1, {"depression": float("nan")}), Therapist("t1", 2, {"depression": 1.0})],
        )
    fields = {p.field for p in e.value.problems}
    assert fields == {"domain", "capacity", "strength_depression", "clinician_id", "person_id"}
