"""The intake record as the options model's covariates."""

from __future__ import annotations

from idiograph.selection.episodes import COVARIATES, INTAKE, _intake


def test_the_intake_record_becomes_covariates_with_not_recorded_kept_apart_from_no() -> None:
    assert set(INTAKE) <= set(COVARIATES)
    assert _intake(None) == dict.fromkeys(INTAKE)  # no intake at all: every value missing
    agreed = _intake(
        {
            "problem_duration_months": 30,
            "previous_treatment": "cbt",
            "previous_response": "partial",
            "current_medication": "Sertraline 100 mg",
            "psychosocial_recorded": True,
            "housing": "settled",
            "money_worries": True,
        }
    )
    assert agreed["problem_duration_months"] == 30 and agreed["previous_response"] == "partial"
    assert agreed["current_medication"] == 1.0 and agreed["money_worries"] == 1.0
    assert agreed["caring_responsibilities"] == 0.0  # recorded context, not ticked: no
    assert agreed["social_support"] is None  # a choice not made stays missing
    declined = _intake({"problem_duration_months": 3, "psychosocial_recorded": False, "current_medication": "  "})
    assert declined["current_medication"] == 0.0
    assert declined["money_worries"] is None and declined["housing"] is None  # not agreed: missing, not no
