"""Pure helpers of the crisis lookup: phone numbers in free text, and names as people type them."""

from __future__ import annotations

import pytest

from idiograph.care.names import family_matches, given_matches, name_key
from idiograph.care.phones import phone_parts, tel_uri


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("Her sister Mary on 07700 900000", {"07700 900000": "tel:07700900000"}),
        ("Crisis line 0800 123 4567 (24h)", {"0800 123 4567": "tel:08001234567"}),
        ("GP 0161-496-0000.", {"0161-496-0000": "tel:01614960000"}),
        ("(01632) 960 123 ext", {"(01632) 960 123": "tel:01632960123"}),
        ("+44 (0)20 7946 0000", {"+44 (0)20 7946 0000": "tel:+442079460000"}),
        ("Call 999 or NHS 111", {"999": "tel:999", "111": "tel:111"}),
        ("Samaritans 116 123, any time", {"116 123": "tel:116123"}),
        ("Dad 07700900001 / Mum 07700 900 002", {"07700900001": "tel:07700900001", "07700 900 002": "tel:07700900002"}),
        # digits that are not phone numbers stay text
        ("Flat 12, 3 High St", {}),
        ("seen 2026-10-09 at 14.30", {}),
        ("reference 123456", {}),
    ],
)
def test_phone_numbers_become_links_and_nothing_else(text: str, links: dict[str, str]) -> None:
    parts = phone_parts(text)
    assert "".join(p for p, _ in parts) == text  # nothing lost or added
    assert {p: uri for p, uri in parts if uri} == links


def test_tel_uri_refuses_what_cannot_be_dialled() -> None:
    assert tel_uri("12345") is None and tel_uri("+44") is None and tel_uri("7700 900000") is None


def test_names_match_whatever_the_case_accents_or_punctuation() -> None:
    assert name_key("Zoë O\u2019Brien-Núñez") == "zoeobriennunez"
    assert family_matches("lopez", "López") and family_matches("OBRIEN", "O'Brien")
    assert family_matches("smith", "Smith-Jones") and family_matches("Smith Jones", "Smith")
    assert family_matches("smith\u2010jones", "Smith Jones")  # a typographic hyphen
    assert not family_matches("Smyth", "Smith") and not family_matches("--", "Smith")
    assert given_matches("", "Anyone") and given_matches("jo", "Joanne") and given_matches("Kate", "Kate-Lynn")
    assert not given_matches("Bob", "Ryan")
