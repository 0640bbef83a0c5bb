"""Plotly figure specifications for a person's measures (pure: series in, JSON-able dicts out).

Each chart shows what a clinician needs to read it in a glance (DESIGN rule 10): the caseness line where the
instrument has one, the expected course and the not-on-track boundary during treatment, and the person's usual
range only where it means something (hazard H-073: a personal band drawn around a deteriorating symptom score
during treatment reads as reassurance). Every chart carries a caption and a text summary in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from idiograph.matching.strengths import CLASS_WORDS
from idiograph.observations import display

LONDON = ZoneInfo("Europe/London")
SCORE_UNITS = ("{score}", "{Score}", "1", "")
BLUE, GREY, RED, PLUM, GREEN = "#005eb8", "#425563", "#b3261e", "#7c2855", "#007250"
BAND_EDGE = "#4a7fb8"  # a band's edge: 4.2:1 on white (WCAG 1.4.11), its fill only a tint


@dataclass(frozen=True)
class Series:
    code: str
    display: str  # the short name a clinician uses ("PHQ-9", "Lithium")
    unit: str  # UCUM
    kind: str
    points: Sequence[tuple[datetime, float]]
    lower: float | None = None  # possible range, used for the axis of bounded scores
    upper: float | None = None
    expected: Sequence[ExpectedBand] = ()
    baseline: BaselineBand | None = None
    caseness: float | None = None  # at caseness when the score is at least this
    in_treatment: bool = False  # an open episode: a symptom score is expected to change, not to stay usual
    chosen: ChosenBand | None = None  # the chosen option's predicted course, drawn behind the results


@dataclass(frozen=True)
class ExpectedBand:
    """A model's expected course for this episode: (time, expected score, upper boundary) per session."""

    label: str
    points: Sequence[tuple[datetime, float, float]]


@dataclass(frozen=True)
class ChosenBand:
    """The course predicted for the option chosen (stored with the decision): (time, expected, lower, upper)."""

    option: str
    points: Sequence[tuple[datetime, float, float, float]]


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
    n: int = 0  # the person's results the interval is built from


def _iso(t: datetime) -> str:
    return t.astimezone(LONDON).isoformat()


def is_score(s: Series) -> bool:
    return s.kind.startswith("questionnaire") or s.unit in SCORE_UNITS


def shows_band(s: Series) -> bool:
    """The usual range is drawn for labs, devices and vitals, and for a score outside treatment; never for a
    questionnaire total during an open episode, where scores are meant to fall and the expected course is the
    reference (a band built from pre-treatment scores would call a deterioration 'usual')."""
    return s.baseline is not None and bool(s.points) and not (s.kind.startswith("questionnaire") and s.in_treatment)


def caption(s: Series) -> str:
    """What the lines and shading mean, in words (shown under the chart)."""
    parts: list[str] = []
    u = s.unit
    if s.caseness is not None:
        parts.append(
            f"Dotted line: the caseness threshold ({display.number(s.caseness)} or more is in the clinical range)."
        )
    if s.expected:
        parts.append(
            "Dashed grey: the expected course for people who started where this person did; dashed red: scores "
            "above it are not on track."
        )
    if shows_band(s) and s.baseline is not None:
        b = s.baseline
        since = display.day(s.points[0][0])
        rng = f"{display.number(b.lower, u)} to {display.quantity(b.upper, u)}"
        if b.personal:
            parts.append(
                f"Shaded: the usual range for this person ({rng}), from {b.n} result{'s' if b.n != 1 else ''} "
                f"since {since}."
            )
        else:
            parts.append(f"Shaded: the usual range for people like them ({rng}); too few of their own results yet.")
    elif s.baseline is not None and s.kind.startswith("questionnaire") and s.in_treatment:
        parts.append(
            "No usual range is drawn during treatment: scores are expected to change"
            + (", and the expected course is the reference." if s.expected else ".")
        )
    return " ".join(parts)


def summary(s: Series) -> str:
    """The chart in one sentence for screen readers: 'PHQ-9: 14 on 3 Nov 2026, down from 19 at the start
    (5 scores); above the caseness line (10).'"""
    if not s.points:
        return f"{s.display}: no results yet."
    u = s.unit
    (t0, first), (t1, latest) = s.points[0], s.points[-1]
    n = len(s.points)
    noun = "score" if is_score(s) else "result"
    text = f"{s.display}: {display.quantity(latest, u)} on {display.day(t1)}"
    if n == 1:
        text += f", the only {noun} so far"
    else:
        way = "up" if latest > first else "down" if latest < first else "the same as"
        start = display.quantity(first, u)
        text += f", {way} from {start} at the start" if way != "the same as" else ", the same as at the start"
        text += f" ({n} {noun}s since {display.day(t0)})"
    notes: list[str] = []
    if s.caseness is not None:
        notes.append(f"{'above' if latest >= s.caseness else 'below'} the caseness line ({display.number(s.caseness)})")
    if s.expected and s.expected[0].points:
        _, exp, bound = min(s.expected[0].points, key=lambda p: abs((p[0] - t1).total_seconds()))
        verdict = "above the not-on-track boundary" if latest > bound else "within the expected course"
        notes.append(
            f"{verdict} (expected about {display.number(exp, None, 0)}, boundary {display.number(bound, None, 1)})"
        )
    if s.chosen is not None and s.chosen.points and s.chosen.points[0][0] < t1 <= s.chosen.points[-1][0]:
        _, _, lo, hi = min(s.chosen.points, key=lambda p: abs((p[0] - t1).total_seconds()))
        where = "above" if latest > hi else "below" if latest < lo else "inside"
        notes.append(
            f"{where} the 95% range predicted for {s.chosen.option} ({display.number(lo)} to {display.number(hi)})"
        )
    if shows_band(s) and s.baseline is not None:
        b = s.baseline
        where = "above" if latest > b.upper else "below" if latest < b.lower else "inside"
        whose = "this person's usual range" if b.personal else "the usual range for people like them"
        notes.append(f"{where} {whose} ({display.number(b.lower, u)} to {display.quantity(b.upper, u)})")
    return text + ("; " + "; ".join(notes) if notes else "") + "."


def _band_traces(s: Series, b: BaselineBand, x0: str, x1: str) -> list[dict[str, Any]]:
    u = s.unit
    name = "Usual range for this person" if b.personal else "Usual range for people like them"
    hover = f"{name}: {display.number(b.lower, u)} to {display.quantity(b.upper, u)}<extra></extra>"
    edge = {"color": "rgba(0,114,80,0.5)", "width": 1}
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [x0, x1],
            "y": [round(b.lower, 4)] * 2,
            "name": name,
            "showlegend": False,
            "legendgroup": "band",
            "line": edge,
            "hovertemplate": hover,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": [x0, x1],
            "y": [round(b.upper, 4)] * 2,
            "name": name,
            "legendgroup": "band",
            "fill": "tonexty",
            "fillcolor": "rgba(0,114,80,0.12)",
            "line": edge,
            "hovertemplate": hover,
        },
    ]


def _expected_traces(band: ExpectedBand) -> list[dict[str, Any]]:
    bx = [_iso(t) for t, _, _ in band.points]
    when = [display.day(t) for t, _, _ in band.points]
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "x": bx,
            "y": [round(e, 2) for _, e, _ in band.points],
            "customdata": [[w, display.number(e, None, 0)] for w, (_, e, _) in zip(when, band.points, strict=True)],
            "name": "Expected course",
            "line": {"dash": "dash", "color": GREY, "width": 2},
            "hovertemplate": "%{customdata[0]}<br>expected about %{customdata[1]}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": bx,
            "y": [round(up, 2) for _, _, up in band.points],
            "customdata": [[w, display.number(up, None, 1)] for w, (_, _, up) in zip(when, band.points, strict=True)],
            "name": "Not on track above this",
            "line": {"dash": "dash", "color": RED, "width": 2},
            "hovertemplate": "%{customdata[0]}<br>not on track above %{customdata[1]}<extra></extra>",
        },
    ]


def _chosen_traces(c: ChosenBand) -> list[dict[str, Any]]:
    xs = [_iso(t) for t, _, _, _ in c.points]
    edge = {"color": BAND_EDGE, "width": 1}
    name = f"Predicted for {c.option} (95% range)"
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": [lo for _, _, lo, _ in c.points],
            "line": edge,
            "showlegend": False,
            "legendgroup": "chosen",
            "hoverinfo": "skip",
            "name": name,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": [hi for _, _, _, hi in c.points],
            "fill": "tonexty",
            "fillcolor": "rgba(0,94,184,0.12)",
            "line": edge,
            "legendgroup": "chosen",
            "name": name,
            "customdata": [[display.day(t), display.number(lo), display.number(hi)] for t, _, lo, hi in c.points],
            "hovertemplate": "%{customdata[0]}<br>predicted 95% between %{customdata[1]} and %{customdata[2]}"
            "<extra></extra>",
        },
    ]


def measure_figure(s: Series) -> dict[str, Any]:
    """One measure's chart: the results, and the reference lines that say what they mean."""
    xs = [_iso(t) for t, _ in s.points]
    ys = [v for _, v in s.points]
    score = is_score(s)
    u = "" if score else s.unit
    written_unit = display.unit(u)
    ytitle = f"{s.display} score" if s.kind.startswith("questionnaire") else s.display
    if written_unit:
        ytitle += f" ({written_unit})"
    yaxis: dict[str, Any] = {
        "title": {"text": ytitle},
        "zeroline": False,
        "tickformat": ",.6~r",  # never 9.92e+03 or 10k
        "automargin": True,
    }
    if s.kind.startswith("questionnaire") and s.lower is not None and s.upper is not None:
        yaxis["range"] = [s.lower - 0.5, s.upper + 0.5]
    refs: list[dict[str, Any]] = []
    if shows_band(s) and s.baseline is not None and xs:
        refs += _band_traces(s, s.baseline, xs[0], xs[-1])
    if s.chosen is not None and s.chosen.points:
        refs += _chosen_traces(s.chosen)
    if s.expected:  # the rule's model: the one that raises the alert (a second model would only crowd the chart)
        refs += _expected_traces(s.expected[0])
    if s.caseness is not None and xs:
        ends = [xs[0], xs[-1]]
        if s.expected and s.expected[0].points:
            ends[1] = max(xs[-1], _iso(s.expected[0].points[-1][0]))
        refs.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": ends,
                "y": [s.caseness, s.caseness],
                "name": f"Caseness ({display.number(s.caseness)} or more)",
                "line": {"dash": "dot", "color": PLUM, "width": 2},
                "hovertemplate": f"caseness threshold {display.number(s.caseness)}<extra></extra>",
            }
        )
    shown = [display.quantity(v, u) for v in ys]
    data = [
        *refs,
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": xs,
            "y": ys,
            "customdata": shown,
            "name": s.display,
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 7},
            "hovertemplate": "%{x|%-d %b %Y}<br>" + s.display + " %{customdata}<extra></extra>",
        },
    ]
    legend = bool(refs)
    return {
        "id": f"chart-{s.code}",
        "title": s.display,
        "heading": f"{s.display} — {len(ys)} result{'s' if len(ys) != 1 else ''}",
        "summary": summary(s),
        "caption": caption(s),
        "data": data,
        "layout": {
            # about 260 px of plot under a one- or two-row legend below it: the legend never scrolls
            "height": 380 if legend else 300,
            "margin": {"l": 60, "r": 16, "t": 12, "b": 36},
            "xaxis": {"type": "date", "hoverformat": "%-d %b %Y", "automargin": True},
            "yaxis": yaxis,
            "showlegend": legend,
            "legend": {
                "orientation": "h",
                "x": 0,
                "xanchor": "left",
                "y": -0.14,
                "yanchor": "top",
                "font": {"size": 12},
                "traceorder": "normal",
            },
            "hovermode": "closest",
        },
    }


@dataclass(frozen=True)
class CourseBand:
    """An option's expected course for one measure: per week since the intake score, the expected score and the
    95% band for the person's observed score."""

    option: str  # the option's name as a clinician says it
    measure: str  # "PHQ-9"
    weeks: Sequence[int]
    expected: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]
    scale: tuple[float, float]
    caseness: float | None = None


def course_summary(c: CourseBand) -> str:
    """The chart in words (for screen readers and anyone who would rather read)."""
    end = len(c.weeks) - 1
    return (
        f"{c.measure} under {c.option}: from {display.number(c.expected[0])} at intake, expected about "
        f"{display.number(c.expected[end])} by week {c.weeks[end]} (95% range "
        f"{display.number(c.lower[end])} to {display.number(c.upper[end])})."
    )


def course_figure(c: CourseBand, fig_id: str) -> dict[str, Any]:
    """One option's expected course on one measure, week by week, with its 95% band and the caseness line."""
    weeks = list(c.weeks)
    hover = [[display.number(lo), display.number(hi)] for lo, hi in zip(c.lower, c.upper, strict=True)]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": weeks,
            "y": list(c.lower),
            "line": {"color": BAND_EDGE, "width": 1},
            "showlegend": False,
            "hoverinfo": "skip",
            "name": "95% band (lower)",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": weeks,
            "y": list(c.upper),
            "fill": "tonexty",
            "fillcolor": "rgba(0,94,184,0.15)",
            "line": {"color": BAND_EDGE, "width": 1},
            "name": "95% range",
            "customdata": hover,
            "hovertemplate": "week %{x}: 95% between %{customdata[0]} and %{customdata[1]}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": weeks,
            "y": list(c.expected),
            "line": {"color": BLUE, "width": 3},
            "name": "Expected",
            "hovertemplate": "week %{x}: expected %{y:.1f}<extra></extra>",
        },
    ]
    if c.caseness is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [weeks[0], weeks[-1]],
                "y": [c.caseness, c.caseness],
                "name": f"Caseness ({display.number(c.caseness)} or more)",
                "line": {"dash": "dot", "color": PLUM, "width": 2},
                "hovertemplate": f"caseness threshold {display.number(c.caseness)}<extra></extra>",
            }
        )
    return {
        "id": fig_id,
        "heading": f"{c.measure}",
        "summary": course_summary(c),
        "data": data,
        "layout": {
            "height": 320,
            "margin": {"l": 52, "r": 12, "t": 8, "b": 36},
            "xaxis": {"title": {"text": "weeks since intake"}, "dtick": 2, "automargin": True},
            "yaxis": {
                "title": {"text": f"{c.measure} score"},
                "range": [c.scale[0] - 0.5, c.scale[1] + 0.5],
                "zeroline": False,
                "automargin": True,
            },
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": -0.32, "yanchor": "top", "font": {"size": 12}},
            "hovermode": "closest",
        },
    }


# Okabe-Ito: told apart with the commonest colour-vision deficiencies; one per option on the comparison chart
OPTION_COLOURS = ("#0072B2", "#C14F00", "#007A5A", "#A8527F", "#7A5A00", "#4B3F9E", "#000000")  # each >= 3:1 on white
OPTION_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid")


def comparison_figure(
    measure: str,
    courses: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    scale: tuple[float, float],
    caseness: float | None,
    fig_id: str,
) -> dict[str, Any]:
    """Every option's expected course on one measure on one chart (lines only: each option's band is on its own
    chart), told apart by colour and by dash for those who cannot tell the colours apart."""
    data: list[dict[str, Any]] = []
    for k, (label, weeks, expected) in enumerate(courses):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": list(weeks),
                "y": list(expected),
                "name": label,
                "line": {
                    "color": OPTION_COLOURS[k % len(OPTION_COLOURS)],
                    "dash": OPTION_DASHES[k % len(OPTION_DASHES)],
                    "width": 3,
                },
                "hovertemplate": f"{label}<br>week %{{x}}: expected %{{y:.1f}}<extra></extra>",
            }
        )
    if caseness is not None and courses:
        weeks = list(courses[0][1])
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [weeks[0], weeks[-1]],
                "y": [caseness, caseness],
                "name": f"Caseness ({display.number(caseness)} or more)",
                "line": {"dash": "dot", "color": PLUM, "width": 1.5},
                "hovertemplate": f"caseness threshold {display.number(caseness)}<extra></extra>",
            }
        )
    ends = "; ".join(f"{label} about {display.number(e[-1])} by week {w[-1]}" for label, w, e in courses)
    return {
        "id": fig_id,
        "heading": f"Expected {measure} by option",
        "summary": f"Expected {measure} course under each option, from the same intake score: {ends}.",
        "data": data,
        "layout": {
            "height": 380,
            "margin": {"l": 52, "r": 12, "t": 8, "b": 36},
            "xaxis": {"title": {"text": "weeks since intake"}, "dtick": 2, "automargin": True},
            "yaxis": {
                "title": {"text": f"{measure} score"},
                "range": [scale[0] - 0.5, scale[1] + 0.5],
                "zeroline": False,
                "automargin": True,
            },
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0, "y": -0.3, "yanchor": "top", "font": {"size": 12}},
            "hovermode": "closest",
        },
    }


@dataclass(frozen=True)
class StrengthRow:
    """One therapist's strength in one domain: PHQ-9 points against the service average, with its 95% interval."""

    name: str
    strength: float
    lower: float
    upper: float
    cases: int
    klass: str


def strength_figure(domain: str, rows: Sequence[StrengthRow], fig_id: str) -> dict[str, Any]:
    """Each therapist's strength in one domain as a dot with its 95% interval against the service average (0), in
    the order given (by name: for supervision, never a league table). Too few cases: a hollow dot."""
    names = [r.name for r in rows]
    solid = [r for r in rows if r.klass != "too_few"]
    hollow = [r for r in rows if r.klass == "too_few"]
    data: list[dict[str, Any]] = []
    for group, symbol, label in ((solid, "circle", "enough cases"), (hollow, "circle-open", "too few cases to class")):
        if not group:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.strength for r in group],
                "y": [r.name for r in group],
                "name": label,
                "marker": {"symbol": symbol, "size": 10, "color": OPTION_COLOURS[0], "line": {"width": 2}},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [r.upper - r.strength for r in group],
                    "arrayminus": [r.strength - r.lower for r in group],
                    "color": BAND_EDGE,
                    "thickness": 2,
                },
                "customdata": [[r.cases, CLASS_WORDS.get(r.klass, r.klass)] for r in group],
                "hovertemplate": "%{y}: %{x:+.1f} points; %{customdata[1]}; %{customdata[0]} cases<extra></extra>",
            }
        )
    clear = [r for r in rows if r.klass in ("effective", "ineffective")]
    words = "; ".join(f"{r.name} {CLASS_WORDS[r.klass]}" for r in clear) or "no therapist clearly differs from average"
    return {
        "id": fig_id,
        "heading": f"{domain.capitalize()}: how much more people improved than expected (PHQ-9 points), against the "
        "service average",
        "summary": f"{len(rows)} therapists in {domain}; {words}. Dots are estimates, lines 95% intervals; hollow dots "
        "rest on too few cases to class.",
        "data": data,
        "layout": {
            "height": max(160, 34 * len(rows) + 90),
            "margin": {"l": 150, "r": 12, "t": 8, "b": 40},
            "xaxis": {
                "title": {"text": "PHQ-9 points (0 = the service average)"},
                "zeroline": True,
                "zerolinecolor": "#333333",
                "zerolinewidth": 2,
                "automargin": True,
            },
            "yaxis": {"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
            "showlegend": len(data) > 1,
            "legend": {"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top", "font": {"size": 12}},
            "hovermode": "closest",
        },
    }
