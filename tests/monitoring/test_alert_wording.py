"""Alert reasons are plain clinical English; the method's numbers stay in the alert's detail, one click away
(DESIGN rule 10; hazard H-074: a clinician who cannot read the reason misses the deterioration)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from jinja2 import Environment, FileSystemLoader

from idiograph.app import WEB
from idiograph.baselines import settings as baseline_settings
from idiograph.baselines.normal_normal import Prior
from idiograph.baselines.running import RunningBaseline, reason
from idiograph.monitoring import safety
from idiograph.monitoring.recovery import courses, not_on_track
from idiograph.monitoring.recovery.expected import Judgement
from idiograph.observations.catalogue import shipped
from idiograph.observations.service import StoredRow
from idiograph.web import words

JARGON = ("EWMA", "λ", "ARL", "RCI", "CUSUM", "setpoint", "interval", "e+0", "Lutz", "Finch", "(above 0)")
CFG = baseline_settings.load()
T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
SLEEP = shipped()[("http://loinc.org", "93832-4")]
LITHIUM = shipped()[("http://loinc.org", "14334-7")]


def plain(text: str) -> None:
    found = [w for w in JARGON if w in text]
    assert not found, (found, text)


def test_a_sustained_change_reads_as_words_and_keeps_the_ewma_numbers() -> None:
    st = RunningBaseline()
    found = None
    for k in range(CFG.ewma.baseline_results + 60):
        v = 7.5 + (0.5 if k % 2 else -0.5) if k < CFG.ewma.baseline_results else 4.0
        found = st.update(SLEEP, None, T0 + timedelta(days=k), v, "ewma", CFG)
        if found:
            break
    assert found is not None
    text = reason(found)
    plain(text)
    assert text.startswith("Sleep has fallen steadily over recent results, below what is usual for this person")
    assert "usually about 7.5 hours" in text and "latest 4 hours" in text
    d = found.detail
    assert {"ewma", "limit", "lambda", "arl0"} <= set(d) and "EWMA" in str(d["workings"]) and "λ" in str(d["method"])


def test_a_result_outside_the_usual_range_names_the_range_in_the_measures_units() -> None:
    st = RunningBaseline()
    for k, v in enumerate([0.6, 0.62, 0.58, 0.61, 0.6]):
        st.update(LITHIUM, Prior(0.7, 0.02, 0.002), T0 + timedelta(days=30 * k), v, "point", CFG)
    found = st.update(LITHIUM, Prior(0.7, 0.02, 0.002), T0 + timedelta(days=200), 1.2, "point", CFG)
    assert found is not None
    text = reason(found)
    plain(text)
    assert text.startswith("Lithium 1.2 mmol/L on 20 Jul 2026 is above the usual range for this person (")
    assert "from 5 earlier results" in text and "Lithium [Moles/volume]" not in text
    assert "interval" in str(found.detail["workings"]) and found.detail["setpoint"]


def test_a_safety_answer_is_shown_as_the_answer_given() -> None:
    pid = uuid.uuid4()
    row = StoredRow(pid, "http://loinc.org", "44260-8", 3.0, datetime(2026, 11, 3, 9, tzinfo=UTC), "web", "r1")
    (alert,) = safety.alerts([row])
    plain(alert.reason)
    assert "answered 'Nearly every day' (PHQ-9 item 9) on 3 Nov 2026" in alert.reason
    assert alert.detail["value"] == 3.0 and "lowest option" in str(alert.detail["workings"])


def test_not_on_track_says_where_the_score_is_against_the_expected_course() -> None:
    ep = courses.EpisodeScores(
        "e1", str(uuid.uuid4()), date(2026, 1, 1), None, (T0, T0 + timedelta(weeks=4)), (19.0, 18.0), None, None, {}
    )
    v = not_on_track.Verdict("phq-9", ep, {"nn": Judgement(2, 18.0, 13.2, 16.4)}, True)
    text = not_on_track.reasons(v)
    plain(text)
    assert text == (
        "PHQ-9 is 18 at session 2, started at 19: not improving as expected. By now people who started where "
        "they did usually score about 13; a score above 16.4 is not on track."
    )
    assert "nearest-neighbour course (Lutz): expected 13.2, boundary 16.4 (above)" in not_on_track.workings(v)


def test_method_details_macro_shows_the_workings_and_numbers_behind_a_summary() -> None:
    env = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=True)
    words.register(env)
    macro = env.from_string('{% from "_method_details.html" import method_details %}{{ method_details(a) }}')

    class A:
        detail = {
            "workings": "An EWMA reached 1.026, beyond its limit 0.869.",
            "ewma": 1.026,
            "limit": 0.869,
            "lambda": 0.2,
            "arl0": 365.0,
            "episode_id": "x",
            "judgements": {"nn": {"expected": 9.96, "upper": 13}},
        }

    html = macro.render(a=A())
    assert "<summary>How this was worked out</summary>" in html and "An EWMA reached 1.026" in html
    assert "Smoothing (λ)" in html and "0.2" in html and "365" in html and "EWMA limit" in html
    assert "Nearest-neighbour course (Lutz)" in html and "expected 10" in html  # 9.96 to one decimal
    assert "Episode id" not in html and ">x<" not in html  # identifiers are not workings

    class Empty:
        detail: dict[str, object] = {}

    assert "<details" not in macro.render(a=Empty())
