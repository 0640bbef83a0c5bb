from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from idiograph.observations import csv_format
from idiograph.observations.catalogue import shipped
from idiograph.observations.units import convert
from idiograph.observations.validation import observation_problems

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PHQ9 = shipped()[("http://loinc.org", "44261-6")]
LITHIUM = shipped()[("http://loinc.org", "14334-7")]


def fields(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        prefix="o/0",
        code=PHQ9,
        system="http://loinc.org",
        code_value="44261-6",
        value=12.0,
        unit=None,
        time=NOW - timedelta(days=1),
        now=NOW,
    )
    base.update(kw)
    return {p.field: p.reason for p in observation_problems(**base)}


def test_catalogue_has_items_totals_labs_and_devices() -> None:
    codes = shipped()
    assert ("http://loinc.org", "44260-8") in codes and codes[("http://loinc.org", "44260-8")].max == 3
    assert PHQ9.min == 0 and PHQ9.max == 27 and PHQ9.unit == "{score}"
    assert LITHIUM.unit == "mmol/L" and ("http://loinc.org", "93832-4") in codes


def test_each_rule_names_its_field() -> None:
    assert fields() == {}
    assert "o/0/code" in fields(code=None, code_value="99999-9")
    assert "above the possible maximum 27" in fields(value=28.0)["o/0/value"]
    assert "whole numbers" in fields(value=12.5)["o/0/value"]
    assert "finite" in fields(value=float("nan"))["o/0/value"]
    assert "unit" in fields(unit="mmol/L")["o/0/unit"]
    assert fields(time=NOW + timedelta(hours=1)) == {"o/0/time": "is in the future"}
    assert fields(time=datetime(1850, 1, 1, tzinfo=UTC)) == {"o/0/time": "is before 1900"}
    assert "timezone" in fields(time=datetime(2026, 1, 1))["o/0/time"]


def test_unit_conversions_are_exact_or_refused() -> None:
    assert convert(13.5, "g/dL", "g/L") == 135.0
    assert convert(7.2, "10*3/uL", "10*9/L") == 7.2
    assert convert(1.0, "g/dL", "mmol/L") is None
    assert convert(3.0, "kg", "kg") == 3.0


def test_csv_parsing_reads_local_time_and_names_bad_cells() -> None:
    text = (
        "person_id,code,value,time,nhs_number,sex\n"
        "p1,44261-6,12,2026-07-01,9434765919,female\n"
        "p1,44261-6,abc,2026-07-08T10:00:00Z,,\n"
        "p2,44261-6,5,not-a-date,943 476 5918,\n"
    )
    c = csv_format.parse(text)
    assert c.rows[0].time == datetime(2026, 6, 30, 23, tzinfo=UTC)  # midnight BST
    assert c.people["p1"] == {"nhs_number": "9434765919", "sex": "female"}
    problems = {p.field: p.reason for p in c.problems}
    assert "not a number" in problems["line 3/value"]
    assert "ISO 8601" in problems["line 4/time"]


def test_csv_header_problems() -> None:
    assert csv_format.parse("person_id,code,value\n").problems[0].reason.startswith("missing required column(s): time")
    assert "unknown column" in csv_format.parse("person_id,code,value,time,colour\n").problems[0].reason
    twice = csv_format.parse("person_id,code,value,time,value\nP1,718-7,140,2026-01-01,150\n")
    assert [(p.field, p.reason) for p in twice.problems] == [("header", "column(s) named twice: value")]
    nul = csv_format.parse("person_id,code,value,time\nP1,718-7,140,2026-01-01\nP\x002,718-7,141,2026-01-02\n")
    assert [(p.field, p.reason) for p in nul.problems] == [("line 3", "contains a NUL (\\u0000) character")]
    assert nul.rows == []


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_csv_times_with_offsets_are_kept_exactly(t: datetime) -> None:
    assert csv_format.parse_time(t.isoformat()) == t
