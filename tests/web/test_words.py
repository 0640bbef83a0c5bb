"""Codes, units and numbers as a clinician reads them (web.words, observations.display)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idiograph.observations import display
from idiograph.observations.catalogue import shipped
from idiograph.web import words


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("cbt", "Individual CBT"),
        ("group_cbt", "Group CBT"),
        ("guided_self_help", "Guided self-help"),
        ("medication_review", "Medication review"),
        ("ipt", "IPT"),
        ("new_pathway", "New pathway"),
        (None, ""),
    ],
)
def test_pathways_by_their_names_in_the_service_definitions(code: str | None, shown: str) -> None:
    assert words.pathway(code) == shown


@pytest.mark.parametrize(
    ("fn", "code", "shown"),
    [
        (words.appointment_format, "in_person", "in person"),
        (words.appointment_format, "video", "video call"),
        (words.place, "home", "home visit"),
        (words.frequency, "six_weekly", "every six weeks"),
        (words.code, "generalised_anxiety", "generalised anxiety"),
        (words.code, "ptsd", "PTSD"),
        (words.code, "gp", "GP"),
        (words.code, "did_not_attend", "did not attend (DNA)"),
        (words.code, "", ""),
    ],
)
def test_vocabulary_codes_in_words(fn, code: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    assert fn(code) == shown


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("en", "English"),
        ("en-GB", "English"),
        ("pl", "Polish"),
        ("ur", "Urdu"),
        ("cy", "Welsh"),
        ("xx", "xx"),
        (None, ""),
    ],
)
def test_languages_from_iso_639_1_with_the_code_as_fallback(code: str | None, shown: str) -> None:
    assert words.language(code) == shown


@pytest.mark.parametrize(
    ("ucum", "shown"),
    [
        ("/(24.h)", "per day"),
        ("kg/m2", "kg/m²"),
        ("{score}", ""),
        ("1", ""),
        ("mm[Hg]", "mmHg"),
        ("10*9/L", "\u00d7 10⁹/L"),
        ("m[IU]/L", "mIU/L"),
        ("h", "hours"),
        ("/min", "per minute"),
        ("mmol/L", "mmol/L"),
        ("{beats}", "beats"),
        ("", ""),
    ],
)
def test_units_as_written(ucum: str, shown: str) -> None:
    assert words.unit(ucum) == shown


@pytest.mark.parametrize(
    ("value", "ucum", "shown"),
    [
        (9920.4, "/(24.h)", "9,920 per day"),
        (14.0, "{score}", "14"),
        (14.5, "{score}", "14.5"),
        (0.62, "mmol/L", "0.62 mmol/L"),
        (0.0452, "m[IU]/L", "0.045 mIU/L"),
        (27.34, "kg/m2", "27.3 kg/m²"),
        (5.94, "%", "5.9%"),
        (7.125, "h", "7.1 hours"),
        (1.054, "mmol/L", "1.05 mmol/L"),
        (136.2, "g/L", "136 g/L"),
        (1234567.0, None, "1,234,567"),
        (0.0, "kg", "0 kg"),
        (-0.00001, None, "-0.00001"),
    ],
)
def test_numbers_with_sensible_precision(value: float, ucum: str | None, shown: str) -> None:
    assert words.quantity(value, ucum) == shown


def test_a_value_outside_a_range_never_reads_as_its_edge() -> None:
    assert display.decimals_apart(151.0, (129.3, 150.7), "g/L") == 1
    assert display.decimals_apart(136.0, (141.2, 158.0), "g/L") == 0


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).filter(lambda v: v == 0 or abs(v) >= 1e-6))
def test_no_scientific_notation_for_clinical_values(value: float) -> None:
    text = display.number(value)
    assert "e" not in text.lower() and "inf" not in text
    assert math.isclose(float(text.replace(",", "")), value, rel_tol=0.06, abs_tol=1e-6)  # two significant figures


@given(st.floats(min_value=1000, max_value=1e9, allow_nan=False))
def test_thousands_are_separated(value: float) -> None:
    assert "," in display.number(value)


def test_dates_as_a_clinician_writes_them_in_london_time() -> None:
    assert display.day(datetime(2026, 11, 3, 9, tzinfo=UTC)) == "3 Nov 2026"
    assert display.day(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "1 Jul 2026"  # British Summer Time
    assert display.day(date(2026, 1, 9)) == "9 Jan 2026"


def test_short_measure_names_instead_of_loinc_long_names() -> None:
    assert words.measure("http://loinc.org", "14334-7") == "Lithium"
    assert words.measure("http://loinc.org", "44261-6") == "PHQ-9"
    assert words.measure("http://loinc.org", "41950-7") == "Steps"
    assert words.measure("urn:x", "unknown", "Something") == "Something"
    long_names = [c for c in shipped().values() if c.kind in ("lab", "device", "vital") and "[" in c.display]
    assert long_names and all(c.short for c in long_names)  # every LOINC long name has a short one


def test_filters_are_registered_on_the_pages(client) -> None:  # type: ignore[no-untyped-def]
    env = client.app.state.templates.env
    assert {"unit", "number", "quantity", "day", "pathway", "language", "code", "appointment_format"} <= set(
        env.filters
    )
    assert env.from_string("{{ 'group_cbt'|pathway }} {{ 9920.4|quantity('/(24.h)') }}").render() == (
        "Group CBT 9,920 per day"
    )


@pytest.mark.parametrize(
    ("p", "shown"), [(0.0, "under 1%"), (0.004, "under 1%"), (0.006, "1%"), (0.236, "24%"), (0.996, "over 99%")]
)
def test_a_chance_never_looks_certain(p: float, shown: str) -> None:
    from idiograph.web.words import chance

    assert chance(p) == shown
