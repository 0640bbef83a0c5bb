"""The person's own page says "better" the instrument's way: down on PHQ-9, up on DIALOG (a satisfaction mean)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from idiograph.care import in_words
from idiograph.instruments.definitions import ReliableChange, instruments

TODAY = date(2026, 12, 4)
T0, T1 = datetime(2026, 10, 1, 12, tzinfo=UTC), datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_dialog_says_higher_is_more_satisfied_and_judges_no_change() -> None:
    s = in_words.story(instruments()["dialog"], [(T0, 3.0), (T1, 4.375)], TODAY)
    assert s is not None
    assert "DIALOG (how satisfied you are with your life) average score was 4.38 on 26 Nov" in s.sentence
    assert "compared with 3 when you started" in s.sentence  # no reliable-change rule: no judgement
    assert s.how_judged.startswith("Higher scores mean you are more satisfied (the DIALOG goes from 1 to 7")
    assert "no agreed size of a real change" in s.how_judged and not s.worse


def test_a_rise_on_a_higher_is_better_scale_is_an_improvement_not_a_warning() -> None:
    rule = ReliableChange(sd=1.0, reliability=0.5, points=1, source="test")
    dialog = instruments()["dialog"].model_copy(update={"reliable_change": rule})
    up = in_words.story(dialog, [(T0, 3.0), (T1, 5.0)], TODAY)
    down = in_words.story(dialog, [(T0, 5.0), (T1, 3.0)], TODAY)
    assert up is not None and down is not None
    assert "up from 3 when you started: that is a big improvement" in up.sentence and not up.worse
    assert "down from 5 when you started: that is a real change for the worse" in down.sentence and down.worse


def test_phq9_keeps_its_words() -> None:
    s = in_words.story(instruments()["phq-9"], [(T0, 15.0), (T1, 8.0)], TODAY)
    assert s is not None
    assert "PHQ-9 (low mood) score was 8 on 26 Nov, down from 15 when you started: that is a big improvement" in (
        s.sentence
    )
    assert s.how_judged.startswith("Lower scores mean fewer difficulties (the PHQ-9 goes from 0 to 27)")
