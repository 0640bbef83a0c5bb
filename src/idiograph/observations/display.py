"""Units, numbers and dates as a clinician reads them (pure): 'per day' not '/(24.h)', 9,920 not 9.92e+03,
'3 Nov 2026' not '2026-11-03'. Used by the rules that write alert reasons and by the pages (web.words)."""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# UCUM code -> what a clinician writes after the number. "" means nothing is written (a score is a number).
_UNITS: dict[str, str] = {
    "{score}": "",
    "{Score}": "",
    "{#}": "",
    "1": "",
    "/(24.h)": "per day",
    "/d": "per day",
    "{steps}": "steps",
    "/min": "per minute",
    "/h": "per hour",
    "/wk": "per week",
    "kg/m2": "kg/m²",
    "mm[Hg]": "mmHg",
    "m[IU]/L": "mIU/L",
    "u[IU]/mL": "µIU/mL",
    "10*9/L": "\u00d7 10⁹/L",
    "10*3/uL": "\u00d7 10³/µL",
    "10*12/L": "\u00d7 10¹²/L",
    "ug/L": "µg/L",
    "umol/L": "µmol/L",
    "Cel": "°C",
    "[lb_av]": "lb",
    "h": "hours",
    "min": "minutes",
    "d": "days",
    "wk": "weeks",
    "a": "years",
    "%": "%",
}

# measures counted in whole things or scored in whole points: never shown with decimals
_WHOLE_UNITS = frozenset({"/(24.h)", "/d", "{steps}", "/min", "mm[Hg]", "/wk", "/h"})
# measures read to one decimal (sleep 7.1 hours, weight 72.4 kg, BMI 27.3, HbA1c 5.9%)
_ONE_DECIMAL = frozenset({"h", "kg", "kg/m2", "%", "Cel"})


def unit(ucum: str | None) -> str:
    """The unit as written on a clinical page: 'per day' for /(24.h), 'kg/m²' for kg/m2, '' for a score.

    An unknown UCUM code is shown as it is (braces of an annotation removed), never dropped."""
    if not ucum:
        return ""
    if ucum in _UNITS:
        return _UNITS[ucum]
    if ucum.startswith("{") and ucum.endswith("}"):
        return ucum[1:-1]
    return ucum.replace("[", "").replace("]", "").replace("10*", "10^")


def decimals_for(value: float, ucum: str | None = None) -> int:
    """How many decimals a clinician shows: none for counts, scores and values of 100 or more; one from 10;
    two from 1; two significant figures below 1 (lithium 0.62, TSH 0.045)."""
    if ucum in _WHOLE_UNITS:
        return 0
    if ucum in ("{score}", "{Score}", "{#}"):
        return 0 if float(value).is_integer() else 1  # a prorated total keeps one decimal
    a = abs(value)
    if ucum in _ONE_DECIMAL and a >= 1:
        return 0 if a >= 1000 else 1
    if a >= 100 or a == 0:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    return min(6, 1 - math.floor(math.log10(a)))


def decimals_apart(value: float, bounds: tuple[float, ...], ucum: str | None = None) -> int:
    """Enough decimals that a value outside a range never reads as equal to its edge (151 vs 150.7)."""
    d = decimals_for(value, ucum)
    for extra in range(4):
        shown = number(value, None, d + extra)
        if all(shown != number(b, None, d + extra) for b in bounds if b != value):
            return d + extra
    return d + 3


def number(value: float | int | None, ucum: str | None = None, decimals: int | None = None) -> str:
    """A value with sensible precision and thousands separators, never in scientific notation:
    9920.4 -> "9,920", 1.054 -> "1.05", 0.0452 -> "0.045", 14.0 -> "14". Trailing zeros are dropped."""
    if value is None:
        return ""
    v = float(value)
    if not math.isfinite(v):
        return "not a number" if math.isnan(v) else ("no upper limit" if v > 0 else "no lower limit")
    d = decimals_for(v, ucum) if decimals is None else decimals
    text = f"{v:,.{d}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity(value: float | int | None, ucum: str | None = None) -> str:
    """A value with its unit as written: '9,920 per day', '1.1 mmol/L', '27.3 kg/m²', '14' for a score."""
    if value is None:
        return ""
    return with_unit(number(value, ucum), ucum)


def with_unit(text: str, ucum: str | None) -> str:
    """A number already written, followed by its unit as written ('5.9%', '9,920 per day', '14')."""
    u = unit(ucum)
    if not u:
        return text
    return f"{text}{'' if u in ('%', '°C') else ' '}{u}"


def day(value: datetime | date | None) -> str:
    """'3 Nov 2026': a time in Europe/London, a date as it is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON) if value.tzinfo else value
    return f"{value.day} {value.strftime('%b %Y')}"
