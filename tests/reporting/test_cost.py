"""Cost per finished course and per recovered case by pathway (issue 19): hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from idiograph.errors import InvalidInput
from idiograph.reporting.cost import (
    DEFAULT,
    ENV,
    CostReferral,
    by_pathway,
    document,
    load_unit_costs,
    parse_unit_costs,
)

UNITS = {
    "version": "test/1",
    "illustrative": False,
    "currency": "GBP",
    "price_year": "2024/25",
    "source": "test",
    "per_contact": {"psychological_therapist": 100, "psychiatrist": 200, "other": 50},
    "per_admission": 1000,
}


def test_cost_by_pathway_by_hand() -> None:
    u = parse_unit_costs(UNITS)
    rs = [
        # step 2: 6 therapist contacts = 600, finished and recovered
        CostReferral("step2", {"psychological_therapist": 6}, finished=True, recovered=True),
        # step 2: 1 contact = 100, dropped out (not finished) - still costs
        CostReferral("step2", {"psychological_therapist": 1}),
        # step 2: 3 contacts with no profession recorded (other, 50) = 150 and 2 with an unlisted one = 100
        CostReferral("step2", {None: 3, "art_therapist": 2}, finished=True),
        # community: 2 psychiatrist contacts = 400 and one admission = 1000, finished, not recovered
        CostReferral("community", {"psychiatrist": 2}, admissions=1, finished=True),
    ]
    rows = {r.pathway: r for r in by_pathway(rs, u)}
    s2 = rows["step2"]
    assert (s2.referrals, s2.contacts, s2.finished, s2.recovered) == (3, 12, 2, 1)
    assert s2.cost == 950.0  # 600 + 100 + 150 + 100
    assert s2.per_finished == 475.0  # 950 / 2
    assert s2.per_recovered == 950.0  # 950 / 1
    c = rows["community"]
    assert (c.cost, c.per_finished, c.per_recovered, c.admissions) == (1400.0, 1400.0, None, 1)
    a = rows["all"]
    assert (a.cost, a.finished, a.recovered) == (2350.0, 3, 1)  # 950 + 1400
    assert a.per_finished == 783.33 and a.per_recovered == 2350.0  # 2350 / 3 rounded to pence
    assert [r.pathway for r in by_pathway(rs, u)] == ["community", "step2", "all"]
    doc = document(by_pathway(rs, u), u)
    assert doc["unit_costs_version"] == "test/1" and doc["illustrative"] is False
    assert doc["pathways"][-1]["pathway"] == "all"


def test_recovered_without_finishing_is_refused() -> None:
    with pytest.raises(InvalidInput, match="recovered"):
        by_pathway([CostReferral("x", {}, finished=False, recovered=True)], parse_unit_costs(UNITS))


def test_negative_count_is_refused() -> None:
    with pytest.raises(InvalidInput, match="admissions"):
        by_pathway([CostReferral("x", {}, admissions=-1)], parse_unit_costs(UNITS))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"per_admission": -5}, "per_admission"),
        ({"per_contact": {"psychiatrist": 1}}, "per_contact"),  # no 'other'
        ({"per_contact": {"other": -1}}, "per_contact"),
        ({"currency": "pounds"}, "currency"),
        ({"per_admission": "lots"}, "per_admission"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_unit_costs_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_unit_costs({**UNITS, **change})
    assert field in str(e.value)


def test_default_file_is_marked_illustrative_and_service_file_is_read(tmp_path: Path) -> None:
    d = load_unit_costs({})
    assert d.illustrative is True and "PSSRU" in d.source
    assert "ILLUSTRATIVE" in DEFAULT.read_text(encoding="utf-8")
    f = tmp_path / "costs.yaml"
    f.write_text(
        "version: mine/1\nillustrative: false\ncurrency: GBP\nprice_year: '2024/25'\nsource: finance\n"
        "per_contact: {other: 90}\nper_admission: 12000\n",
        encoding="utf-8",
    )
    mine = load_unit_costs({ENV: str(f)})
    assert mine.version == "mine/1" and mine.contact("psychiatrist") == 90
    f.write_text("version: mine/1\nper_contact: {other: 90}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="illustrative"):
        load_unit_costs({ENV: str(f)})
    with pytest.raises(InvalidInput, match=ENV):
        load_unit_costs({ENV: str(tmp_path / "missing.yaml")})
