"""Only visible characters count towards a reason's minimum length."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from idiograph.text import visible_length


def test_by_hand() -> None:
    assert visible_length("Crisis call") == 10
    assert visible_length("\u200b" * 20) == 0  # zero-width space
    assert visible_length("\u200e\u200f\u2060\ufeff\u00ad \t\n\u00a0\u3000") == 0  # marks, joiners, spaces
    assert visible_length("Zoë's GP — urgent") == 14  # 5 + 2 + 1 + 6
    assert visible_length("急诊") == 2
    assert visible_length(None) == 0 and visible_length("") == 0


@given(st.text(), st.text(alphabet="\u200b\u200c\u200d\u2060\ufeff \t\u00a0"))
def test_invisible_padding_adds_nothing(text: str, padding: str) -> None:
    assert visible_length(padding + text + padding) == visible_length(text)
    assert visible_length(text) <= len(text)
