"""How the evaluations publish a rate: with its Wilson 95% interval, and never from fewer than ten cases (pure).

DESIGN rule 9: every rate has a 95% interval and small groups are suppressed. A cell whose denominator is
below ``MIN_CELL`` is shown as ``suppressed (<10)`` instead of a percentage; a percentage from a handful of
cases is mostly noise and, on a service's own data, could identify people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from idiograph.methods.proportions import poisson_rate, wilson

MIN_CELL = 10
SUPPRESSED = f"suppressed (<{MIN_CELL})"


@dataclass(frozen=True)
class Share:
    """``k`` of ``n`` cases, e.g. deteriorators flagged of all deteriorators."""

    k: int
    n: int

    @property
    def suppressed(self) -> bool:
        return 0 < self.n < MIN_CELL

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n) if self.n else None

    def text(self, counts: bool = False) -> str:
        """``80.8% (75.2-85.4)``, with ``181/224`` after it when ``counts``; ``-`` with no cases."""
        if self.n == 0:
            return "-"
        if self.suppressed:
            return SUPPRESSED
        lo, hi = wilson(self.k, self.n)
        tail = f" {self.k:,}/{self.n:,}" if counts else ""
        return f"{100 * self.k / self.n:.1f}% ({100 * lo:.1f}-{100 * hi:.1f}){tail}"

    def as_json(self) -> dict[str, object]:
        """The rate, its interval and its counts only when the cell is not suppressed (counts of a suppressed cell
        would give back what the suppression hides)."""
        shown = self.n > 0 and not self.suppressed
        lo, hi = wilson(self.k, self.n) if shown else (None, None)
        return {
            "k": self.k if not self.suppressed else None,
            "n": self.n if not self.suppressed else None,
            "rate": self.k / self.n if shown else None,
            "low": lo,
            "high": hi,
            "suppressed": self.suppressed,
        }


@dataclass(frozen=True)
class PerYear:
    """``events`` in ``years`` of observation, e.g. false alarms per person-year, with Garwood's interval."""

    events: int
    years: float

    @property
    def value(self) -> float:
        return self.events / self.years if self.years > 0 else math.nan

    @property
    def interval(self) -> tuple[float, float] | None:
        return poisson_rate(self.events, self.years) if self.years > 0 else None

    def text(self) -> str:
        iv = self.interval
        if iv is None:
            return "-"
        return f"{self.value:.3f} ({iv[0]:.3f}-{iv[1]:.3f})"
