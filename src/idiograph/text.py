"""What counts as written text in a reason, a note or a summary (pure).

A reason of zero-width spaces, or of a NUL, a direction mark and spaces, is empty to the person who reads it
later: only visible characters count towards a minimum length."""

from __future__ import annotations

import unicodedata

# format (zero-width space and joiners, direction marks, soft hyphen), control, separators, unassigned, private
_INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Cn", "Co", "Cs"})


def visible_length(text: str | None) -> int:
    """How many characters a reader would see, not counting spaces or invisible ones."""
    if not text:
        return 0
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE)
