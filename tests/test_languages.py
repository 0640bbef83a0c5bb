"""Language codes as people name them, and when two codes are the same language."""

from hypothesis import given
from hypothesis import strategies as st

from idiograph import languages


def test_names_and_regions() -> None:
    assert (
        languages.name("pl") == "Polish"
        and languages.name("pl-PL") == "Polish"
        and languages.name("en_GB") == "English"
    )
    assert languages.name("xx") == "xx" and languages.name(None) == ""
    assert languages.is_english(None) and languages.is_english("en-GB") and not languages.is_english("cy")
    assert (
        languages.speaks(["en", "pl"], "pl-PL")
        and not languages.speaks(["en"], "pl")
        and not languages.speaks(None, "pl")
    )


@given(st.sampled_from(sorted(languages.LANGUAGES)), st.sampled_from(["", "-GB", "_PL", "-Latn"]))
def test_a_region_never_changes_the_language(code: str, region: str) -> None:
    assert languages.speaks([code], code + region) and languages.speaks([code + region], code)
    assert languages.name(code + region) == languages.name(code)
