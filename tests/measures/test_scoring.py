import pytest
from hypothesis import given
from hypothesis import strategies as st

from idiograph.instruments.definitions import by_questionnaire, by_total_code, instruments
from idiograph.measures.scoring import band_of, score

PHQ9 = instruments()["phq-9"]
GAD7 = instruments()["gad-7"]
PHQ2 = instruments()["phq-2"]
P = [i.code for i in PHQ9.items]


def answers(values: list[int | None]) -> dict[str, int | None]:
    return dict(zip(P, values, strict=True))


def test_definitions_load_with_loinc_codes_from_clinical_md() -> None:
    assert PHQ9.total.code == "44261-6" and PHQ9.panel.code == "44249-1"
    assert P[-1] == "44260-8" and PHQ9.items[-1].safety
    assert GAD7.total.code == "70274-6" and len(GAD7.items) == 7
    assert [a.code for a in PHQ9.answers] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert (PHQ9.min_total, PHQ9.max_total, GAD7.max_total, PHQ2.max_total) == (0, 27, 21, 6)
    assert by_questionnaire("http://loinc.org/q/44249-1|2.0") is PHQ9
    assert by_questionnaire("https://example.org/Questionnaire/69737-5") is GAD7
    assert by_total_code("55758-7") is PHQ2


def test_hand_worked_phq9() -> None:
    s = score(PHQ9, answers([1, 2, 0, 3, 1, 1, 2, 0, 1]))  # 1+2+0+3+1+1+2+0+1 = 11
    assert (s.total, s.band, s.prorated, s.missing) == (11, "moderate", False, ())
    assert s.safety_positive == ("44260-8",)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    assert band_of(PHQ9, total) == band


@pytest.mark.parametrize(
    ("total", "band"), [(4, "minimal"), (5, "mild"), (10, "moderate"), (14, "moderate"), (15, "severe"), (21, "severe")]
)
def test_gad7_band_edges(total: int, band: str) -> None:
    assert band_of(GAD7, total) == band


def test_proration_rounds_half_up_within_the_rule() -> None:
    s = score(PHQ9, answers([2, 1, 2, 1, 2, 1, 2, 1, None]))  # 12 / 8 * 9 = 13.5 -> 14
    assert (s.total, s.prorated, s.missing) == (14, True, ("44260-8",))
    assert s.safety_unanswered == ("44260-8",) and s.safety_positive == ()
    s = score(PHQ9, answers([2, 2, 2, 2, 2, 2, 2, None, None]))  # 14 / 7 * 9 = 18
    assert (s.total, s.band) == (18, "moderately severe")


def test_too_many_missing_is_missing_never_zero() -> None:
    s = score(PHQ9, answers([0, 0, 0, 0, 0, 0, None, None, None]))
    assert s.total is None and s.band is None
    assert score(PHQ2, {P[0]: 3}).total is None  # PHQ-2 allows no missing item
    assert score(GAD7, {GAD7.items[0].code: 1}).total is None


def test_safety_item_flags_whatever_the_total() -> None:
    s = score(PHQ9, answers([0, 0, 0, 0, 0, 0, 0, 0, 1]))
    assert s.total == 1 and s.band == "minimal" and s.safety_positive == ("44260-8",)


def test_bad_answers_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="44250-9: answer 4"):
        score(PHQ9, answers([4, 0, 0, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="not an item"):
        score(PHQ9, {"12345-6": 1})


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_complete_total_is_the_sum_and_in_range(values: list[int]) -> None:
    s = score(PHQ9, answers(list(values)))
    assert s.total == sum(values) and 0 <= s.total <= 27 and not s.prorated


@given(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=9, max_size=9))
def test_prorated_total_stays_in_range(values: list[int | None]) -> None:
    s = score(PHQ9, answers(values))
    missing = sum(v is None for v in values)
    assert (s.total is None) == (missing > 2)
    if s.total is not None:
        assert 0 <= s.total <= 27


# --- instruments beyond the PHQ/GAD family (hand-worked) ---------------------------------------------


def test_core10_reverse_items_prorating_and_safety() -> None:
    core = instruments()["core-10"]
    codes = [i.code for i in core.items]
    # All answered 2 except items 2 and 3 (reverse-scored) answered 0 -> each counts 4: 8*2 + 2*4 = 24.
    answers: dict[str, int | None] = {c: 2 for c in codes}
    answers["core-10-02"] = answers["core-10-03"] = 0
    s = score(core, answers)
    assert (s.total, s.band, s.prorated) == (24, "moderate to severe", False)
    assert s.safety_positive == ("core-10-06",)  # item 6 answered 2 > 0
    # One item missing: the nine scored points are 7*2 + 2*4 = 22; mean 22/9 x 10 = 24.44 -> 24, prorated.
    answers["core-10-09"] = None
    s = score(core, answers)
    assert (s.total, s.prorated) == (24, True)
    # Two missing: no total.
    answers["core-10-08"] = None
    assert score(core, answers).total is None
    # Item 6 answered 0: no safety finding.
    quiet = {c: 0 for c in codes}
    assert score(core, quiet).safety_positive == () and score(core, quiet).total == 8  # two reversed items at 4


def test_audit_items_have_their_own_answers() -> None:
    audit = instruments()["audit"]
    codes = [i.code for i in audit.items]
    answers: dict[str, int | None] = {c: 1 for c in codes[:8]}
    answers |= {"audit-09": 2, "audit-10": 4}
    s = score(audit, answers)
    assert (s.total, s.band) == (14, "zone II: hazardous")
    with pytest.raises(ValueError, match=r"audit-09: answer 1 not one of \[0, 2, 4\]"):
        score(audit, {**answers, "audit-09": 1})
    assert score(audit, {**answers, "audit-10": None}).total is None  # WHO: complete forms only
    assert audit.min_total == 0 and audit.max_total == 40


@pytest.mark.parametrize(
    ("instrument", "value", "band"),
    [
        ("pcl-5", 32, "below the probable-PTSD threshold"),
        ("pcl-5", 33, "probable PTSD"),
        ("wsas", 9, "subclinical"),
        ("wsas", 10, "significant impairment"),
        ("wsas", 20, "significant impairment"),
        ("wsas", 21, "moderately severe or worse"),
        ("audit", 7, "zone I: low risk"),
        ("audit", 8, "zone II: hazardous"),
        ("audit", 20, "zone IV: possible dependence"),
        ("core-10", 10, "low level"),
        ("core-10", 11, "mild"),
    ],
)
def test_band_edges_of_the_other_instruments(instrument: str, value: int, band: str) -> None:
    assert band_of(instruments()[instrument], value) == band


def test_every_instrument_file_is_consistent() -> None:
    for inst in instruments().values():
        if inst.scoring == "mean":  # a mean has no bands (DIALOG); its range is its items' own
            assert not inst.bands and inst.caseness is None
            continue
        assert inst.bands[0].min == inst.min_total and inst.bands[-1].max == inst.max_total
        if inst.caseness:
            assert inst.min_total <= inst.caseness.min <= inst.max_total
        assert inst.licence and inst.citation
    assert {"phq-9", "gad-7", "phq-2", "pcl-5", "audit", "wsas", "core-10"} <= set(instruments())
