"""People's experience of choice: per question, the counted answers over the answered, with the national wording,
under disclosure control (hand-worked Wilson intervals)."""

from __future__ import annotations

import pytest

from idiograph.reporting.experience import rates

Q1, Q2, Q3 = "747861000000100", "747871000000107", "747881000000109"
INVOLVED = "747921000000103"


def _assessment() -> list[tuple[str, dict[str, str]]]:
    # 20 people. Q1: 16 Yes, 4 No. Q2: 12 prefer a treatment. Q3 among those 12: 9 Yes, 2 No, 1 not applicable
    # (11 counted); the 8 without a preference answered Q3 "not applicable" or Yes and are not counted.
    out = []
    for i in range(20):
        q3 = "Y" if i < 9 else "N" if i < 11 else "NA" if i < 12 else ("Y" if i % 2 else "NA")
        out.append(("peq-assessment", {Q1: "Y" if i < 16 else "N", Q2: "Y" if i < 12 else "N", Q3: q3}))
    return out


def _row(rows: list[dict[str, object]], form: str, code: str) -> dict[str, object]:
    return next(r for r in rows if r["form"] == form and r["code"] == code)


def test_assessment_questions_by_hand() -> None:
    rows = rates(_assessment())
    info = _row(rows, "peq-assessment", Q1)
    assert info["question"] == (
        "Were you given information about options for choosing a treatment that is appropriate for your problems?"
    )
    assert info["source"] == "PEQ" and info["counted"] == "Yes" and info["responses"] == 20
    # 16 of 20 = 80.0% (Wilson 58.4% to 91.9%), published as 15 of 20 (rounded to 5)
    assert (info["numerator"], info["denominator"], info["rate"], info["ci"]) == (15, 20, 80.0, [58.4, 91.9])
    offered = _row(rows, "peq-assessment", Q3)
    # 9 of 11 = 81.8% (Wilson 52.3% to 94.9%); not applicable and people without a preference left out
    assert (offered["rate"], offered["ci"]) == (81.8, [52.3, 94.9])
    assert (offered["numerator"], offered["denominator"]) == (10, 10)
    assert offered["among"] == "people answering Yes to Assessment Q2"


def test_involved_counts_most_or_all_of_the_time() -> None:
    answers = ["4"] * 5 + ["3"] * 5 + ["2"] * 3 + ["0"] * 2 + ["NA"] * 3
    rows = rates([("peq-discharge", {INVOLVED: a}) for a in answers])
    involved = _row(rows, "peq-discharge", INVOLVED)
    assert involved["counted"] == "Most of the time or all of the time"
    # 10 of 15 = 66.7% (Wilson 41.7% to 84.8%); the 3 "not applicable" are left out
    assert (involved["rate"], involved["ci"], involved["numerator"], involved["denominator"]) == (
        66.7,
        [41.7, 84.8],
        10,
        15,
    )
    # no assessment forms: their questions have no denominator and no rate
    assert _row(rows, "peq-assessment", Q1)["rate"] is None


def test_small_numbers_are_withheld() -> None:
    small = _row(rates(_assessment()[:5]), "peq-assessment", Q1)
    assert small["suppressed"] and small["rate"] is None and small["numerator"] is None


def test_a_bad_answer_or_form_names_it() -> None:
    with pytest.raises(ValueError, match=Q1):
        rates([("peq-assessment", {Q1: "maybe"})])
    with pytest.raises(ValueError, match="form"):
        rates([("peq-nope", {Q1: "Y"})])
