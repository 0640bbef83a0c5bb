"""People's experience of choice (issue 19): per question of each experience form, the share giving a counted
answer (Yes; for the national treatment question, "most of the time" or "all of the time") with the question's
wording, a Wilson 95% interval and disclosure control (pure; mypy --strict).

The forms are data (``measures/experience.yaml``). "Not applicable" and a skipped question leave the person out
of that question's denominator; a question with ``only_if`` counts only the people who gave that answer to the
other question of the same form (offered their preference, among those who had one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from idiograph.measures.experience import forms
from idiograph.reporting.disclosure import DEFAULT, DisclosureConfig, primary, shown
from idiograph.reporting.personalisation import rate


def counted_words(displays: Sequence[str]) -> str:
    """The counted answers in words: "Yes"; "Most of the time or all of the time"."""
    words = [d if i == 0 else d.lower() for i, d in enumerate(displays)]
    return " or ".join(words)


def rates(
    responses: Sequence[tuple[str, Mapping[str, str]]], config: DisclosureConfig = DEFAULT
) -> list[dict[str, Any]]:
    """``responses`` are (form id, {item code: answer code}). Per form, per question: its wording and source, the
    answers counted, the counted over the answered (not applicable and skipped left out), the rate and interval
    from the unrounded counts, the counts as published; a rate is withheld when either count is suppressed.
    Each form also reports how many people answered it."""
    defs = forms()
    known = {f.id for f in defs.forms}
    for form_id, _ in responses:
        if form_id not in known:
            raise ValueError(f"form: {form_id!r} is not one of {', '.join(sorted(known))}")
    out: list[dict[str, Any]] = []
    for form in defs.forms:
        answered_form = [a for f, a in responses if f == form.id]
        for item in form.items:
            options = {a.code: a for a in defs.options(item)}
            eligible = [a for a in answered_form if all(a.get(k) == v for k, v in item.only_if.items())]
            given = [a[item.code] for a in eligible if item.code in a]
            for value in given:
                if value not in options:
                    raise ValueError(f"{form.id}.{item.code}: {value!r} is not one of {', '.join(options)}")
            counted = [v for v in given if not options[v].not_applicable]
            k, n = sum(1 for v in counted if v in item.positive), len(counted)
            pk, pn = shown(k, config), shown(n, config)
            row: dict[str, Any] = {
                "form": form.id,
                "when": form.when,
                "code": item.code,
                "system": item.system,
                "source": item.source,
                "label": item.label,
                "question": item.text,
                "counted": counted_words([options[c].display for c in item.positive]),
                "responses": shown(len(answered_form), config),
            }
            if item.only_if:
                row["among"] = " and ".join(
                    f"people answering {options_of(form.id, other)[answer]} to {_label(form.id, other)}"
                    for other, answer in item.only_if.items()
                )
            # the rate from exact counts pins them inside the rounding bands, so the answers not counted (n - k)
            # would be given away too: a rate is withheld when they are 1 to 7 as well (review)
            withheld = pk is None or pn is None or primary(n - k, config)
            if withheld or n == 0:
                row |= {
                    "numerator": pk,
                    "denominator": pn,
                    "rate": None,
                    "ci": None,
                    "suppressed": withheld,
                }
            else:
                row |= {**rate(k, n), "numerator": pk, "denominator": pn, "suppressed": False}
            out.append(row)
    return out


def options_of(form_id: str, item_code: str) -> dict[str, str]:
    """An item's answers, code to display."""
    defs = forms()
    form = defs.form(form_id)
    item = form.item(item_code) if form else None
    if item is None:
        raise ValueError(f"{form_id}.{item_code} is not a question")
    return {a.code: a.display for a in defs.options(item)}


def _label(form_id: str, item_code: str) -> str:
    form = forms().form(form_id)
    item = form.item(item_code) if form else None
    return item.label if item else item_code
