"""The pure preference fit: met and unmet in words, and the weighted score (weights from matching.yaml)."""

from __future__ import annotations

from idiograph.matching.preferences import fit
from idiograph.matching.settings import Weights

W = Weights(preferred_format=1.0, preferred_place=0.5, preferred_gender=1.0, continuity=1.5)


def test_every_preference_met_adds_its_weight() -> None:
    prefs = {"formats": ["video", "group"], "places": ["home"], "therapist_gender": "female"}
    f = fit(prefs, ["video", "face_to_face"], ["home", "clinic"], "female", True, W)
    assert f.score == 1.0 + 0.5 + 1.0 + 1.5
    assert f.met == ("offers video", "sees people at home", "female therapist", "saw them before (continuity)")
    assert f.unmet == ()


def test_unmet_preferences_are_named_and_score_nothing() -> None:
    prefs = {"formats": ["telephone"], "places": ["community", "remote"], "therapist_gender": "male"}
    f = fit(prefs, ["video"], ["clinic"], "female", False, W)
    assert f.score == 0.0
    assert f.met == ()
    assert f.unmet == ("offers telephone", "sees people in the community or remotely", "male therapist")


def test_group_is_not_a_therapist_preference_and_a_zero_weight_is_silent() -> None:
    f = fit(
        {"formats": ["group"], "places": ["home"]}, [], ["home"], None, True, W.model_copy(update={"continuity": 0})
    )
    assert f.met == ("sees people at home",)
    assert f.score == 0.5


def test_no_preferences_stated_is_a_neutral_fit() -> None:
    assert fit({}, ["video"], ["clinic"], "male", False, W) == fit({"formats": []}, [], [], None, False, W)
    assert fit({}, ["video"], ["clinic"], "male", False, W).score == 0.0
