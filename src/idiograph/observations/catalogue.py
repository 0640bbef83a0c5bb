"""Which codes idiograph accepts, with unit and plausible range (pure; built from data files)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from idiograph.instruments.definitions import instruments

SCORE_UNIT = "{score}"


@dataclass(frozen=True)
class CodeDef:
    system: str
    code: str
    display: str
    unit: str
    kind: str
    min: float | None = None
    max: float | None = None
    scale: str = "linear"  # "log" for skewed analytes: baselines are modelled on ln(value)
    short: str | None = None  # the name a clinician uses ("Lithium", "PHQ-9"), where the display is LOINC's long one

    @property
    def name(self) -> str:
        """The short name where there is one, else the display."""
        return self.short or self.display

    def range_problem(self, value: float) -> str | None:
        if self.min is not None and value < self.min:
            return f"{value:g} is below the possible minimum {self.min:g} {self.unit} for {self.display}"
        if self.max is not None and value > self.max:
            return f"{value:g} is above the possible maximum {self.max:g} {self.unit} for {self.display}"
        return None


@lru_cache(maxsize=1)
def shipped() -> dict[tuple[str, str], CodeDef]:
    """Codes from ``codes.yaml`` plus every instrument's items and totals."""
    out: dict[tuple[str, str], CodeDef] = {}
    for inst in instruments().values():
        for item in inst.items:
            lo, hi = inst.item_range(item)
            sys_ = inst.item_system
            out[(sys_, item.code)] = CodeDef(sys_, item.code, item.text, SCORE_UNIT, "questionnaire-item", lo, hi)
        t = inst.total
        out[(t.system, t.code)] = CodeDef(
            t.system,
            t.code,
            t.display or inst.title,
            SCORE_UNIT,
            "questionnaire-total",
            inst.min_total,
            inst.max_total,
            short=inst.id.upper(),
        )
        for sub in inst.subscales:  # a mean-scored instrument's further means (DIALOG treatment satisfaction)
            lo, hi = inst.mean_range(sub.items)
            c = sub.code
            out[(c.system, c.code)] = CodeDef(
                c.system, c.code, c.display or sub.title, SCORE_UNIT, "questionnaire-total", lo, hi
            )
    for row in yaml.safe_load(Path(__file__).with_name("codes.yaml").read_text(encoding="utf-8")):
        out[(row["system"], row["code"])] = CodeDef(**row)
    return out
