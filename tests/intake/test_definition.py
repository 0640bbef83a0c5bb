"""The intake assessment's definition loads and validates, and a record's answers are checked field by field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from idiograph.intake.definition import Definition, definition, problems
from idiograph.synth.person.intake import SOCIAL

COMPLETE = {
    "presenting_problem": "depression",
    "problem_duration_months": 30,
    "previous_treatment": "cbt",
    "previous_response": "partial",
    "current_medication": "Sertraline 100 mg",
    "psychosocial_recorded": True,
    "housing": "unsettled",
    "work": "employed",
    "social_support": "some",
    "caring_responsibilities": True,
    "money_worries": False,
    "substance_use": "none",
    "long_term_condition": False,
    "neurodivergence": "adhd",
    "culture_faith_identity": "Would like a woman therapist",
    "goals": [{"goal": "Get back to work", "rating": 3}, {"goal": "Sleep through the night", "rating": 2}],
}


def _fields(answers: dict) -> list[str]:  # type: ignore[type-arg]
    return [p.field for p in problems(answers)]


def test_the_shipped_definition_loads_with_every_profession_and_the_synthetic_vocabulary() -> None:
    d = definition()
    assert d.version >= 1 and set(d.professions) == {
        "psychiatrist", "clinical_psychologist", "psychological_therapist", "mental_health_nurse", "social_worker",
        "occupational_therapist", "peer_support_worker", "gp",
    }  # fmt: skip
    for name in SOCIAL:  # the synthetic service records the same fields, in the same words
        assert d.field(name) is not None, name
    assert problems(COMPLETE) == []


def test_each_wrong_answer_is_named() -> None:
    bad = COMPLETE | {
        "presenting_problem": "sadness",
        "problem_duration_months": -1,
        "housing": "castle",
        "money_worries": "yes",
        "goals": [{"goal": "", "rating": 11}],
        "shoe_size": 9,
    }
    assert sorted(_fields(bad)) == sorted(
        ["presenting_problem", "problem_duration_months", "housing", "money_worries", "goals", "goals", "shoe_size"]
    )
    assert _fields({k: v for k, v in COMPLETE.items() if k != "presenting_problem"}) == ["presenting_problem"]


def test_psychosocial_context_is_recorded_only_with_the_persons_agreement() -> None:
    declined = COMPLETE | {"psychosocial_recorded": False}
    named = _fields(declined)
    assert "housing" in named and "work" in named and "presenting_problem" not in named
    without = {k: v for k, v in COMPLETE.items() if k not in SOCIAL and k != "culture_faith_identity"}
    assert problems(without | {"psychosocial_recorded": False}) == []


def test_a_response_needs_a_previous_treatment() -> None:
    assert _fields(COMPLETE | {"previous_treatment": "none"}) == ["previous_response"]


def test_a_definition_with_a_duplicated_or_dangling_field_is_refused() -> None:
    raw = definition().model_dump()
    raw["sections"][1]["fields"][0]["id"] = "presenting_problem"
    with pytest.raises(ValidationError, match="used twice"):
        Definition.model_validate(raw)
    raw = definition().model_dump()
    raw["sections"][1]["fields"][1]["requires"] = "nothing"
    with pytest.raises(ValidationError, match="not a field"):
        Definition.model_validate(raw)


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))))
def test_any_answers_get_reasons_never_an_error(answers: dict) -> None:  # type: ignore[type-arg]
    for p in problems(answers):
        assert p.field and p.reason
