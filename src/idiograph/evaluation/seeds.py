"""Which synthetic-service seeds were used to choose settings, so that figures on them are never the headline.

DESIGN rule 9: what is chosen on some seeds is reported on others. The shipped not-on-track rule (``nn``,
tail 0.10 in ``monitoring/monitoring.yaml``) was chosen on the published tables for seeds 2026 and 42, and
the baseline evaluation was first published on the same two seeds. Headline figures come from other seeds
(``docs/benchmarks.md`` names them and says they were used for nothing else).
"""

from __future__ import annotations

TUNING_SEEDS = (2026, 42)


def note(seed: int | None) -> str:
    """One line for an evaluation's output: which seeds tuned the settings, and whether this one did."""
    base = "Seeds 2026 and 42 were the tuning seeds (the shipped settings were chosen on them)"
    if seed is None:
        return f"{base}; say which seed wrote this folder, and do not report a tuning seed as the headline."
    if seed in TUNING_SEEDS:
        return f"{base}: this run is on tuning seed {seed}, so its figures are optimistic."
    return f"{base}: this run is on seed {seed}, not a tuning seed."
