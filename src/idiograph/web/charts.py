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
    expected: Sequence[ExpectedBand] = ()
    baseline: BaselineBand | None = None


@dataclass(frozen=True)
class ExpectedBand:
    """A model's expected course for this episode: (time, expected score, upper boundary) per session."""

    label: str
    points: Sequence[tuple[datetime, float, float]]


@dataclass(frozen=True)
class BaselineBand:
    """The person's interval for their next result, and the population's, drawn across the series."""

    setpoint: float
    lower: float
    upper: float
    coverage: float
    method: str
    personal: bool
    population: tuple[float, float] | None = None


def _baseline_traces(b: BaselineBand, x0: str, x1: str) -> list[dict[str, Any]]:
    label = "personal" if b.personal else "population (too few own results)"
    pct = f"{b.coverage:.0%}"
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [x0, x1],
            "y": [round(b.lower, 4)] * 2,
            "name": f"{label} interval {pct}",
            "line": {"color": "rgba(0,114,80,0.6)", "width": 1},
            "legendgroup": "personal",
            "hovertemplate": f"{label} lower %{{y:.3g}}<extra>{b.method}</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": [x0, x1],
            "y": [round(b.upper, 4)] * 2,
            "name": f"{label} interval {pct}",
            "showlegend": False,
            "fill": "tonexty",
            "fillcolor": "rgba(0,114,80,0.12)",
            "line": {"color": "rgba(0,114,80,0.6)", "width": 1},
            "legendgroup": "personal",
            "hovertemplate": f"{label} upper %{{y:.3g}}<extra>{b.method}</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": [x0, x1],
            "y": [round(b.setpoint, 4)] * 2,
            "name": "setpoint",
            "line": {"color": "#007250", "dash": "dot"},
            "hovertemplate": "setpoint %{y:.3g}<extra></extra>",
        },
    ]
    if b.population is not None:
        for i, y in enumerate(b.population):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [x0, x1],
                    "y": [round(y, 4)] * 2,
                    "name": f"population interval {pct}",
                    "showlegend": i == 0,
                    "legendgroup": "population",
                    "line": {"color": "#768692", "dash": "dash", "width": 1},
                    "hovertemplate": "population %{y:.3g}<extra></extra>",
                }
            )
    return traces


def measure_figure(s: Series) -> dict[str, Any]:
    xs = [t.astimezone(LONDON).isoformat() for t, _ in s.points]
    ys = [v for _, v in s.points]
    unit = "" if s.unit in ("{score}", "1") else f" ({s.unit})"
    yaxis: dict[str, Any] = {"title": {"text": f"{s.display}{unit}"}, "zeroline": False}
    if s.kind.startswith("questionnaire") and s.lower is not None and s.upper is not None:
        yaxis["range"] = [s.lower - 0.5, s.upper + 0.5]
    bands: list[dict[str, Any]] = []
    for i, band in enumerate(s.expected):
        bx = [t.astimezone(LONDON).isoformat() for t, _, _ in band.points]
        dash = "dash" if i == 0 else "dot"
        bands.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": bx,
                "y": [round(e, 2) for _, e, _ in band.points],
                "name": f"expected ({band.label})",
                "line": {"dash": dash, "color": "#5b6776"},
                "hovertemplate": "expected %{y:.1f}<extra></extra>",
            }
        )
        bands.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": bx,
                "y": [round(u, 2) for _, _, u in band.points],
                "name": f"not-on-track boundary ({band.label})",
                "line": {"dash": dash, "color": "#b3261e"},
                "fill": "tonexty" if i == 0 else "none",
                "fillcolor": "rgba(91,103,118,0.12)",
                "hovertemplate": "boundary %{y:.1f}<extra></extra>",
            }
        )
    if s.baseline is not None and xs:
        bands = _baseline_traces(s.baseline, xs[0], xs[-1]) + bands
    return {
        "id": f"chart-{s.code}",
        "title": s.display,
        "data": [
            *bands,
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": ys,
                "name": s.display,
                "line": {"color": "#005eb8"},
                "hovertemplate": "%{x|%d %b %Y %H:%M}<br>%{y}" + unit + "<extra></extra>",
            },
        ],
        "layout": {
            "height": 320 if bands else 260,
            "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
            "title": {"text": f"{s.display} — {len(ys)} result{'s' if len(ys) != 1 else ''}", "font": {"size": 14}},
            "xaxis": {"type": "date"},
            "yaxis": yaxis,
            "showlegend": bool(bands),
            "legend": {"orientation": "h", "y": -0.25, "font": {"size": 11}},
        },
    }
