"""The Reports page (issue 19): who may open it, what one view audits, the CSV's disclosure control, bad
periods named by field, and the pure pieces (period, funnel reasons, charts) by hand."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from idiograph.errors import InvalidInput
from idiograph.patients.model import Person
from idiograph.reporting import grid
from idiograph.security.model import AuditRecord
from idiograph.synth import params as synth_params
from idiograph.synth.load import load_demo
from idiograph.web import report_charts as rc
from idiograph.web.pages import reports
from tests.web.test_pages import login


@pytest.fixture
def demo(db):  # type: ignore[no-untyped-def]
    load_demo(db, 40, 5, synth_params.load(), date.today())
    db.commit()
    return db


def test_roles_lead_and_commissioner_see_it_a_clinician_does_not(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.lead", "service_lead")
    make_staff("t.icb", "commissioner")
    make_staff("t.clin", "clinician", ("North",))
    login(client, "t.lead")
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'href="/reports"' in page.text  # the nav link
    for heading in ("Against the national standards", "Month by month", "How far referrals went", "By ethnic group"):
        assert heading in page.text
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)})

    login(client, "t.icb")
    page = client.get("/reports")
    assert page.status_code == 200 and "95% interval" in page.text
    assert "/vendor/plotly.min.js" in page.text and not re.search(r'src="(https?:)?//', page.text)
    assert client.get("/reports/kpis.csv").status_code == 200
    person = demo.scalar(select(Person.id).limit(1))
    assert person is not None
    for path in (f"/people/{person}", f"/people/{person}/care", "/caseload", "/today"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/logout", data={"csrf_token": token})

    login(client, "t.clin")
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/kpis.csv").status_code == 403


def test_one_view_is_one_aggregate_audit_record(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.icb", "commissioner")
    login(client, "t.icb")
    before = demo.scalar(select(func.max(AuditRecord.seq)))
    assert client.get("/reports?from=2026-01-01&to=2026-06-30").status_code == 200
    demo.expire_all()
    views = demo.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert [(v.action, v.resource_type, v.actor, v.person_id) for v in views] == [("read", "KpiReport", "t.icb", None)]
    assert views[0].detail["from"] == "2026-01-01" and views[0].detail["to"] == "2026-06-30"
    assert views[0].detail["via"] == "web"
    assert views[0].detail["groups_published"] is False  # two financial quarters' halves: no group cells (H-108)


def test_csv_totals_and_breakdowns_no_small_count_below_national_level(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.icb", "commissioner")
    login(client, "t.icb")
    quarter = grid.latest_complete(date.today(), "quarter")
    r = client.get(f"/reports/kpis.csv?period={quarter.start.isoformat()}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and "totals-only" not in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    totals = [x for x in rows if x["breakdown"] == "total"]
    assert {x["teams"] for x in totals} == {"talking_therapies", "community"}
    assert {x["kpi"] for x in totals} >= {"referrals", "recovery", "waited_6_weeks", "dna_rate"}
    cells = [x for x in rows if x["breakdown"] != "total"]
    assert {x["breakdown"] for x in cells} >= {"ethnic_group", "imd_quintile", "age_band", "sex", "preferred_language"}
    suppressed = [x for x in cells if x["suppressed"] == "True"]
    assert suppressed, "40 people: some cells must be suppressed"
    for x in suppressed:  # nothing of a suppressed cell is published
        assert x["rate_percent"] == x["ci95_low"] == x["gap_points"] == ""
    for x in cells:
        for col in ("numerator", "denominator"):
            if x[col] != "":
                n = int(x[col])
                assert not 1 <= n <= 7, (x["breakdown"], x["group"], x["kpi"], col, n)
                assert n % 5 == 0, (x["breakdown"], x["group"], x["kpi"], col, n)
    # the reference group's name is on every row of its breakdown
    eth = [x for x in cells if x["breakdown"] == "ethnic_group" and x["teams"] == "talking_therapies"]
    assert {x["reference_group"] for x in eth} == {"White"}


def test_a_bad_period_names_its_field(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.lead", "service_lead")
    login(client, "t.lead")
    r = client.get("/reports?from=2026-13-01&to=2026-06-30")
    assert r.status_code == 400
    assert "from: &#39;2026-13-01&#39; is not a date" in r.text and 'aria-invalid="true"' in r.text
    r = client.get("/reports?from=2026-06-30&to=2026-01-01")
    assert r.status_code == 400 and "to: 2026-01-01 is before from (2026-06-30)" in r.text
    r = client.get("/reports/kpis.csv?to=tomorrow")
    assert r.status_code == 422 and "to" in r.text and "tomorrow" in r.text


def test_measure_report_route(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    icb = make_staff("t.icb", "commissioner")
    clin = make_staff("t.clin", "clinician", ("North",))
    before = demo.scalar(select(func.max(AuditRecord.seq)))
    q = grid.latest_complete(date.today(), "quarter")
    a, b = q.start.isoformat(), q.end.isoformat()
    r = client.get(f"/fhir/R4/MeasureReport?period-start={a}&period-end={b}", headers=icb.auth)
    demo.expire_all()
    views = demo.scalars(select(AuditRecord).where(AuditRecord.seq > before)).all()
    assert [(v.resource_type, v.person_id, v.detail["via"]) for v in views] == [("KpiReport", None, "fhir")]
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    kinds = [e["resource"]["id"] for e in bundle["entry"]]
    assert kinds == [f"kpis-talking-therapies-{a}-{b}", f"kpis-community-{a}-{b}"]
    tt = bundle["entry"][0]["resource"]
    assert tt["type"] == "summary" and tt["period"] == {"start": a, "end": b}
    codes = [g["code"]["coding"][0]["code"] for g in tt["group"]]
    assert codes[:3] == ["referrals", "entered_treatment", "finished_course"] and "recovery" in codes
    strata = [s for g in tt["group"] for st in g.get("stratifier", []) for s in st["stratum"]]
    flagged = [s for s in strata if any(e["url"].endswith("/suppressed") for e in s.get("extension", []))]
    assert flagged and all("population" not in s and "measureScore" not in s for s in flagged)
    for s in strata:
        for p in s.get("population", []):
            assert not 1 <= p["count"] <= 7 and p["count"] % 5 == 0
    assert client.get("/fhir/R4/MeasureReport", headers=icb.auth).json()["entry"][0]["resource"]["period"] == {
        "start": a,
        "end": b,
    }  # the default is the latest ended financial quarter
    assert client.get("/fhir/R4/MeasureReport", headers=clin.auth).status_code == 403
    bad = client.get("/fhir/R4/MeasureReport?period-end=June", headers=icb.auth)
    assert bad.status_code == 422 and bad.json()["issue"][1]["expression"] == ["period-end"]


# pure pieces, by hand


def test_period_default_is_the_latest_ended_financial_quarter_and_bad_dates_name_the_field() -> None:
    today = date(2026, 12, 4)
    assert reports.parse_period(None, "", today) == (date(2026, 7, 1), date(2026, 9, 30))
    assert reports.default_period(date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))  # Q4 still running
    assert reports.default_period(date(2026, 4, 1)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert reports.parse_period("2026-02-01", "2026-03-31", today, "2026-04-01") == (
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    for bad in ("2026-05-01", "2026-10-01", "Q2"):  # not a quarter's first day; a quarter still running; not a date
        with pytest.raises(InvalidInput) as e:
            reports.parse_period(None, None, today, bad)
        assert e.value.problems[0].field == "period"
    assert [c["name"] for c in reports.grid_choices(today)][:2] == ["2026-27 Q2", "2026-27 Q1"]
    with pytest.raises(InvalidInput) as e:
        reports.parse_period("2026-02-30", "nonsense", today)
    assert [p.field for p in e.value.problems] == ["from", "to"]
    with pytest.raises(InvalidInput) as e:
        reports.parse_period("2026-01-01", "2027-01-01", today)
    assert e.value.problems[0].field == "to" and "future" in e.value.problems[0].reason


def test_funnel_reasons_are_exact_service_totals_claiming_no_protection() -> None:
    """Found by review and a new user's trial: suppressed reasons came back from the exact stage count or the exact
    disengagement total; the funnel is a service total, exact like the KPI totals, and says so."""
    stages = [
        {"stage": "referred", "reached": 50, "stopped": {}},
        {"stage": "assessed", "reached": 50, "stopped": {"declined": 3, "not_suitable": 27}},
        {"stage": "entered_treatment", "reached": 20, "stopped": {"completed": 12, "disengaged": 8}},
    ]
    rows = reports.funnel_rows(stages)
    assert [(r["label"], r["reached"], r["stopped_here"]) for r in rows] == [
        ("Referred", 50, 0),
        ("Assessed", 50, 30),
        ("Entered treatment", 20, 20),
    ]
    assert rows[1]["reasons"] == [("declined", 3), ("not suitable", 27)]
    assert rows[2]["reasons"] == [("completed", 12), ("disengaged", 8)]
    assert sum(n for _, n in rows[1]["reasons"]) == rows[1]["stopped_here"]


def test_group_labels() -> None:
    assert reports.group_label("imd_quintile", "1") == "Quintile 1 (most deprived)"
    assert reports.group_label("imd_quintile", "3") == "Quintile 3"
    assert reports.group_label("preferred_language", "pl") == "Polish"
    assert reports.group_label("sex", "unknown") == "Not recorded"


def test_equity_chart_keeps_a_row_for_a_suppressed_group_and_says_so() -> None:
    f = rc.by_group(
        "x",
        "Recovery",
        "ethnic group",
        [
            rc.GroupPoint("White", 54.0, 48.8, 59.0, reference=True),
            rc.GroupPoint("Mixed", None, None, None, why="suppressed"),
            rc.GroupPoint("Black or Black British", 41.4, 25.5, 59.3),
        ],
    )
    dots, words = f["data"]
    assert dots["y"] == ["White", "Black or Black British"] and dots["x"] == [54.0, 41.4]
    assert dots["error_x"]["array"] == [5.0, 17.9] and dots["error_x"]["arrayminus"] == [5.2, 15.9]
    assert words["y"] == ["Mixed"] and words["text"] == ["suppressed"]
    assert f["layout"]["shapes"][0]["x0"] == 54.0
    assert f["summary"] == (
        "Recovery by ethnic group: White 54.0% (48.8% to 59.0%); Black or Black British 41.4% (25.5% to 59.3%). "
        "Reference group: White (dotted line). Not shown: Mixed (suppressed)."
    )


def test_trend_leaves_a_withheld_month_out_and_names_it() -> None:
    points = [
        rc.MonthPoint("2026-01", "Jan 2026", 50.0, 40.0, 60.0, 45),
        rc.MonthPoint("2026-02", "Feb 2026", None, None, None, "fewer than 8", "suppressed: fewer than 8 counted"),
    ]
    f = rc.trend("t", "Recovery", points, standard=50.0)
    assert f["data"][0]["x"] == ["Jan 2026"] and f["data"][0]["y"] == [50.0]
    assert f["data"][1]["y"] == [50.0, 50.0]
    assert "Not shown: Feb 2026 (suppressed: fewer than 8 counted)." in f["summary"]
    assert f["summary"].endswith("The national standard is 50% or more.")


def test_an_empty_service_shows_the_page_with_nothing_counted(client, make_staff) -> None:  # type: ignore[no-untyped-def]
    make_staff("t.icb", "commissioner")
    login(client, "t.icb")
    page = client.get("/reports?from=2026-01-01&to=2026-03-31")
    assert page.status_code == 200
    assert "none counted in this period" in page.text and "Jan 2026" in page.text
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/kpis.csv?from=2026-01-01&to=2026-03-31").text)))
    referrals = [x for x in rows if x["breakdown"] == "total" and x["kpi"] == "referrals"]
    assert [x["numerator"] for x in referrals] == ["0", "0"]


def test_notes_use_the_page_s_words() -> None:
    notes = reports.plain_notes(
        [
            "kpis are the talking-therapies teams'.",
            "dna_rate: over appointments.",
            "referrals ended; re_referral_within_30_days is not",
        ]
    )
    assert notes == ["Did not attend: over appointments.", "Referrals ended; re-referral within 30 days is not"]


def test_personalisation_is_on_the_page_as_observational(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: personalisation made visible on the Reports page, the comparisons stated as associations."""
    make_staff("t.lead", "service_lead")
    login(client, "t.lead")
    page = client.get("/reports")
    assert page.status_code == 200
    text = page.text
    assert 'id="personalisation"' in text and "At the preferred time" in text
    assert 'id="personalisation-observational"' in text and "association, not an effect" in text
    assert "Mantel-Haenszel" in text and 'id="flex-ethnic"' in text


def test_off_the_grid_the_page_withholds_every_group_cell_and_links_the_quarters(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    """H-108: for days that are not one whole financial quarter the page keeps the service totals, the months and
    the funnel, and shows no group: no equity table, no gap, no team, no pathway, no flexibility by group; it says
    why and links the quarters the days fall in. For a whole quarter every one is back."""
    make_staff("t.icb", "commissioner")
    login(client, "t.icb")
    q = grid.latest_complete(date.today(), "quarter")
    before = grid.containing(q.start - timedelta(days=1), "quarter")
    mid = before.start.replace(month=before.start.month + 1)  # a month into the earlier quarter, to q's end
    off = client.get(f"/reports?from={mid.isoformat()}&to={q.end.isoformat()}")
    assert off.status_code == 200
    text = off.text
    assert (
        'id="equity-withheld"' in text and "Breakdowns by group are published for whole financial quarters only" in text
    )
    for g in (before, q):
        assert f'href="/reports?from={g.start.isoformat()}&amp;to={g.end.isoformat()}">{g.name}</a>' in text
    assert "equity-table" not in text and 'id="equity-ethnic_group"' not in text
    assert 'id="team-funnel-withheld"' in text and 'id="team-funnel-table"' not in text
    assert 'id="flex-withheld"' in text and 'id="flex-ethnic"' not in text
    assert "Month by month" in text and 'id="funnel-talking_therapies-table"' in text and 'id="totals"' in text
    assert "totals only" in text
    csv_off = client.get(f"/reports/kpis.csv?from={mid.isoformat()}&to={q.end.isoformat()}")
    assert "totals-only" in csv_off.headers["content-disposition"]
    off_rows = list(csv.DictReader(io.StringIO(csv_off.text)))
    # service-level rows only: the KPI totals and the experience questions, no group cell
    assert {x["group"] for x in off_rows} == {"all"}
    # experience and community outcomes are rounded counts with pinned rates: a grid period only, like groups
    assert {x["breakdown"] for x in off_rows} == {"total"}
    assert 'id="experience-withheld"' in text and 'id="community-outcomes-withheld"' in text

    on = client.get(f"/reports?period={q.start.isoformat()}")
    assert on.status_code == 200
    assert 'id="equity-withheld"' not in on.text and 'id="equity-ethnic_group"' in on.text
    assert "equity-table" in on.text and 'id="team-funnel-withheld"' not in on.text
    assert f'<option value="{q.start.isoformat()}" selected>{q.name}</option>' in on.text
    rows = list(csv.DictReader(io.StringIO(client.get(f"/reports/kpis.csv?from={q.start}&to={q.end}").text)))
    assert {x["breakdown"] for x in rows} > {"total", "ethnic_group"}

    bad = client.get("/reports?period=2026-05-01")
    assert bad.status_code == 400 and 'id="grid-period"' in bad.text and 'aria-invalid="true"' in bad.text


def test_off_the_grid_fhir_gives_totals_without_strata_and_says_why(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    icb = make_staff("t.icb", "commissioner")
    q = grid.latest_complete(date.today(), "quarter")
    start = q.start.replace(day=2)  # one day short of the quarter
    r = client.get(f"/fhir/R4/MeasureReport?period-start={start}&period-end={q.end}", headers=icb.auth)
    assert r.status_code == 200
    bundle = r.json()
    assert bundle["total"] == 2 and [e["search"]["mode"] for e in bundle["entry"]] == ["match", "match", "outcome"]
    for e in bundle["entry"][:2]:
        report = e["resource"]
        assert report["resourceType"] == "MeasureReport" and report["group"]
        assert all("stratifier" not in g for g in report["group"])
        assert all("population" in g for g in report["group"])  # the totals are still there
        assert "strata withheld" in report["extension"][0]["valueString"]
    outcome = bundle["entry"][2]["resource"]
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "warning" and issue["code"] == "suppressed"
    assert "not one complete period" in issue["details"]["text"]
    assert f"period-start={q.start}&period-end={q.end}" in issue["details"]["text"]


def test_experience_of_choice_is_on_the_page_with_the_national_wording(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: what people said about their choices, per question with its wording, share and interval, in the
    CSV too; the demo's people answered through real experience links."""
    from datetime import UTC, datetime

    from idiograph.measures.model import ExperienceResponse

    start, _ = reports.parse_period(None, None, reports._today(), None)  # the default: the latest ended quarter
    person = demo.scalar(select(Person))
    for i in range(20):  # besides the demo's own answers, enough in the quarter for every share to be shown
        answers = {"747861000000100": "Y", "747871000000107": "Y", "747881000000109": "Y" if i % 4 else "N"}
        demo.add(
            ExperienceResponse(
                person_id=person.id,
                form="peq-assessment",
                version="t",
                answers=answers,
                authored_at=datetime.combine(start + timedelta(days=3), datetime.min.time(), UTC),
            )
        )
    demo.commit()
    make_staff("t.comm", "commissioner")
    login(client, "t.comm")
    text = client.get("/reports").text
    assert 'id="experience"' in text and "experience of choice</h2>" in text
    assert "Were you given information about options for choosing a treatment" in text
    assert "Did you feel involved in making choices about your treatment and care?" in text
    assert "Most of the time or all of the time" in text and "Among people answering Yes to Assessment Q2" in text
    assert 'id="experience-peq-assessment"' in text  # the chart
    shares = re.findall(r'id="experience-table-peq-assessment".*?</table>', text, re.S)
    assert shares and re.search(r"\d+\.\d%</td><td>\d+\.\d% to \d+\.\d%", shares[0])
    rows = [r for r in csv.DictReader(io.StringIO(client.get("/reports/kpis.csv").text)) if r["teams"] == "all"]
    assert rows and all(r["breakdown"].startswith("experience ") and r["question"] for r in rows)
    assert all(r["numerator"] == "" or int(r["numerator"]) % 5 == 0 for r in rows)


def test_community_outcome_measures_are_on_the_page(client, demo, make_staff) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: DIALOG and Goal-Based Outcomes paired-score coverage for community teams, read within the page's
    one audited view."""
    make_staff("t.lead2", "service_lead")
    login(client, "t.lead2")

    def reads(kind: str) -> int:
        return demo.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.resource_type == kind))

    before = reads("KpiReport")
    text = client.get("/reports").text
    assert 'id="community-outcomes-table"' in text and "DIALOG subjective quality of life" in text
    assert "Goal-Based Outcomes (0-10 per goal" in text
    assert 'id="inpatient"' in text and ('id="inpatient-table"' in text or 'id="inpatient-none"' in text)
    assert reads("KpiReport") == before + 1 and reads("CommunityOutcomes") == 0  # one audited view covers it
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/kpis.csv").text)))
    paired = {r["kpi"] for r in rows if r["breakdown"] == "community outcomes"}
    assert paired == {"dialog_paired_scores", "gbo_paired_scores", "gbo_reliably_improved"}
