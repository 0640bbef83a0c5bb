"""Plotly figure specifications for a person's measures (pure: series in, JSON-able dicts out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Series:
    code: str
    display: str
    unit: str
    kind: str
    points: Sequence[tuple[datetime, float]]
    lower: float | None = None  # possible range, used for the axis of bounded scores
    upper: float | None = None


def measure_figure(s: Series) -> dict[str, Any]:
    xs = [t.astimezone(LONDON).isoformat() for t, _ in s.points]
    ys = [v for _, v in s.points]
    unit = "" if s.unit in ("{score}", "1") else f" ({s.unit})"
    yaxis: dict[str, Any] = {"title": {"text": f"{s.display}{unit}"}, "zeroline": False}
    if s.kind.startswith("questionnaire") and s.lower is not None and s.upper is not None:
        yaxis["range"] = [s.lower - 0.5, s.upper + 0.5]
    return {
        "id": f"chart-{s.code}",
        "title": s.display,
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": ys,
                "name": s.display,
                "hovertemplate": "%{x|%d %b %Y %H:%M}<br>%{y}" + unit + "<extra></extra>",
            }
        ],
        "layout": {
            "height": 260,
            "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
            "title": {"text": f"{s.display} — {len(ys)} result{'s' if len(ys) != 1 else ''}", "font": {"size": 14}},
            "xaxis": {"type": "date"},
            "yaxis": yaxis,
            "showlegend": False,
        },
    }
