"""Plotly's own style rules as a stylesheet, so charts work under a CSP without inline styles.

Plotly adds these rules to a ``<style>`` element it creates at load time, which a strict CSP refuses; it skips
that when the page already has an element with id ``plotly.js-style-global`` and class ``no-inline-styles``
(plotly.js 2.35+, #7109). The rules are read from the installed bundle itself, so they always match it."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)":(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\')')


@lru_cache(maxsize=1)
def stylesheet(bundle: Path) -> str:
    """The rules of the bundle's global style object, with Plotly's own selector substitutions."""
    text = bundle.read_text(encoding="utf-8")
    start = text.find('{"X,X div"')
    end = text.find("};for(", start)
    if start < 0 or end < 0:
        raise ValueError(f"{bundle}: Plotly's style rules not found (a changed bundle layout)")
    rules = []
    for m in _PAIR.finditer(text[start + 1 : end]):
        selector = m.group(1)
        body = m.group(2) if m.group(2) is not None else m.group(3)
        selector = (
            re.sub(r"^,", " ,", selector).replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        )
        rules.append(f"{selector}{{{body.encode().decode('unicode_escape')}}}")
    if len(rules) < 20:
        raise ValueError(f"{bundle}: only {len(rules)} Plotly style rules found")
    return "\n".join(rules) + "\n"
