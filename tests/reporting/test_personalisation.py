"""Personalisation made visible: hand-worked rates, the Mantel-Haenszel adjustment and equity under disclosure."""

from __future__ import annotations

import pytest

from idiograph.reporting.personalisation import (
    Change,
    Person,
    Stratum,
    Visit,
    comparisons,
    equity,
    governance,
    mantel_haenszel_rd,
    preferred_share,
    rate,
    report,
)


def test_rate_with_wilson_interval_by_hand() -> None:
    # 3 of 10: Wilson 95% (z=1.96) is 10.8% to 60.3%
    assert rate(3, 10) == {"numerator": 3, "denominator": 10, "rate": 30.0, "ci": [10.8, 60.3]}
    assert rate(0, 0)["rate"] is None


def test_preferred_share_counts_only_stated_preferences() -> None:
    visits = [
        Visit("a", "attended", {"time": True, "place": True, "format": None}),
        Visit("a", "did_not_attend", {"time": False, "place": True, "format": None}),
        Visit("b", "attended", {"time": True, "place": None, "format": False}),
        Visit("b", "cancelled_by_person", {"time": None, "place": None, "format": True}),
    ]
    out = preferred_share(visits)
    assert (out["time"]["numerator"], out["time"]["denominator"]) == (2, 3)
    assert (out["place"]["numerator"], out["place"]["denominator"]) == (2, 2)
    assert (out["format"]["numerator"], out["format"]["denominator"]) == (1, 2)
    assert out["time"]["rate"] == 66.7


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"visit\.status"):
        preferred_share([Visit("a", "booked", {})])
    with pytest.raises(ValueError, match=r"visit\.met"):
        preferred_share([Visit("a", "attended", {"colour": True})])
    with pytest.raises(ValueError, match=r"change\.authority"):
        governance([Change("a", "maybe")])


def test_governance_delegated_share_and_time_to_answer() -> None:
    changes = [
        Change("a", "delegated"),
        Change("a", "delegated"),
        Change("b", "approved", escalated=True, hours_to_answer=4.0),
        Change("b", "rejected", escalated=True, hours_to_answer=30.0),
        Change("c", "pending", escalated=True),
        Change("c", "approved", escalated=True, hours_to_answer=5.0),
    ]
    g = governance(changes)
    assert (g["delegated"]["numerator"], g["delegated"]["denominator"]) == (2, 6)
    assert g["escalations"] == 4 and g["escalations_answered"] == 3 and g["escalations_pending"] == 1
    assert g["median_hours_to_answer"] == 5.0  # median of 4, 5 and 30 (the mean would be 13)


def test_mantel_haenszel_removes_confounding_by_severity() -> None:
    # mild: 1/10 vs 1/10; severe: 5/10 vs 15/30. No difference within either band, but the crude
    # rates differ (6/20 = 30% against 16/40 = 40%) because more of the unexposed are severe.
    # Weights n1*n0/N: 5 and 7.5; Greenland-Robins variance numerator 0.45 + 1.875 = 2.325,
    # SE = sqrt(2.325)/12.5 = 0.12198, so 0 +- 1.96*0.12198 = +-23.9 points.
    out = mantel_haenszel_rd({"mild": Stratum(1, 10, 1, 10), "severe": Stratum(5, 10, 15, 30)})
    assert out["with"]["rate"] == 30.0 and out["without"]["rate"] == 40.0
    assert out["difference"] == 0.0
    assert out["ci"] == [-23.9, 23.9]


def test_mantel_haenszel_common_difference_by_hand() -> None:
    # both strata -20 points; weights 5 and 3.75; variance numerator 1.0 + 0.675 = 1.675;
    # SE = sqrt(1.675)/8.75 = 0.147911; -0.2 +- 0.289904
    out = mantel_haenszel_rd({"a": Stratum(2, 10, 4, 10), "b": Stratum(1, 5, 6, 15)})
    assert out["difference"] == -20.0
    assert out["ci"] == [-49.0, 9.0]


def test_mantel_haenszel_stratum_with_one_arm_adds_nothing() -> None:
    out = mantel_haenszel_rd({"a": Stratum(2, 10, 4, 10), "b": Stratum(9, 9, 0, 0)})
    assert out["difference"] == -20.0
    assert mantel_haenszel_rd({"b": Stratum(9, 9, 0, 0)})["difference"] is None
    with pytest.raises(ValueError, match="stratum a"):
        mantel_haenszel_rd({"a": Stratum(11, 10, 0, 10)})


def test_comparisons_build_strata_from_people_and_visits() -> None:
    people = [
        Person("m1", "mild", preferences_met=True, crisis_plan=True),
        Person("m2", "mild", preferences_met=False, disengaged=True, crisis_admission=True),
        Person("s1", "severe", preferences_met=True, crisis_plan=True, crisis_admission=True),
        Person("s2", "severe", preferences_met=False, disengaged=True),
        Person("x", "severe", preferences_met=None),  # no preference stated: not in the first two
    ]
    visits = [
        Visit("m1", "attended", {}),
        Visit("m1", "did_not_attend", {}),
        Visit("m2", "did_not_attend", {}),
        Visit("s1", "attended", {}),
        Visit("s2", "did_not_attend", {}),
        Visit("s2", "attended", {}),
        Visit("x", "did_not_attend", {}),
    ]
    c = comparisons(people, visits)
    dna = c["dna_by_preferences_met"]
    # DNA: met 1/3 (m1 1/2, s1 0/1); not met 2/3 (m2 1/1, s2 1/2)
    assert (dna["with"]["numerator"], dna["with"]["denominator"]) == (1, 3)
    assert (dna["without"]["numerator"], dna["without"]["denominator"]) == (2, 3)
    # mild: 1/2 - 1/1 = -0.5, weight 2/3; severe: 0/1 - 1/2 = -0.5, weight 2/3 -> -50
    assert dna["difference"] == -50.0
    dis = c["disengagement_by_preferences_met"]
    assert (dis["with"]["denominator"], dis["without"]["numerator"]) == (2, 2)
    assert dis["difference"] == -100.0
    crisis = c["crisis_admission_by_crisis_plan"]
    # with plan: m1 0, s1 1 -> 1/2; without: m2 1, s2 0, x 0 -> 1/3
    assert (crisis["with"]["numerator"], crisis["with"]["denominator"]) == (1, 2)
    assert (crisis["without"]["numerator"], crisis["without"]["denominator"]) == (1, 3)
    assert "not an effect" in c["note"]


def test_equity_suppresses_small_groups_and_rounds() -> None:
    people = [Person(f"w{i}", "mild", {"sex": "female"}) for i in range(40)] + [
        Person(f"m{i}", "mild", {"sex": "male"}) for i in range(3)
    ]
    visits = [Visit(p.id, "attended", {"time": i % 2 == 0}) for i, p in enumerate(people)]
    changes = [Change(p.id, "delegated") for p in people[:20]]
    by = equity(people, visits, changes)
    sex = {row["group"]: row for row in by["sex"]}
    assert sex["male"]["time"]["suppressed"] and sex["male"]["time"]["rate"] is None
    # the only other group is then withheld too, else it gives the male count away by subtraction
    assert sex["female"]["time"]["suppressed"]
    assert sex["female"]["delegated"]["denominator"] == 20 and sex["female"]["delegated"]["rate"] == 100.0
    for rows in by.values():
        for row in rows:
            for s in ("time", "place", "format", "delegated"):
                for k in ("numerator", "denominator"):
                    v = row[s][k]
                    assert v is None or (v % 5 == 0 and not 1 <= v <= 7)


def test_equity_three_groups_publishes_the_big_ones_rounded() -> None:
    people = (
        [Person(f"a{i}", "mild", {"sex": "female"}) for i in range(22)]
        + [Person(f"b{i}", "mild", {"sex": "male"}) for i in range(18)]
        + [Person(f"c{i}", "mild", {"sex": "unknown"}) for i in range(3)]
    )
    visits = [Visit(p.id, "attended", {"place": True}) for p in people]
    sex = {row["group"]: row for row in equity(people, visits, [])["sex"]}
    assert sex["unknown"]["place"]["suppressed"]
    shown = [sex[g]["place"] for g in ("female", "male")]
    assert sum(1 for s in shown if s["suppressed"]) == 1  # one more withheld to protect the 3
    kept = next(s for s in shown if not s["suppressed"])
    assert kept["numerator"] == 20 and kept["rate"] == 100.0


def test_unknown_person_is_refused() -> None:
    with pytest.raises(ValueError, match="'z'"):
        equity([], [Visit("z", "attended", {})], [])


def test_report_has_every_part() -> None:
    out = report([Person("a", "mild", preferences_met=True)], [Visit("a", "attended", {"time": True})], [])
    assert set(out) == {"preferred", "governance", "comparisons", "by"}


def test_equity_rates_come_from_unrounded_counts() -> None:
    people = [Person(f"a{i}", "mild", {"sex": "female"}) for i in range(22)] + [
        Person(f"b{i}", "mild", {"sex": "male"}) for i in range(18)
    ]
    visits = [Visit(p.id, "attended", {"place": not (p.id.startswith("a") and int(p.id[1:]) >= 13)}) for p in people]
    sex = {row["group"]: row for row in equity(people, visits, [])["sex"]}
    female = sex["female"]["place"]
    # 13 of 22 published as 15 of 20, but the rate is 13/22 = 59.1% (Wilson 38.7% to 76.7%)
    assert (female["numerator"], female["denominator"]) == (15, 20)
    assert female["rate"] == 59.1 and female["ci"] == [38.7, 76.7]


def test_published_comparisons_follow_disclosure_control() -> None:
    from idiograph.reporting.personalisation import controlled

    big = mantel_haenszel_rd({"a": Stratum(2, 10, 4, 10), "b": Stratum(1, 5, 6, 15)})
    out = controlled(big)
    # with: 3 of 15 published as 15 (rate from 3/15 = 20.0); without: 10 of 25 as 10 of 25
    assert (out["with"]["numerator"], out["with"]["denominator"], out["with"]["rate"]) == (None, 15, None)
    assert out["suppressed"] and out["difference"] is None and out["ci"] is None
    fine = controlled(mantel_haenszel_rd({"a": Stratum(10, 20, 12, 20)}))
    assert (fine["with"]["numerator"], fine["without"]["numerator"], fine["difference"]) == (10, 10, -10.0)
    assert "suppressed" not in fine
