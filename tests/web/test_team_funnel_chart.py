"""The team funnel plot's figure spec (issue 19): limits drawn in percent, suppressed teams named not drawn."""

from __future__ import annotations

import pytest

from idiograph.reporting.funnel import FunnelPoint, classify, curves, limit
from idiograph.web.report_charts import TeamFunnelPoint, team_funnel


def test_team_funnel_spec() -> None:
    pts = [FunnelPoint("North", 15, 20), FunnelPoint("South", 10, 20), FunnelPoint("East", None, None, "fewer than 8")]
    verdicts = {v.team: v.beyond for v in classify(pts, 0.5)}
    teams = [
        TeamFunnelPoint(
            p.team, None if p.rate is None else 100 * p.rate, p.denominator, verdicts.get(p.team, ""), p.why
        )
        for p in pts
    ]
    fig = team_funnel("f", "Recovery", 50.0, curves(0.5, 20, steps=5), teams)
    lines = {(d["name"], d["showlegend"]): d for d in fig["data"] if d.get("mode") == "lines" and "showlegend" in d}
    upper95 = lines[("95% limit", True)]
    assert upper95["x"][-1] == 20.0
    assert upper95["y"][-1] == pytest.approx(round(100 * limit(20, 0.5, 0.975), 2))  # 69.42
    assert upper95["y"][-1] == 69.42
    dots = fig["data"][-1]
    assert dots["text"] == ["North", "South"] and dots["y"] == [75.0, 50.0] and dots["x"] == [20, 20]
    assert "North 75.0% of 20 (beyond the 95% limit, above)" in fig["summary"]
    assert "South 50.0% of 20 (within the 95% limits)" in fig["summary"]
    assert "Not shown: East (fewer than 8)." in fig["summary"]
    assert "East" not in dots["text"]
