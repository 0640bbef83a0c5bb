"""Phone numbers in free text (pure): a crisis plan's contacts become tap-to-call links on a phone.

UK numbers are 10 or 11 digits (``07700 900000``, ``0800 123 4567``, ``+44 7700 900000``); the national
short codes 999, 112, 111 and 116 xxx (Samaritans 116 123) are recognised on their own. Anything else with
digits (a house number, a date, a version) stays text."""

from __future__ import annotations

import re

# a run that starts with + or a digit (or a bracketed area code) and continues through digits, spaces,
# hyphens, dots and brackets; ends on a digit
_RUN = re.compile(r"(?<![\w+])(?:\+|\()?\d[\d\s().\-]*\d(?![\w])")
_SHORT = re.compile(r"^(?:999|112|111|116\s?\d{3})$")
_TRUNK = re.compile(r"^\+44\s*\(0\)")  # +44 (0)20 ...: the (0) is not dialled from abroad


def tel_uri(number: str) -> str | None:
    """The ``tel:`` URI for a number as written, or None when it is not a phone number."""
    text = _TRUNK.sub("+44", number.strip())
    digits = re.sub(r"\D", "", text)
    if _SHORT.match(text.strip()):
        return f"tel:{digits}"
    if text.startswith("+"):
        return f"tel:+{digits}" if 10 <= len(digits) <= 15 else None
    if digits.startswith("0") and len(digits) in (10, 11):
        return f"tel:{digits}"
    return None


def phone_parts(text: str) -> list[tuple[str, str | None]]:
    """The text in pieces, each with its ``tel:`` URI when it is a phone number (None otherwise), in order;
    joining the pieces gives the text back."""
    out: list[tuple[str, str | None]] = []
    at = 0
    for m in _RUN.finditer(text):
        run = m.group(0)
        uri = tel_uri(run)
        if uri is None:
            continue
        if m.start() > at:
            out.append((text[at : m.start()], None))
        out.append((run, uri))
        at = m.end()
    if at < len(text):
        out.append((text[at:], None))
    return out
