"""NHS Talking Therapies outcome definitions against hand-worked episodes (CLINICAL.md section 2)."""

from __future__ import annotations

import pytest

from idiograph.monitoring.outcomes.nhs_talking_therapies import at_caseness, classify, service_rates


def test_caseness_thresholds_are_inclusive() -> None:
    assert at_caseness(10, 0) and at_caseness(0, 8)
    assert not at_caseness(9, 7)


@pytest.mark.parametrize(
    ("paired", "expected"),
    [
        # (first, last) -> caseness, recovered, reliable improvement, reliable deterioration, reliable recovery
        ([(15, 12), (6, 5)], (True, True, True, False, True)),  # PHQ -9, GAD -7
        ([(12, 9), (9, 7)], (True, True, False, False, False)),  # crossed below caseness, change not reliable
        ([(15, 12), (9, 8)], (True, False, True, False, False)),  # reliable PHQ drop, GAD still 8 = caseness
        ([(10, 8), (16, 8)], (True, False, False, True, False)),  # PHQ +6 exactly: reliable deterioration
        ([(20, 15), (14, 19)], (True, False, False, True, False)),  # PHQ -6 but GAD +4: no reliable improvement
        ([(8, 6), (2, 1)], (False, False, True, False, False)),  # not at caseness: cannot recover, can improve
        ([(14, 10)], (True, False, False, False, False)),  # one score only: no change
    ],
)
def test_hand_worked_episodes(paired: list[tuple[int, int]], expected: tuple[bool, ...]) -> None:
    o = classify(paired, attended_treatment=3)
    assert (
        o.caseness_start,
        o.recovered,
        o.reliable_improvement,
        o.reliable_deterioration,
        o.reliable_recovery,
    ) == expected


def test_service_rates_use_the_national_denominators() -> None:
    finished = [classify(p, 2) for p in ([(15, 12), (6, 5)], [(15, 12), (9, 8)], [(8, 6), (2, 1)], [(10, 8), (16, 8)])]
    unfinished = classify([(20, 15), (3, 2)], attended_treatment=1)  # one treatment contact: not finished
    r = service_rates([*finished, unfinished])
    assert r.finished == 4
    assert (r.recovery.numerator, r.recovery.denominator) == (1, 3)  # finished minus not at caseness at start
    assert (r.reliable_improvement.numerator, r.reliable_improvement.denominator) == (3, 4)
    assert (r.reliable_recovery.numerator, r.reliable_recovery.denominator) == (1, 3)
    assert (r.reliable_deterioration.numerator, r.reliable_deterioration.denominator) == (1, 4)
    assert str(r.recovery) == "33.3% (1/3)"


def test_a_finished_episode_without_paired_scores_counts_against_the_rates() -> None:
    """As the Reports page and `report kpis` count it (NHS England's Core Data Pack): a finished course with no
    paired scores is not known to have started below caseness, so it stays in every denominator."""
    recovered = classify([(15, 12), (6, 5)], 2)
    unpaired = classify([], 3)
    r = service_rates([recovered, unpaired])
    assert r.finished == 2
    assert (r.recovery.numerator, r.recovery.denominator) == (1, 2)
    assert (r.reliable_improvement.numerator, r.reliable_improvement.denominator) == (1, 2)
    assert (r.reliable_deterioration.numerator, r.reliable_deterioration.denominator) == (0, 2)
