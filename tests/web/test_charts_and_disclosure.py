from datetime import UTC, datetime

import pytest

from idiograph.reporting.disclosure import SUPPRESSED, safe_count
from idiograph.web.charts import Series, measure_figure


def test_chart_uses_london_time_and_score_range() -> None:
    s = Series(
        "44261-6",
        "PHQ-9 total score",
        "{score}",
        "questionnaire-total",
        [(datetime(2026, 7, 1, 9, tzinfo=UTC), 14.0), (datetime(2026, 12, 1, 9, tzinfo=UTC), 9.0)],
        0,
        27,
    )
    f = measure_figure(s)
    assert f["data"][0]["x"] == ["2026-07-01T10:00:00+01:00", "2026-12-01T09:00:00+00:00"]
    assert f["data"][0]["y"] == [14.0, 9.0]
    assert f["layout"]["yaxis"]["range"] == [-0.5, 27.5]
    assert f["heading"] == "PHQ-9 total score — 2 results"


@pytest.mark.parametrize(
    ("n", "shown"), [(0, 0), (1, SUPPRESSED), (7, SUPPRESSED), (8, 10), (12, 10), (13, 15), (1234, 1235)]
)
def test_small_numbers_are_suppressed_and_others_rounded(n: int, shown: int | str) -> None:
    assert safe_count(n) == shown
