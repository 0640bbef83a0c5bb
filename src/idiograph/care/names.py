"""Matching a name as someone types it to a name as it was recorded (pure), for the crisis lookup.

Case, accents and punctuation do not matter (``o'brien`` finds O'Brien, ``Lopez`` finds López), and a
double-barrelled name matches either of its parts written alone (``Smith`` finds Smith-Jones, and the other
way round) - in a crisis a near miss shown with its date of birth is safer than no match at all."""

from __future__ import annotations

import re
import unicodedata

_PARTS = re.compile(r"[\s\-\u2010-\u2015]+")  # spaces and every kind of hyphen or dash


def name_key(text: str) -> str:
    """Letters and digits only, case-folded, accents removed: 'Zoë O\u2019Brien-Núñez' -> 'zoeobriennunez'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())  # accents decompose to marks, which are not alnum


def name_keys(text: str) -> set[str]:
    """The whole name's key and each part's (split at spaces and hyphens)."""
    return {k for k in (name_key(text), *(name_key(p) for p in _PARTS.split(text))) if k}


def family_matches(typed: str, recorded: str) -> bool:
    """The typed family name is the recorded one, or one part of it, or the other way round."""
    return bool(name_keys(typed) & name_keys(recorded))


def given_matches(typed: str, recorded: str) -> bool:
    """Any part of the typed given name starts the recorded one or one of its parts (Kate finds Kate-Lynn;
    Jo finds Joanne), or the other way round; an empty typed name matches anyone."""
    typed_keys = name_keys(typed)
    if not typed_keys:
        return True
    return any(t.startswith(r) or r.startswith(t) for t in typed_keys for r in name_keys(recorded))
