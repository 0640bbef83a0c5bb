"""People's experience of choice (issue 19): the share answering Yes to each choice item, with the question's
wording, a Wilson 95% interval and disclosure control (pure; mypy --strict). The items are data
(``experience.yaml``, with its provenance: the PEQ wording there is unconfirmed). An item with ``only_if`` counts
only the answers of people who gave that answer to the other item (offered their preference, among those who had
one). Collection through the self-report link is not built yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from idiograph.reporting.disclosure import DEFAULT, DisclosureConfig, shown
from idiograph.reporting.personalisation import rate

ITEMS = Path(__file__).with_name("experience.yaml")


@lru_cache(maxsize=1)
def items() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ITEMS.read_text(encoding="utf-8"))
    codes = {a["code"] for a in data["answers"]}
    for item in data["items"]:
        for other, answer in (item.get("only_if") or {}).items():
            if answer not in codes or other not in {i["code"] for i in data["items"]}:
                raise ValueError(f"experience.yaml: {item['code']}.only_if: {other}={answer} is not an item and answer")
    return data


def rates(responses: Sequence[Mapping[str, str]], config: DisclosureConfig = DEFAULT) -> list[dict[str, Any]]:
    """Per item: its wording, Yes over answered (Yes or No), the rate and interval from the unrounded counts, the
    counts as published; a rate is withheld when either count is suppressed."""
    data = items()
    out: list[dict[str, Any]] = []
    for item in data["items"]:
        code = item["code"]
        cond = item.get("only_if") or {}
        eligible = [r for r in responses if all(r.get(k) == v for k, v in cond.items())]
        for r in eligible:
            if code in r and r[code] not in ("Y", "N"):
                raise ValueError(f"{code}: {r[code]!r} is not Y or N")
        answered = [r[code] for r in eligible if code in r]
        k, n = sum(1 for a in answered if a == "Y"), len(answered)
        pk, pn = shown(k, config), shown(n, config)
        row = {"code": code, "when": item["when"], "source": item["source"], "question": item["text"]}
        if pk is None or pn is None or n == 0:
            row |= {
                "numerator": pk,
                "denominator": pn,
                "rate": None,
                "ci": None,
                "suppressed": pk is None or pn is None,
            }
        else:
            row |= {**rate(k, n), "numerator": pk, "denominator": pn, "suppressed": False}
        out.append(row)
    return out
