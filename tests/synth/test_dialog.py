"""The demo's DIALOG draws (pure): when a person is rated and what they answer."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import numpy as np

from idiograph.instruments.definitions import instruments
from idiograph.measures.scoring import score, validate_answers
from idiograph.synth.person import dialog

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
DIALOG = instruments()["dialog"]
WEEKLY = [T0 + timedelta(weeks=k) for k in range(16)]


def _sqol(answers: dict[str, int | None]) -> float | None:
    """The subjective-quality-of-life mean as the instrument scores it (None with a life domain blank)."""
    assert validate_answers(DIALOG, answers) == []
    return score(DIALOG, answers).means[0][1]


def test_times_are_the_first_appointment_and_the_review_or_the_last_before_discharge() -> None:
    seen: dict[tuple[bool, int], int] = {}
    for k in range(400):
        for discharged in (True, False):
            rng = np.random.default_rng([1, k])
            when = dialog.times(rng, WEEKLY, discharged, NOW)
            assert len(when) == 2
            first, second = when
            assert first in (None, T0 + timedelta(minutes=30))
            # discharged: at the last appointment; open: at the first one 12 weeks or more after the first
            expected = WEEKLY[-1] if discharged else WEEKLY[12]
            assert second in (None, expected + timedelta(minutes=30))
            key = (discharged, (first is not None) + (second is not None))
            seen[key] = seen.get(key, 0) + 1
    # most are rated at the start and most again, some not: about 0.85 x 0.7 = 60% rated twice
    for discharged in (True, False):
        assert 0.5 < seen[(discharged, 2)] / 400 < 0.7
        assert seen.get((discharged, 0), 0) > 0
    # one appointment: never a second; an open episode shorter than 12 weeks: no review yet; nothing after now
    assert dialog.times(np.random.default_rng(2), WEEKLY[:1], True, NOW)[1] is None
    assert all(dialog.times(np.random.default_rng([3, k]), WEEKLY[:12], False, NOW)[1] is None for k in range(50))
    assert all(t is None for t in dialog.times(np.random.default_rng(4), WEEKLY, True, T0 - timedelta(days=1)))
    assert dialog.times(np.random.default_rng(5), [], True, NOW) == []


def test_answers_are_on_the_scale_start_near_four_and_rise_with_a_phq9_improvement() -> None:
    improved = [(T0, 20.0), (WEEKLY[-1], 8.0)]  # 12 PHQ-9 points better
    same = [(T0, 15.0), (WEEKLY[-1], 15.0)]
    when = [T0, WEEKLY[-1]]
    starts: list[float] = []
    blank = 0
    changes: dict[str, list[float]] = {"improved": [], "same": []}
    codes = {i.code for i in DIALOG.items}
    for k in range(600):
        for name, phq9 in (("improved", improved), ("same", same)):
            first, second = dialog.ratings(np.random.default_rng([7, k, name == "same"]), when, phq9)
            for r in (first, second):
                assert all(v is None or 1 <= v <= 7 for v in r.answers.values())
                assert set(r.answers) == codes
                blank += _sqol(r.answers) is None
            a, b = _sqol(first.answers), _sqol(second.answers)
            if a is not None:
                starts.append(a)
            if a is not None and b is not None:
                changes[name].append(b - a)
    assert 3.5 < statistics.fmean(starts) < 4.5
    # 12 points x 0.07 + 0.05 drift = 0.89 on the level, the mental-health item half as much again (+0.06 on the
    # mean); no PHQ-9 change: the drift alone (0.05, + 0.003). Standard errors about 0.025 over ~560 pairs.
    assert 0.8 < statistics.fmean(changes["improved"]) < 1.05
    assert -0.03 < statistics.fmean(changes["same"]) < 0.15
    # a few forms leave the job item blank and have no mean: 3% of 2,400 is 72
    assert 40 < blank < 110


def test_a_skipped_first_rating_leaves_the_second_alone() -> None:
    out = dialog.ratings(np.random.default_rng(9), [None, WEEKLY[-1]], [(T0, 20.0), (WEEKLY[-1], 8.0)])
    assert [r.at for r in out] == [WEEKLY[-1]]
