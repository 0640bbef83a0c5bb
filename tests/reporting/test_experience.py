"""People's experience of choice: per question, the counted answers over the answered, with the national wording,
under disclosure control (hand-worked Wilson intervals)."""

from __future__ import annotations

import pytest

from idiograph.reporting.experience import rates

Q1, Q2, Q3 = "747861000000100", "747871000000107", "747881000000109"
INVOLVED = "747921000000103"


def _assessment() -> list[tuple[str, dict[str, str]]]:
    # 40 people. Q1: 24 Yes, 16 No. Q2: 30 prefer a treatment. Q3 among those 30: 12 Yes, 10 No, 8 not applicable
    # (22 counted); the 10 without a preference answered Q3 "not applicable" or Yes and are not counted.
    out = []
    for i in range(40):
        q3 = "Y" if i < 12 else "N" if i < 22 else "NA" if i < 30 else ("Y" if i % 2 else "NA")
        out.append(("peq-assessment", {Q1: "Y" if i < 24 else "N", Q2: "Y" if i < 30 else "N", Q3: q3}))
    return out


def _row(rows: list[dict[str, object]], form: str, code: str) -> dict[str, object]:
    return next(r for r in rows if r["form"] == form and r["code"] == code)


def test_assessment_questions_by_hand() -> None:
    rows = rates(_assessment())
    info = _row(rows, "peq-assessment", Q1)
    assert info["question"] == (
        "Were you given information about options for choosing a treatment that is appropriate for your problems?"
    )
    assert info["source"] == "PEQ" and info["counted"] == "Yes" and info["responses"] == 40
    # 24 of 40 = 60.0% (Wilson 44.6% to 73.7%), published as 25 of 40 (rounded to 5)
    assert (info["numerator"], info["denominator"], info["rate"], info["ci"]) == (25, 40, 60.0, [44.6, 73.7])
    offered = _row(rows, "peq-assessment", Q3)
    # 12 of 22 = 54.5% (Wilson 34.7% to 73.1%); not applicable and people without a preference left out
    assert (offered["rate"], offered["ci"]) == (54.5, [34.7, 73.1])
    assert (offered["numerator"], offered["denominator"]) == (10, 20)
    assert offered["among"] == "people answering Yes to Assessment Q2"


def test_a_rate_is_withheld_when_the_answers_not_counted_are_few() -> None:
    # 46 Yes of 50 would publish 45 of 50 at 92.0%: only 46 of 50 gives 92.0% within the rounding, so the 4 No
    # answers could be read back; the rate is withheld (the counts stay, rounded)
    rows = rates([("peq-assessment", {Q1: "Y" if i < 46 else "N"}) for i in range(50)])
    q1 = _row(rows, "peq-assessment", Q1)
    assert q1["suppressed"] and q1["rate"] is None and (q1["numerator"], q1["denominator"]) == (45, 50)


def test_involved_counts_most_or_all_of_the_time() -> None:
    answers = ["4"] * 10 + ["3"] * 10 + ["2"] * 5 + ["0"] * 5 + ["NA"] * 3
    rows = rates([("peq-discharge", {INVOLVED: a}) for a in answers])
    involved = _row(rows, "peq-discharge", INVOLVED)
    assert involved["counted"] == "Most of the time or all of the time"
    # 20 of 30 = 66.7% (Wilson 48.8% to 80.8%); the 3 "not applicable" are left out
    assert (involved["rate"], involved["ci"], involved["numerator"], involved["denominator"]) == (
        66.7,
        [48.8, 80.8],
        20,
        30,
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
