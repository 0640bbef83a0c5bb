"""DIALOG: a mean-scored instrument (Priebe et al. 2007; dialog.elft.nhs.uk): hand-worked means, the missing-item
rule, its stored observations, and the instrument model refusing what a mean cannot have."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from idiograph.instruments.definitions import Instrument, instruments
from idiograph.measures.scoring import score

DIALOG = instruments()["dialog"]
CODES = [i.code for i in DIALOG.items]
SQOL = ("urn:idiograph:code", "dialog-sqol")
TREATMENT = ("urn:idiograph:code", "dialog-treatment")


def answers(values: list[int | None]) -> dict[str, int | None]:
    return dict(zip(CODES, values, strict=True))


def test_the_file_is_dialog_as_published() -> None:
    assert len(DIALOG.items) == 11 and DIALOG.scoring == "mean" and DIALOG.higher_is_better
    assert DIALOG.mean_items == tuple(CODES[:8])  # 8 life domains
    assert DIALOG.subscales[0].items == tuple(CODES[8:])  # 3 treatment items
    assert [a.value for a in DIALOG.answers] == [1, 2, 3, 4, 5, 6, 7]
    assert (DIALOG.min_total, DIALOG.max_total) == (1, 7)
    assert DIALOG.bands == () and DIALOG.caseness is None and DIALOG.reliable_change is None
    assert "mental health" in DIALOG.items[0].text and "professionals" in DIALOG.items[10].text


def test_hand_worked_means() -> None:
    # life domains 1+2+3+4+5+6+7+7 = 35, / 8 = 4.375; treatment 2+4+6 = 12, / 3 = 4.0
    s = score(DIALOG, answers([1, 2, 3, 4, 5, 6, 7, 7, 2, 4, 6]))
    assert dict(s.means) == {SQOL: 4.375, TREATMENT: 4.0}
    # never a total or a band: a mean is not a sum
    assert s.total is None and s.band is None and not s.prorated
    # 7 x 8 / 8 = 7; 1 x 3 / 3 = 1 (the ends of the scale)
    assert dict(score(DIALOG, answers([7] * 8 + [1] * 3)).means) == {SQOL: 7.0, TREATMENT: 1.0}


def test_a_missing_item_leaves_only_its_own_mean_missing() -> None:
    """No published proration rule: any missing item of a score leaves that score missing, never guessed."""
    s = score(DIALOG, answers([5, 5, 5, 5, 5, 5, 5, 5, 3, 3, None]))
    assert dict(s.means) == {SQOL: 5.0, TREATMENT: None}
    assert s.missing == (CODES[10],)
    s = score(DIALOG, answers([None, 5, 5, 5, 5, 5, 5, 5, 3, 3, 6]))
    assert dict(s.means) == {SQOL: None, TREATMENT: 4.0}


def test_answers_off_the_scale_are_refused() -> None:
    with pytest.raises(ValueError, match=r"dialog-01: answer 0 not one of \[1, 2, 3, 4, 5, 6, 7\]"):
        score(DIALOG, answers([0, 5, 5, 5, 5, 5, 5, 5, 3, 3, 6]))
    with pytest.raises(ValueError, match="dialog-05: answer 8"):
        score(DIALOG, answers([1, 5, 5, 5, 8, 5, 5, 5, 3, 3, 6]))


def test_summed_instruments_are_scored_as_before() -> None:
    phq9 = instruments()["phq-9"]
    s = score(phq9, {i.code: 1 for i in phq9.items})
    assert (s.total, s.band, s.means) == (9, "mild", ())


def _raw(**change: object) -> dict[str, object]:
    data = DIALOG.model_dump()
    data.update(change)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bands": [{"min": 1, "max": 7, "label": "any"}]}, "no bands or caseness"),
        ({"total_items": ["dialog-01", "nope"]}, "total_items: nope not items"),
        ({"missing_rule": {"max_missing": 3, "method": "prorate"}}, "subscales.treatment would have no item left"),
        ({"scoring": "sum"}, "total_items and subscales are for mean scoring only"),
        (
            {"items": [*DIALOG.model_dump()["items"][:10], {**DIALOG.model_dump()["items"][10], "reverse": True}]},
            "a mean score has no reverse-scored items",
        ),
    ],
)
def test_the_model_refuses_what_a_mean_cannot_have(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Instrument.model_validate(_raw(**change))


def test_a_summed_instrument_still_needs_bands() -> None:
    data = instruments()["wsas"].model_dump()
    data["bands"] = []
    with pytest.raises(ValidationError, match="a summed instrument needs bands"):
        Instrument.model_validate(data)
