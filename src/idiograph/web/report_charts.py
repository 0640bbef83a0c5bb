"""Plotly figure specifications for the Reports page (pure: figures in, JSON-able dicts out; mypy --strict).

Every figure is a dict like ``web.charts``' (``id``, ``heading``, ``summary`` for screen readers, ``caption``,
``data``, ``layout``); every rate is drawn with its 95% interval and a withheld value is named in the summary,
never drawn as a zero. Colours are those of the person pages (contrast 4.5:1 or more on white)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BLUE, GREY, PLUM, GREEN = "#005eb8", "#425563", "#7c2855", "#007250"
BAND_EDGE = "#4a7fb8"


@dataclass(frozen=True)
class MonthPoint:
    """One month's rate: ``rate`` None when withheld (``why`` says why) or when nothing was counted."""

    month: str  # "2026-03"
    label: str  # "Mar 2026"
    rate: float | None
    low: float | None
    high: float | None
    denominator: int | str  # as published: a rounded count, or a word for a withheld one
    why: str = ""


@dataclass(frozen=True)
class GroupPoint:
    """One group's rate with its interval, or None when suppressed (``why``)."""

    group: str
    rate: float | None
    low: float | None
    high: float | None
    reference: bool = False
    why: str = ""


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}%"


def trend(
    fig_id: str,
    title: str,
    points: Sequence[MonthPoint],
    standard: float | None = None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """A rate month by month with its 95% interval as a bar, and the national standard as a dotted line."""
    shown = [p for p in points if p.rate is not None]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": [p.label for p in shown],
            "y": [p.rate for p in shown],
            "name": title,
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 8},
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [round((p.high or 0) - (p.rate or 0), 1) for p in shown],
                "arrayminus": [round((p.rate or 0) - (p.low or 0), 1) for p in shown],
                "color": BAND_EDGE,
                "thickness": 1.5,
            },
            "customdata": [[_pct(p.low), _pct(p.high), str(p.denominator)] for p in shown],
            "hovertemplate": "%{x}: %{y:.1f}% (95% interval %{customdata[0]} to %{customdata[1]}; "
            "out of %{customdata[2]})<extra></extra>",
        }
    ]
    labels = [p.label for p in points]
    if standard is not None and labels:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [labels[0], labels[-1]],
                "y": [standard, standard],
                "name": f"National standard ({standard:.0f}%)",
                "line": {"dash": "dot", "color": PLUM, "width": 2},
                "hoverinfo": "skip",
            }
        )
    withheld = [p for p in points if p.rate is None]
    words = "; ".join(f"{p.label} {p.rate:.1f}% ({_pct(p.low)} to {_pct(p.high)})" for p in shown) or "no month"
    text = f"{title}, month by month: {words}."
    if withheld:
        text += " Not shown: " + "; ".join(f"{p.label} ({p.why or 'none counted'})" for p in withheld) + "."
    if standard is not None:
        text += f" The national standard is {standard:.0f}%{' or more' if higher_is_better else ' or less'}."
    return {
        "id": fig_id,
        "heading": title,
        "summary": text,
        "caption": "Dots: the month's rate; bars: its 95% interval (Wilson). A month with too few to read is left "
        "out, not drawn as zero.",
        "data": data,
        "layout": {
            "height": 320,
            "margin": {"l": 56, "r": 12, "t": 8, "b": 40},
            "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": labels, "automargin": True},
            "yaxis": {"title": {"text": "percent"}, "range": [0, 105], "ticksuffix": "%", "automargin": True},
            "showlegend": standard is not None,
            "legend": {"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"},
            "hovermode": "closest",
        },
    }


def funnel(fig_id: str, stages: Sequence[tuple[str, int]], team: str) -> dict[str, Any]:
    """How many referrals that ended in the period reached each stage, as horizontal bars from the top."""
    names = [s for s, _ in stages]
    counts = [n for _, n in stages]
    first = counts[0] if counts else 0
    share = [f"{100 * n / first:.0f}%" if first else "-" for n in counts]
    words = "; ".join(f"{s} {n} ({p})" for s, n, p in zip(names, counts, share, strict=True))
    return {
        "id": fig_id,
        "heading": f"How far referrals went ({team}): referrals that ended in the period",
        "summary": f"Attrition funnel, {team}: {words}." if stages else f"No referral of {team} ended in the period.",
        "caption": "Each bar counts the referrals that reached that stage and every stage before it; the table "
        "below gives why the others ended.",
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": counts,
                "y": names,
                "text": [f"{n} ({p})" for n, p in zip(counts, share, strict=True)],
                "textposition": "auto",
                "marker": {"color": BLUE},
                "insidetextfont": {"color": "#ffffff"},
                "outsidetextfont": {"color": "#212b32"},
                "hovertemplate": "%{y}: %{x}<extra></extra>",
                "name": "referrals",
            }
        ],
        "layout": {
            "height": 60 + 40 * max(len(stages), 1),
            "margin": {"l": 190, "r": 12, "t": 8, "b": 36},
            "xaxis": {"title": {"text": "referrals"}, "rangemode": "tozero", "automargin": True},
            "yaxis": {"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
            "showlegend": False,
        },
    }


def by_group(fig_id: str, kpi: str, breakdown: str, points: Sequence[GroupPoint]) -> dict[str, Any]:
    """A rate for each group as a dot with its 95% interval; the reference group's rate as a dotted line; a
    suppressed group keeps its row with no dot and is named in the summary."""
    names = [p.group for p in points]
    shown = [p for p in points if p.rate is not None]
    ref = next((p for p in points if p.reference and p.rate is not None), None)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": [p.rate for p in shown],
            "y": [p.group for p in shown],
            "name": kpi,
            "marker": {"size": 10, "color": [GREEN if p.reference else BLUE for p in shown]},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [round((p.high or 0) - (p.rate or 0), 1) for p in shown],
                "arrayminus": [round((p.rate or 0) - (p.low or 0), 1) for p in shown],
                "color": BAND_EDGE,
                "thickness": 2,
            },
            "customdata": [[_pct(p.low), _pct(p.high)] for p in shown],
            "hovertemplate": "%{y}: %{x:.1f}% (95% interval %{customdata[0]} to %{customdata[1]})<extra></extra>",
        }
    ]
    hidden = [p for p in points if p.rate is None]
    if hidden:  # a row for every group: a suppressed one says so where its dot would be
        data.append(
            {
                "type": "scatter",
                "mode": "text",
                "x": [1 for _ in hidden],
                "y": [p.group for p in hidden],
                "text": [p.why for p in hidden],
                "textposition": "middle right",
                "textfont": {"color": GREY, "size": 12},
                "hoverinfo": "skip",
                "name": "not shown",
            }
        )
    shapes: list[dict[str, Any]] = []
    if ref is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": ref.rate,
                "x1": ref.rate,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": PLUM, "width": 2},
            }
        )
    words = "; ".join(f"{p.group} {p.rate:.1f}% ({_pct(p.low)} to {_pct(p.high)})" for p in shown) or "no group shown"
    text = f"{kpi} by {breakdown}: {words}."
    if ref is not None:
        text += f" Reference group: {ref.group} (dotted line)."
    if hidden:
        text += " Not shown: " + "; ".join(f"{p.group} ({p.why})" for p in hidden) + "."
    return {
        "id": fig_id,
        "heading": f"{kpi} by {breakdown}",
        "summary": text,
        "caption": "Dots: each group's rate; lines: its 95% interval (Wilson); green and dotted: the reference group. "
        "Groups with no dot are suppressed or had none counted (see the table).",
        "data": data,
        "layout": {
            "height": max(180, 30 * len(points) + 80),
            "margin": {"l": 170, "r": 12, "t": 8, "b": 40},
            "xaxis": {"title": {"text": "percent"}, "range": [0, 105], "ticksuffix": "%", "automargin": True},
            "yaxis": {"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
            "shapes": shapes,
            "showlegend": False,
            "hovermode": "closest",
        },
    }


@dataclass(frozen=True)
class TeamFunnelPoint:
    """One team on the funnel plot: its rate (percent) and denominator, or None when suppressed (``why``)."""

    team: str
    rate: float | None
    denominator: int | None
    beyond: str = ""  # "", "95 above", "95 below", "99.8 above", "99.8 below" (reporting.funnel.classify)
    why: str = ""


def team_funnel(
    fig_id: str, kpi: str, overall: float, limits: dict[str, list[float]], points: Sequence[TeamFunnelPoint]
) -> dict[str, Any]:
    """Each team's rate against its denominator, the service's overall rate (percent) as a line and the 95% and
    99.8% control limits (``limits``: reporting.funnel.curves, proportions) as dashed and dotted curves. A
    suppressed team is not drawn and is named in the summary."""
    ns = limits["n"]
    data: list[dict[str, Any]] = []
    for name, dash, colour in (("99.8", "dot", PLUM), ("95", "dash", BAND_EDGE)):
        for side in ("low", "high"):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": ns,
                    "y": [round(100 * v, 2) for v in limits[f"{name}_{side}"]],
                    "name": f"{name}% limit",
                    "showlegend": side == "high",
                    "line": {"dash": dash, "color": colour, "width": 1.5},
                    "hoverinfo": "skip",
                }
            )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": [ns[0], ns[-1]],
            "y": [overall, overall],
            "name": "service overall",
            "line": {"color": GREY, "width": 2},
            "hoverinfo": "skip",
        }
    )
    shown = [p for p in points if p.rate is not None and p.denominator is not None]
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [p.denominator for p in shown],
            "y": [p.rate for p in shown],
            "text": [p.team for p in shown],
            "textposition": "top center",
            "name": "teams",
            "marker": {"size": 10, "color": [PLUM if p.beyond.startswith("99.8") else BLUE for p in shown]},
            "hovertemplate": "%{text}: %{y:.1f}% of %{x}<extra></extra>",
        }
    )

    def said(p: TeamFunnelPoint) -> str:
        where = "within the 95% limits" if not p.beyond else f"beyond the {p.beyond.replace(' ', '% limit, ')}"
        return f"{p.team} {_pct(p.rate)} of {p.denominator} ({where})"

    hidden = [p for p in points if p not in shown]
    text = f"{kpi} by team against the service's {overall:.1f}%: " + (
        "; ".join(said(p) for p in shown) or "no team shown"
    )
    text += "."
    if hidden:
        text += " Not shown: " + "; ".join(f"{p.team} ({p.why})" for p in hidden) + "."
    return {
        "id": fig_id,
        "heading": f"{kpi} by team (funnel plot)",
        "summary": text,
        "caption": "Dots: each team's rate against how many it counted; solid line: the service's overall rate; "
        "dashed: 95% control limits; dotted: 99.8% (Spiegelhalter 2005). A team outside the dotted lines differs "
        "by more than chance would usually explain; smaller teams vary more, so the limits widen to the left.",
        "data": data,
        "layout": {
            "height": 360,
            "margin": {"l": 60, "r": 12, "t": 8, "b": 50},
            "xaxis": {"title": {"text": "number counted (denominator)"}, "rangemode": "tozero"},
            "yaxis": {"title": {"text": "percent"}, "range": [0, 105], "ticksuffix": "%"},
            "showlegend": True,
            "hovermode": "closest",
        },
    }
