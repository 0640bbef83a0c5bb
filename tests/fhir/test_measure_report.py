"""The KPI report as FHIR MeasureReport (issue 19), from a hand-made document: one group per KPI with its
populations and score, a stratifier per breakdown, a suppressed stratum with nothing but its group and a flag."""

from __future__ import annotations

from datetime import UTC, datetime

from idiograph.fhir import mapping_out as out

POP = "http://terminology.hl7.org/CodeSystem/measure-population"


def _doc() -> dict:  # type: ignore[type-arg]
    return {
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "definitions": "kpis/1",
        "kpis": {
            "referrals": {"numerator": 40, "denominator": None, "rate": None},
            "recovery": {"numerator": 12, "denominator": 25, "rate": 48.0},
            "dna_rate": {"numerator": 0, "denominator": 0, "rate": None},
        },
        "community": {"referrals": {"numerator": 3, "denominator": None, "rate": None}},
        "by": {
            "sex": [
                {
                    "group": "female",
                    "reference": True,
                    "kpis": {
                        "referrals": {"numerator": 30, "denominator": None, "rate": None, "suppressed": False},
                        "recovery": {
                            "numerator": 10,
                            "denominator": 20,
                            "rate": 52.6,
                            "suppressed": False,
                            "ci95": [31.7, 72.7],
                            "gap": None,
                            "gap_ci95": None,
                        },
                    },
                },
                {
                    "group": "male",
                    "reference": False,
                    "kpis": {
                        "referrals": {"numerator": 10, "denominator": None, "rate": None, "suppressed": False},
                        "recovery": {
                            "numerator": None,
                            "denominator": None,
                            "rate": None,
                            "suppressed": True,
                            "ci95": None,
                            "gap": None,
                            "gap_ci95": None,
                        },
                    },
                },
            ]
        },
    }


def test_a_group_per_kpi_with_populations_and_score() -> None:
    r = out.measure_report(_doc(), "talking_therapies", datetime(2026, 7, 1, tzinfo=UTC))
    assert r["resourceType"] == "MeasureReport" and r["status"] == "complete" and r["type"] == "summary"
    assert r["period"] == {"start": "2026-01-01", "end": "2026-06-30"}
    assert r["measure"] == "https://idiograph.org/fhir/Measure/talking-therapies-kpis|kpis/1"
    assert r["id"] == "kpis-talking-therapies-2026-01-01-2026-06-30"
    groups = {g["code"]["coding"][0]["code"]: g for g in r["group"]}
    assert list(groups) == ["referrals", "recovery", "dna_rate"]
    assert groups["referrals"]["population"] == [
        {"code": {"coding": [{"system": POP, "code": "initial-population"}]}, "count": 40}
    ]
    assert groups["referrals"]["measureScore"]["value"] == 40
    assert [(p["code"]["coding"][0]["code"], p["count"]) for p in groups["recovery"]["population"]] == [
        ("numerator", 12),
        ("denominator", 25),
    ]
    assert groups["recovery"]["measureScore"] == {
        "value": 48.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert "measureScore" not in groups["dna_rate"]  # nothing counted: no score, not 0%


def test_strata_follow_disclosure_control_and_a_suppressed_one_is_flagged() -> None:
    r = out.measure_report(_doc(), "talking_therapies", datetime(2026, 7, 1, tzinfo=UTC))
    recovery = next(g for g in r["group"] if g["code"]["coding"][0]["code"] == "recovery")
    (sex,) = recovery["stratifier"]
    assert sex["code"][0]["coding"][0]["code"] == "sex"
    female, male = sex["stratum"]
    assert female["value"] == {"text": "female"}
    assert [(p["code"]["coding"][0]["code"], p["count"]) for p in female["population"]] == [
        ("numerator", 10),
        ("denominator", 20),
    ]
    urls = {e["url"].rsplit("/", 1)[1]: e for e in female["extension"]}
    assert urls["reference-group"]["valueBoolean"] is True
    assert urls["confidence-interval-95"]["valueRange"]["low"]["value"] == 31.7
    assert urls["confidence-interval-95"]["valueRange"]["high"]["value"] == 72.7
    assert male == {
        "extension": [{"url": "https://idiograph.org/fhir/StructureDefinition/suppressed", "valueBoolean": True}],
        "value": {"text": "male"},
    }


def test_community_teams_are_their_own_report() -> None:
    r = out.measure_report(_doc(), "community", datetime(2026, 7, 1, tzinfo=UTC))
    assert [g["code"]["coding"][0]["code"] for g in r["group"]] == ["referrals"]
    assert "stratifier" not in r["group"][0]  # no community breakdowns in this document
    assert r["group"][0]["population"][0]["count"] == 3


def test_off_the_publication_grid_the_totals_come_without_strata_and_an_outcome_says_why() -> None:
    """H-108: a document for a period that is not one ended financial quarter has no breakdowns (withheld by
    referrals_db.audited_document); its reports say so and the OperationOutcome names the quarters to ask for."""
    from datetime import date

    from idiograph.reporting.kpi_report import publication

    doc = {**_doc(), "by": {}, "publication": publication(date(2026, 1, 1), date(2026, 6, 30), date(2026, 12, 4))}
    r = out.measure_report(doc, "talking_therapies", datetime(2026, 7, 1, tzinfo=UTC))
    assert all("stratifier" not in g for g in r["group"])
    assert [p["count"] for p in r["group"][1]["population"]] == [12, 25]  # the totals stay
    assert "strata withheld" in r["extension"][0]["valueString"]
    outcome = out.strata_withheld(doc)
    (issue,) = outcome["issue"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert (issue["severity"], issue["code"]) == ("warning", "suppressed")
    assert issue["details"]["text"].startswith("Strata (breakdowns by group) are withheld: 2026-01-01 to 2026-06-30")
    assert issue["details"]["text"].endswith(
        "Ask for 2025-26 Q4: period-start=2026-01-01&period-end=2026-03-31; "
        "2026-27 Q1: period-start=2026-04-01&period-end=2026-06-30."
    )
    on = {**_doc(), "publication": publication(date(2026, 4, 1), date(2026, 6, 30), date(2026, 12, 4))}
    r = out.measure_report(on, "talking_therapies", datetime(2026, 7, 1, tzinfo=UTC))
    assert r["extension"][0]["valueString"].endswith("one period of the publication grid (2026-27 Q1)")
