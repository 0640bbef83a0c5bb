"""People's experience of choice: Yes over answered per item, with its wording, under disclosure control."""

from __future__ import annotations

import pytest

from idiograph.reporting.experience import items, rates


def test_items_carry_wording_and_provenance() -> None:
    data = items()
    codes = [i["code"] for i in data["items"]]
    assert codes[:4] == ["peq-a-info", "peq-a-prefer", "peq-a-offered", "peq-t-involved"]
    assert {"local-time", "local-place", "local-format"} <= set(codes)


def test_rates_by_hand_with_only_if_and_suppression() -> None:
    # 20 people: 16 Yes to information; 10 prefer a treatment, of whom 9 were offered it (the 10 without a
    # preference answered the offered item too, and are not counted)
    responses = [
        {
            "peq-a-info": "Y" if i < 16 else "N",
            "peq-a-prefer": "Y" if i < 10 else "N",
            "peq-a-offered": "Y" if i < 9 else "N",
        }
        for i in range(20)
    ]
    out = {r["code"]: r for r in rates(responses)}
    info = out["peq-a-info"]
    assert info["question"].startswith("Were you given information about options")
    # 16 of 20 = 80.0% (Wilson 58.4% to 91.9%), published as 15 of 20
    assert (info["numerator"], info["denominator"], info["rate"], info["ci"]) == (15, 20, 80.0, [58.4, 91.9])
    offered = out["peq-a-offered"]
    assert (offered["numerator"], offered["denominator"], offered["rate"]) == (10, 10, 90.0)
    assert out["peq-t-involved"]["denominator"] == 0 and out["peq-t-involved"]["rate"] is None
    small = {r["code"]: r for r in rates(responses[:5])}["peq-a-info"]
    assert small["suppressed"] and small["rate"] is None


def test_a_bad_answer_names_the_item() -> None:
    with pytest.raises(ValueError, match="peq-a-info"):
        rates([{"peq-a-info": "maybe"}])
