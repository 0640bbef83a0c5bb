"""Legible charts: caseness lines, the expected course in words, the usual range only where it means something
(hazard H-073), a legend that never crowds the plot, and a text summary for screen readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idiograph.web.charts import BaselineBand, ExpectedBand, Series, measure_figure

T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)
PHQ9 = [(T0 + timedelta(weeks=i), v) for i, v in enumerate([19.0, 17.0, 15.0, 14.0])]
BAND = BaselineBand(9.0, 1.6, 16.9, 0.95, "empirical Bayes (normal-normal)", True, (2.0, 20.0), n=4)
EXPECTED = ExpectedBand(
    "nearest-neighbour course (Lutz)", [(T0 + timedelta(weeks=i), 19 - 2.0 * i, 22 - 1.5 * i) for i in range(1, 7)]
)


def phq9(**kw: object) -> Series:
    base: dict[str, object] = {
        "code": "44261-6",
        "display": "PHQ-9",
        "unit": "{score}",
        "kind": "questionnaire-total",
        "points": PHQ9,
        "lower": 0,
        "upper": 27,
        "caseness": 10.0,
    }
    return Series(**{**base, **kw})  # type: ignore[arg-type]


def names(f: dict[str, object]) -> list[str]:
    return [str(t.get("name")) for t in f["data"] if t.get("showlegend", True)]  # type: ignore[attr-defined]


def test_caseness_line_is_drawn_and_labelled_at_the_threshold() -> None:
    f = measure_figure(phq9())
    line = next(t for t in f["data"] if t["name"].startswith("Caseness"))
    assert line["y"] == [10.0, 10.0] and line["name"] == "Caseness (10 or more)"
    assert line["x"][0] == f["data"][-1]["x"][0] and line["x"][-1] == f["data"][-1]["x"][-1]  # across the results
    assert "caseness threshold (10 or more" in f["caption"]
    assert not any(t["name"].startswith("Caseness") for t in measure_figure(phq9(caseness=None))["data"])


def test_no_personal_band_for_a_symptom_score_during_treatment() -> None:
    """A deteriorating PHQ-9 of 12 must not sit inside a 1.6-16.9 'own range' beside a not-on-track alert."""
    f = measure_figure(phq9(baseline=BAND, in_treatment=True, expected=[EXPECTED]))
    assert not any("Usual range" in str(t.get("name")) for t in f["data"])
    assert not any(t.get("fill") for t in f["data"])
    assert (
        "No usual range is drawn during treatment" in f["caption"]
        and "expected course is the reference" in f["caption"]
    )
    assert "usual range" not in f["summary"]
    # after discharge the person's usual range means something again
    after = measure_figure(phq9(baseline=BAND, in_treatment=False))
    assert any(t.get("name") == "Usual range for this person" and t.get("fill") for t in after["data"])


def test_personal_band_for_a_lab_result_with_its_caption_in_words() -> None:
    li = Series(
        "14334-7",
        "Lithium",
        "mmol/L",
        "lab",
        [(T0 + timedelta(days=30 * i), v) for i, v in enumerate([0.62, 0.7, 0.66, 0.95])],
        baseline=BaselineBand(0.66, 0.48, 0.84, 0.95, "empirical Bayes (normal-normal)", True, n=4),
        in_treatment=True,  # a lab's usual range is meaningful during treatment
    )
    f = measure_figure(li)
    band = [t for t in f["data"] if t.get("legendgroup") == "band"]
    assert len(band) == 2 and band[1]["fill"] == "tonexty" and band[0]["y"] == [0.48, 0.48]
    assert f["caption"] == (
        "Shaded: the usual range for this person (0.48 to 0.84 mmol/L), from 4 results since 1 Sep 2026."
    )
    assert f["layout"]["yaxis"]["title"]["text"] == "Lithium (mmol/L)"
    assert f["summary"].startswith("Lithium: 0.95 mmol/L on 30 Nov 2026, up from 0.62 mmol/L at the start")
    assert "above this person's usual range (0.48 to 0.84 mmol/L)" in f["summary"]


def test_expected_course_and_boundary_are_labelled_in_words_one_model_only() -> None:
    second = ExpectedBand("expected-recovery curve (Finch/Lambert)", EXPECTED.points)
    f = measure_figure(phq9(expected=[EXPECTED, second], in_treatment=True))
    assert names(f) == ["Expected course", "Not on track above this", "Caseness (10 or more)", "PHQ-9"]
    assert "not on track" in f["caption"] and "expected course" in f["caption"]
    assert "Lutz" not in str(f["data"])  # the model's name is the method, not the headline


def test_legend_below_a_tall_enough_plot_and_never_scrolling() -> None:
    f = measure_figure(phq9(baseline=BAND, expected=[EXPECTED]))
    lay = f["layout"]
    assert lay["legend"]["orientation"] == "h" and lay["legend"]["y"] < 0 and lay["legend"]["yanchor"] == "top"
    assert len(names(f)) <= 5  # one or two rows at 420 px, no scrollbar
    plot_height = lay["height"] - lay["margin"]["t"] - lay["margin"]["b"] - 70  # legend rows and tick labels
    assert plot_height >= 250
    assert "title" not in lay  # the heading is in the page, not taking plot space


def test_summary_for_screen_readers_and_hover_dates() -> None:
    f = measure_figure(phq9())
    assert f["summary"] == (
        "PHQ-9: 14 on 22 Sep 2026, down from 19 at the start (4 scores since 1 Sep 2026); above the caseness line (10)."
    )
    one = measure_figure(phq9(points=PHQ9[:1]))
    assert one["summary"].startswith("PHQ-9: 19 on 1 Sep 2026, the only score so far")
    assert "%{x|%-d %b %Y}" in f["data"][-1]["hovertemplate"] and f["layout"]["xaxis"]["hoverformat"] == "%-d %b %Y"
    assert f["layout"]["yaxis"]["title"]["text"] == "PHQ-9 score"


def test_large_counts_read_as_numbers_not_scientific_notation() -> None:
    steps = Series("41950-7", "Steps", "/(24.h)", "device", [(T0, 9920.4), (T0 + timedelta(days=1), 12045.0)])
    f = measure_figure(steps)
    assert f["data"][-1]["customdata"] == ["9,920 per day", "12,045 per day"]
    assert f["layout"]["yaxis"]["title"]["text"] == "Steps (per day)" and "~r" in f["layout"]["yaxis"]["tickformat"]
    assert "e+" not in f["summary"] and "9,920 per day" in f["summary"]
