"""The reasons an allocator reads beside each suggested therapist: direction in words, never '-0.0'."""

import uuid

from idiograph.matching.model import Therapist
from idiograph.matching.preferences import places_words as _places_words
from idiograph.matching.service import Candidate, strength_words


def _c(strength: float, lower: float, upper: float, cases: int, klass: str, met: tuple[str, ...] = ()) -> Candidate:
    t = Therapist(id=uuid.uuid4(), code="x", name="Sam Lee", capacity=1)
    return Candidate(t, strength, lower, upper, cases, klass, 0.0, met, (), None)


def test_strength_says_more_or_less_improvement_than_average() -> None:
    assert strength_words(_c(1.24, 0.3, 2.1, 30, "effective")) == (
        "1.2 PHQ-9 points more improvement than the service average (95% interval +0.3 to +2.1; 30 cases: "
        "more effective than average)"
    )
    assert strength_words(_c(-0.8, -1.9, 0.04, 18, "neutral")).startswith(
        "0.8 PHQ-9 points less improvement than the service average (95% interval -1.9 to 0.0;"
    )
    low = strength_words(_c(-0.03, -1.0, 0.9, 6, "too_few"))
    assert (
        low.startswith("about the service average improvement")
        and "-0.0" not in low
        and "only 6 cases: too few cases to say" in low
    )
    assert "no finished episodes" in strength_words(_c(0.0, 0.0, 0.0, 0, "too_few"))


def test_places_read_as_words() -> None:
    assert _places_words(["remote", "clinic"]) == "remotely or at a clinic"
    assert _places_words(["home", "community", "gp_surgery"]) == "at home or in the community or at gp surgery"
