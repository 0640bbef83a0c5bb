"""Disclosure control: primary suppression and rounding, secondary suppression, and the differencing check on
hand-worked tables and on many random seeded ones (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from idiograph.reporting.disclosure import (
    SUPPRESSED,
    DisclosureConfig,
    Margin,
    Rate,
    band,
    bounds,
    exact_recoverable,
    primary,
    problems,
    protect,
    publish,
    published_rates,
    recoverable,
    rounded,
    safe_count,
)
from idiograph.reporting.kpis import Kpi

EXACT = DisclosureConfig(suppress_max=7, round_to=1)  # suppression without rounding: the hardest case


@pytest.mark.parametrize(
    ("n", "shown"), [(0, 0), (1, SUPPRESSED), (7, SUPPRESSED), (8, 10), (12, 10), (13, 15), (17, 15), (18, 20)]
)
def test_default_rule_suppresses_1_to_7_and_rounds_to_5(n: int, shown: int | str) -> None:
    assert safe_count(n) == shown


def test_rounding_and_its_band_by_hand() -> None:
    assert [rounded(n) for n in (8, 12, 13, 1234)] == [10, 10, 15, 1235]
    assert band(10) == (8, 12)  # 1..7 are never published, so a 10 is 8..12
    assert band(15) == (13, 17)
    assert band(0) == (0, 0)
    ten = DisclosureConfig(suppress_max=9, round_to=10)
    assert rounded(15, ten) == 20 and rounded(14, ten) == 10  # half up
    assert band(20, ten) == (15, 24)
    with pytest.raises(ValueError, match="not a published count"):
        band(12)


def test_config_is_checked() -> None:
    with pytest.raises(ValidationError, match="round_to"):
        DisclosureConfig(suppress_max=3, round_to=10)  # a 4 would be published as 0
    with pytest.raises(ValidationError, match="suppress_max"):
        DisclosureConfig(suppress_max=-1)
    with pytest.raises(ValueError, match="negative"):
        primary(-1)


def test_one_suppressed_cell_is_recovered_from_the_total_unless_a_second_is_suppressed() -> None:
    # total 9 (published exactly elsewhere) = a 1 and an 8. Published alone, the 8 shows as 10 (8..12), so the
    # suppressed cell is 9 - 8..12 = at most 1, and at least 1: recovered.
    counts = {"a": 1, "b": 8}
    margins = [Margin(("a", "b"), 9)]
    alone = publish(counts, {"a"})
    assert alone == {"a": None, "b": 10}
    assert recoverable(alone, margins) == {"a": 1}
    assert problems(alone, margins) == ["a: suppressed but recoverable as 1"]
    safe = protect(counts, margins)
    assert safe == {"a": None, "b": None}
    assert problems(safe, margins) == []


def test_rule_one_suppresses_the_next_smallest_non_zero_cell() -> None:
    counts = {"a": 3, "b": 9, "c": 0, "d": 8, "e": 40}
    margins = [Margin(tuple(counts), 60)]
    assert protect(counts, margins) == {"a": None, "b": 10, "c": 0, "d": None, "e": 40}


def test_two_suppressed_ones_are_recovered_when_their_sum_is_two() -> None:
    # without rounding, 1 + 1 suppressed beside 20 and 30 with the total 52: each is at least 1, so both are 1
    counts = {"a": 1, "b": 1, "c": 20, "d": 30}
    margins = [Margin(tuple(counts), 52)]
    two = publish(counts, {"a", "b"}, EXACT)
    assert recoverable(two, margins, config=EXACT) == {"a": 1, "b": 1}
    safe = protect(counts, margins, config=EXACT)
    assert safe == {"a": None, "b": None, "c": None, "d": 30}
    assert problems(safe, margins, config=EXACT) == []


def test_a_published_rate_pins_its_rounded_counts() -> None:
    # 13 of 17 publish as 15 of 15, but 76.5% fits only 13/17 among 13..17 over 13..17 (rates are computed from
    # unrounded counts, the national convention)
    def show(n: int, d: int) -> tuple[float | None, ...]:
        return (Kpi(n, d).rate,)

    published = {"n": 15, "d": 15}
    assert bounds(published, [], [Rate("n", "d", (76.5,), show)]) == {"n": (13, 13), "d": (17, 17)}
    assert bounds(published, [], [Rate("n", "d", None, show)]) == {"n": (13, 17), "d": (13, 17)}


def test_nested_margins_a_category_is_protected_within_its_group() -> None:
    # groups G1 = c1 + c2 and G2 = c3 + c4, totals unrounded. Among the categories two are suppressed (c1, c3),
    # which satisfies a flat rule, but G1 - c2 gives c1 away.
    counts = {"G1": 43, "G2": 43, "c1": 3, "c2": 40, "c3": 3, "c4": 40}
    flat = [Margin(("G1", "G2"), 86), Margin(("c1", "c2", "c3", "c4"), 86)]
    nested = [*flat, Margin(("c1", "c2"), "G1"), Margin(("c3", "c4"), "G2")]
    only_flat = protect(counts, flat, config=EXACT)
    assert only_flat["c2"] == 40 and only_flat["c1"] is None
    assert recoverable(only_flat, nested, config=EXACT) == {"c1": 3, "c3": 3}
    safe = protect(counts, nested, config=EXACT)
    assert problems(safe, nested, config=EXACT) == []
    assert safe["c1"] is None and safe["c2"] is None


def test_a_zero_is_suppressed_only_when_a_whole_margin_is_withheld() -> None:
    # 5 referrals, all in one of three groups: suppressing the 5 alone leaves it equal to the total
    counts = {"a": 5, "b": 0, "c": 0}
    margins = [Margin(("a", "b", "c"), 5)]
    assert recoverable(publish(counts, {"a"}), margins) == {"a": 5}
    safe = protect(counts, margins)
    assert safe == {"a": None, "b": None, "c": None}
    assert bounds(safe, margins)["a"] == (0, 5)
    assert problems(safe, margins) == []


def test_the_check_flags_small_or_unrounded_published_counts() -> None:
    margins = [Margin(("a", "b"), 20)]
    assert problems({"a": 7, "b": 13}, margins) == [
        "a: 7 is published but is not 0 or a multiple of 5 above 7",
        "b: 13 is published but is not 0 or a multiple of 5 above 7",
    ]


# ---- many random tables: groups over categories over a total, with a rate of two series in each cell ----

CONFIGS = st.sampled_from([DisclosureConfig(), EXACT, DisclosureConfig(suppress_max=9, round_to=10)])
SMALLISH = st.one_of(st.integers(0, 9), st.integers(0, 30), st.integers(0, 300))


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict[str, int], list[Margin], list[Rate]]:
    shape = draw(st.lists(st.integers(1, 4), min_size=2, max_size=5))  # categories per group (every breakdown has 2+)
    counts: dict[str, int] = {}
    for g, n_cats in enumerate(shape):
        for c in range(n_cats):
            den = draw(SMALLISH)
            counts[f"c{g}.{c}/d"] = den
            counts[f"c{g}.{c}/n"] = draw(st.integers(0, den))
    margins: list[Margin] = []
    rates: list[Rate] = []
    for s in ("n", "d"):
        cats_all = []
        for g, n_cats in enumerate(shape):
            cats = tuple(f"c{g}.{c}/{s}" for c in range(n_cats))
            counts[f"G{g}/{s}"] = sum(counts[k] for k in cats)
            margins.append(Margin(cats, f"G{g}/{s}"))
            cats_all.extend(cats)
        total = sum(counts[k] for k in cats_all)
        margins.append(Margin(tuple(f"G{g}/{s}" for g in range(len(shape))), total))
        margins.append(Margin(tuple(cats_all), total))
    for key in [k for k in counts if k.endswith("/n")]:
        rates.append(Rate(key, key[:-1] + "d", show=lambda n, d: (Kpi(n, d).rate,)))
    return counts, margins, rates


@seed(19)
@settings(max_examples=300, deadline=None)
@given(tables(), CONFIGS)
def test_no_suppressed_cell_is_recoverable_in_random_tables(
    table: tuple[dict[str, int], list[Margin], list[Rate]], config: DisclosureConfig
) -> None:
    counts, margins, rates = table
    shown = protect(counts, margins, rates, config)
    with_rates = published_rates(rates, counts, shown)
    assert problems(shown, margins, with_rates, config) == []
    for k, v in shown.items():
        if v is None:
            assert counts[k] > 0 or all(shown[m] is None for mg in margins if k in mg.members for m in mg.members)
        else:
            assert v == 0 or (v % config.round_to == 0 and v > config.suppress_max)
            assert band(v, config)[0] <= counts[k] <= band(v, config)[1]
            assert (v == 0) == (counts[k] == 0)
        assert (v is None) or not primary(counts[k], config)


@seed(20)
@settings(max_examples=200, deadline=None)
@given(tables(), CONFIGS)
def test_the_reader_s_bounds_always_hold_the_truth(
    table: tuple[dict[str, int], list[Margin], list[Rate]], config: DisclosureConfig
) -> None:
    # primary suppression only: what the check recovers is the true count, never a wrong one
    counts, margins, rates = table
    naive = publish(counts, {k for k, n in counts.items() if primary(n, config)}, config)
    with_rates = published_rates(rates, counts, naive)
    for k, (lo, hi) in bounds(naive, margins, with_rates, config).items():
        assert lo <= counts[k] <= hi, k
    for k, v in recoverable(naive, margins, with_rates, config).items():
        assert counts[k] == v


def test_the_reader_solving_every_constraint_at_once_finds_more_than_the_bounds() -> None:
    # found by the tests: with counts rounded to 10 (1..9 suppressed), group G1's numerator and denominator are
    # both 6. The bounds, one constraint at a time, leave them open; solving the margins, the rates of G0 and G2
    # and numerator <= denominator together, only 6 of 6 fits
    config = DisclosureConfig(suppress_max=9, round_to=10)
    counts = {
        "c0.0/d": 6, "c0.0/n": 0, "c0.1/d": 214, "c0.1/n": 100, "c0.2/d": 7, "c0.2/n": 3, "c1.0/d": 6, "c1.0/n": 6,
        "c2.0/d": 211, "c2.0/n": 100, "c2.1/d": 5, "c2.1/n": 5,
        "G0/n": 103, "G1/n": 6, "G2/n": 105, "G0/d": 227, "G1/d": 6, "G2/d": 216,
    }  # fmt: skip
    margins = [
        *(Margin(m, f"G{g}/{s}") for s in "nd" for g, m in enumerate(_cats(s))),
        *(Margin(tuple(f"G{g}/{s}" for g in range(3)), counts[f"G0/{s}"] + counts[f"G1/{s}"] + counts[f"G2/{s}"])
          for s in "nd"),
        *(Margin(sum(_cats(s), ()), counts[f"G0/{s}"] + counts[f"G1/{s}"] + counts[f"G2/{s}"]) for s in "nd"),
    ]  # fmt: skip
    rates = [Rate(k, k[:-1] + "d", show=lambda n, d: (Kpi(n, d).rate,)) for k in counts if k.endswith("/n")]
    naive = publish(counts, {k for k, n in counts.items() if primary(n, config)}, config)
    with_rates = published_rates(rates, counts, naive)
    assert recoverable(naive, margins, with_rates, config) == {}
    assert exact_recoverable(naive, margins, with_rates, config) == {"G1/n": 6, "G1/d": 6, "c1.0/n": 6, "c1.0/d": 6}
    shown = protect(counts, margins, rates, config, exact=True)
    assert exact_recoverable(shown, margins, published_rates(rates, counts, shown), config) == {}


def _cats(s: str) -> list[tuple[str, ...]]:
    return [tuple(f"c0.{c}/{s}" for c in range(3)), (f"c1.0/{s}",), tuple(f"c2.{c}/{s}" for c in range(2))]


@seed(21)
@settings(max_examples=40, deadline=None)
@given(tables(), CONFIGS)
def test_the_reader_at_their_strongest(
    table: tuple[dict[str, int], list[Margin], list[Rate]], config: DisclosureConfig
) -> None:
    # an integer program over every constraint at once finds every cell the bounds find, with the same value;
    # protect(exact=True) leaves it nothing
    counts, margins, rates = table
    naive = publish(counts, {k for k, n in counts.items() if primary(n, config)}, config)
    with_rates = published_rates(rates, counts, naive)
    found = exact_recoverable(naive, margins, with_rates, config)
    assert recoverable(naive, margins, with_rates, config).items() <= found.items()
    assert all(counts[k] == v for k, v in found.items())
    shown = protect(counts, margins, rates, config, exact=True)
    assert exact_recoverable(shown, margins, published_rates(rates, counts, shown), config) == {}
